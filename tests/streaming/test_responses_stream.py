"""``ResponseStream`` / ``AsyncResponseStream``: where a Responses stream ends, and how it
fails. Bodies are served by httpx's ``MockTransport`` (no I/O beyond the stream's own
reading); the emulator and idle-timeout cases are in ``tests/resources/test_responses.py``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from odsc_llm import AsyncResponseStream, ResponseStream
from odsc_llm._errors import StreamError
from odsc_llm._streaming import chunk_reasoning, chunk_text
from odsc_llm.types.responses import (
    Response,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseOutputItemAddedEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseUnknownItem,
)

pytestmark = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])

RESPONSE = {"id": "resp_1", "model": "odsc-llm", "status": "in_progress", "output": []}
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Hello", "annotations": []}],
}


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


def delta(text: str) -> dict[str, Any]:
    return event("response.output_text.delta", item_id="msg_1", output_index=0, delta=text)


def completed(status: str = "completed", **extra: Any) -> dict[str, Any]:
    response = {**RESPONSE, "status": status, "output": [MESSAGE], **extra}
    return event(f"response.{status}", response=response)


def sse(*objs: dict[str, Any] | str, named: bool = True) -> bytes:
    out = []
    for obj in objs:
        if isinstance(obj, str):
            out.append(f"data: {obj}\n\n")
        elif named:
            out.append(f"event: {obj['type']}\ndata: {json.dumps(obj)}\n\n")
        else:
            out.append(f"data: {json.dumps(obj)}\n\n")
    return "".join(out).encode()


def read(sync: bool, body: bytes, what: str = "events") -> Any:
    """Open a Responses stream over ``body`` and read it: its events, its ``text()``,
    its ``reasoning_text()`` or its ``final`` response."""

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream", "opc-request-id": "rid-1"}
        return httpx.Response(200, headers=headers, content=body)

    if sync:
        with httpx.Client(transport=httpx.MockTransport(handler)) as http:
            response = http.send(http.build_request("POST", "http://x/"), stream=True)
            with ResponseStream(response, ResponseStreamEvent) as stream:
                if what == "final":
                    return stream.get_final_response()
                if what == "text":
                    return list(stream.text())
                if what == "reasoning":
                    return list(stream.reasoning_text())
                return list(stream)

    async def run() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            response = await http.send(http.build_request("POST", "http://x/"), stream=True)
            async with AsyncResponseStream(response, ResponseStreamEvent) as stream:
                if what == "final":
                    return await stream.get_final_response()
                if what == "text":
                    return [piece async for piece in stream.text()]
                if what == "reasoning":
                    return [piece async for piece in stream.reasoning_text()]
                return [e async for e in stream]

    return asyncio.run(run())


def test_ends_at_response_completed_without_done(sync: bool) -> None:
    body = sse(event("response.created", response=RESPONSE), delta("Hel"), delta("lo"), completed())
    events = read(sync, body)
    assert [e.type for e in events][-1] == "response.completed"
    assert read(sync, body, "text") == ["Hel", "lo"]
    final = read(sync, body, "final")
    assert isinstance(final, Response) and final.output_text == "Hello"
    assert final.request_id == "rid-1"
    # what follows the end is not read as part of the answer
    assert len(read(sync, body + sse(delta("late")))) == len(events)


def test_unknown_event_and_item_types_are_kept(sync: bool) -> None:
    item = {"type": "mcp_call", "id": "mcp_1", "server_label": "s"}
    body = sse(
        event("response.mcp_call.in_progress", item_id="mcp_1", extra={"a": 1}),
        event("response.output_item.added", output_index=0, item=item),
        delta("x"),
        completed(),
    )
    unknown, added, *_ = read(sync, body)
    assert type(unknown) is ResponseStreamEvent
    assert unknown.type == "response.mcp_call.in_progress" and unknown.extra == {"a": 1}
    assert isinstance(added, ResponseOutputItemAddedEvent)
    assert isinstance(added.item, ResponseUnknownItem) and added.item.server_label == "s"


def test_typed_deltas_and_unnamed_events(sync: bool) -> None:
    """The event's type comes from its JSON; the SSE ``event:`` line is optional."""
    thinking = event("response.reasoning_text.delta", item_id="rs_1", delta="hmm")
    args = event("response.function_call_arguments.delta", item_id="fc_1", delta="{")
    events = read(sync, sse(thinking, args, delta("a"), completed(), named=False))
    assert isinstance(events[0], ResponseReasoningTextDeltaEvent)
    assert isinstance(events[1], ResponseFunctionCallArgumentsDeltaEvent)
    assert isinstance(events[2], ResponseTextDeltaEvent)
    assert [chunk_reasoning(e) for e in events[:3]] == ["hmm", None, None]
    assert [chunk_text(e) for e in events[:3]] == [None, None, "a"]
    assert read(sync, sse(thinking, delta("a"), completed()), "reasoning") == ["hmm"]


def test_incomplete_is_an_end_too(sync: bool) -> None:
    final = read(sync, sse(delta("He"), completed("incomplete")), "final")
    assert final.status == "incomplete"


def test_body_ending_before_completed_is_an_error(sync: bool) -> None:
    with pytest.raises(StreamError, match=r"before its 'response\.completed' event") as info:
        read(sync, sse(event("response.created", response=RESPONSE), delta("Hel")))
    assert info.value.partial_text == "Hel"
    assert info.value.request_id == "rid-1"


def test_done_before_completed_is_an_error(sync: bool) -> None:
    with pytest.raises(StreamError, match="incomplete") as info:
        read(sync, sse(delta("Hel"), "[DONE]"))
    assert info.value.partial_text == "Hel"


@pytest.mark.parametrize(
    "body",
    [
        # vLLM's Responses error event (named, typed)
        sse(delta("Hel"), event("error", code="InternalServerError", message="boom")),
        # typed but unnamed
        sse(delta("Hel"), event("error", message="boom"), named=False),
        # the chat-style error object some servers send
        sse(delta("Hel"), json.dumps({"error": {"message": "boom", "code": 500}})),
    ],
    ids=["vllm", "unnamed", "chat-style"],
)
def test_error_events_raise(sync: bool, body: bytes) -> None:
    with pytest.raises(StreamError, match="boom") as info:
        read(sync, body + sse(completed()))
    assert info.value.partial_text == "Hel"


def test_response_failed_raises(sync: bool) -> None:
    failed = event(
        "response.failed",
        response={**RESPONSE, "status": "failed", "error": {"code": "x", "message": "overload"}},
    )
    with pytest.raises(StreamError, match=r"response\.failed.*overload"):
        read(sync, sse(delta("Hel"), failed))


def test_bad_events_raise(sync: bool) -> None:
    with pytest.raises(StreamError, match="not JSON"):
        read(sync, sse(delta("a"), "{nope"))
    with pytest.raises(StreamError, match="unexpected shape"):
        read(sync, sse(delta("a"), json.dumps({"type": "response.output_text.delta", "delta": 5})))


def test_lone_surrogate_is_replaced(sync: bool) -> None:
    raw = '{"type": "response.output_text.delta", "delta": "a\\ud83d"}'
    assert read(sync, sse(raw, completed()), "text") == ["a\ufffd"]
