"""Sending an SSE answer the way the model server does: the one loop every route uses
(chat and completions, the Responses API, Anthropic's Messages)."""

from __future__ import annotations

import asyncio

from ._request import Request
from ._state import EmulatorState

__all__ = ["send_events"]


async def send_events(
    req: Request,
    state: EmulatorState,
    events: list[tuple[bytes, bool]],
    end: bytes,
    reset_at: int | None,
) -> None:
    """Send ``events`` (bytes, whether each is a token) then ``end`` as one SSE answer.

    Incremental streams (the stream endpoint, or ``/predict`` with ``enable-streaming``)
    go out event by event, ``token_delay`` apart between tokens, counted in
    ``state.active_streams`` while open; a client that goes away stops the sending.
    Otherwise the whole event stream is one body with its length. ``reset_at``: abort
    the connection after that many events (a fault).
    """
    headers = req.base_headers(b"text/event-stream; charset=utf-8")
    headers.append((b"cache-control", b"no-cache"))
    if not req.incremental and reset_at is None:
        body = b"".join(event for event, _ in events) + end
        headers.append((b"content-length", str(len(body)).encode()))
        await req.start(200, headers)
        await req.body_part(body, more=False)
        return
    state.active_streams += 1
    state.peak_streams = max(state.peak_streams, state.active_streams)
    try:
        await req.start(200, headers)
        for sent, (event, is_token) in enumerate(events):
            if reset_at is not None and sent >= reset_at:
                await req.abort()
                return
            if is_token and sent > 0 and state.token_delay > 0:
                await asyncio.sleep(state.token_delay)
            if req.closed():
                return  # the client went away
            await req.body_part(event, more=True)
        if reset_at is not None:
            await req.abort()
            return
        await req.body_part(end, more=False)
    finally:
        state.active_streams -= 1
