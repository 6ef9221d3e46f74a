"""Reading an upstream answer in batches: what has arrived, passed on in one write.

httpx hands a chunked answer over one HTTP chunk at a time (vLLM behind the service
sends one per event), and a write per chunk is a system call per token. Here a reader
task pulls chunks into a small queue as fast as they come; the writer takes everything
queued at once. Whatever has arrived is passed on at the next turn of the event loop,
so nothing waits for more bytes (no added latency), and a full queue holds the reader
back (a slow caller slows the upstream read, not the proxy's memory).

The first piece is read without the task: it goes on the moment it arrives, with no
queue and no turn of the event loop between the deployment's first token and the
caller (the time to first token); the task reads the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

from .. import _constants as C

__all__ = ["batches"]

_END = object()


async def batches(response: httpx.Response) -> AsyncIterator[bytes]:
    """The answer's raw bytes: its first piece at once, then each item all that arrived
    since the last; raises the ``httpx.HTTPError`` that broke the read, after the bytes
    read before it."""
    raw = response.aiter_raw()
    async for first in raw:
        if first:
            break
    else:
        return
    yield first
    queue: asyncio.Queue[object] = asyncio.Queue(C.PROXY_PIPE_QUEUE)

    async def read() -> None:
        try:
            async for chunk in raw:
                if chunk:
                    await queue.put(chunk)
        except httpx.HTTPError as exc:
            await queue.put(exc)
        else:
            await queue.put(_END)

    reader = asyncio.ensure_future(read())
    try:
        while True:
            items = [await queue.get()]
            while not queue.empty():
                items.append(queue.get_nowait())
            last = items[-1]
            done = not isinstance(last, bytes)
            data = b"".join(items[:-1] if done else items)  # type: ignore[arg-type]
            if data:
                yield data
            if done:
                if isinstance(last, BaseException):
                    raise last
                return
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
