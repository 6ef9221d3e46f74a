"""The emulator's Anthropic Messages API (``/v1/messages``, ``/v1/messages/count_tokens``).

vLLM (>= 0.11.1) serves Anthropic's Messages API next to its OpenAI routes
(``vllm/entrypoints/anthropic/serving_messages.py``): it turns the request into a chat
request, and shapes the answer the Anthropic way. So does the emulator: the reply is
the chat rule's (:func:`odsc_llm.testing._answers.plan_chat`: ``"You said: "`` and the
last user message), ``system`` counts as a system message, ``stop_sequences`` as
``stop``. Shapes, as vLLM writes them:

* a whole answer: ``{"id": "msg_...", "type": "message", "role": "assistant",
  "content": [{"type": "text", "text": ...}], "stop_reason", "stop_sequence", "usage":
  {"input_tokens", "output_tokens"}}``; finish reasons map ``stop`` -> ``end_turn``,
  ``length`` -> ``max_tokens``, ``tool_calls`` -> ``tool_use``;
* a stream: ``event: NAME\\ndata: JSON`` for ``message_start``, ``content_block_start``,
  one ``content_block_delta`` (``text_delta``) per token, ``content_block_stop``,
  ``message_delta`` (stop reason, output tokens), ``message_stop``, then vLLM's
  ``data: [DONE]``;
* errors: ``{"type": "error", "error": {"type", "message"}}``, in a stream as
  ``event: error``.

The deployment's faults apply as to chat: status faults before the answer (the server's
step), and the stream faults here (``cut_before_done`` drops ``message_stop``,
``error_event`` sends ``event: error``, ``reset_mid_stream``, ``non_json_chunk``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ._answers import AnswerError, Plan, plan_chat, tokenize
from ._parse import chat_prompt
from ._request import Request
from ._sse_out import send_events
from ._state import EmulatorState

__all__ = ["ROUTE_COUNT_TOKENS", "ROUTE_MESSAGES", "answers"]

ROUTE_MESSAGES = "/v1/messages"
ROUTE_COUNT_TOKENS = "/v1/messages/count_tokens"
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


def answers(state: EmulatorState) -> dict[str, Callable[[Request], Awaitable[None]]]:
    """The emulator's answers for the Messages routes (registered in ``_server``)."""

    async def messages(req: Request) -> None:
        await _guarded(req, lambda: _answer_messages(req, state))

    async def count_tokens(req: Request) -> None:
        await _guarded(req, lambda: _answer_count_tokens(req))

    return {ROUTE_MESSAGES: messages, ROUTE_COUNT_TOKENS: count_tokens}


def error_body(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error shape (vLLM's ``AnthropicErrorResponse``)."""
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


async def _guarded(req: Request, answer: Callable[[], Awaitable[None]]) -> None:
    try:
        await answer()
    except AnswerError as exc:
        await req.send_json(exc.status, error_body(exc.status, exc.message))


def chat_body(body: dict[str, Any]) -> dict[str, Any]:
    """The chat request vLLM makes of a Messages request (what the answer rule reads)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise AnswerError(400, "messages must be a non-empty list.")
    system = body.get("system")
    chat: dict[str, Any] = {
        "messages": ([{"role": "system", "content": system}] if system else []) + messages
    }
    for name in ("model", "temperature", "top_p"):
        if name in body:
            chat[name] = body[name]
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise AnswerError(400, "max_tokens is required: an integer >= 1.")
    chat["max_tokens"] = max_tokens
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    return chat


async def _answer_count_tokens(req: Request) -> None:
    assert req.payload is not None
    chat = chat_body({**req.payload, "max_tokens": 1})
    _, all_text = chat_prompt(chat)
    await req.send_json(200, {"input_tokens": len(tokenize(all_text))})


def _message(plan: Plan) -> dict[str, Any]:
    gen = plan.choices[0]
    return {
        "id": "msg_" + uuid.uuid4().hex,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": [{"type": "text", "text": gen.text}],
        "stop_reason": _STOP_REASONS.get(gen.finish_reason, gen.finish_reason),
        "stop_sequence": gen.stop_reason,
        "usage": {"input_tokens": plan.prompt_tokens, "output_tokens": len(gen.tokens)},
    }


_BLOCK = {"type": "content_block_start", "index": 0}
_EMPTY_TEXT = {"type": "text", "text": ""}


def _text_delta(token: str) -> dict[str, str]:
    return {"type": "text_delta", "text": token}


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream_events(plan: Plan) -> list[tuple[bytes, bool]]:
    """The stream's events up to ``message_delta``, each with ``True`` when it carries a
    token (the caller adds ``message_stop`` and ``data: [DONE]``)."""
    message = _message(plan)
    head = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    head["usage"] = {"input_tokens": plan.prompt_tokens, "output_tokens": 0}
    events = [
        (_event("message_start", {"type": "message_start", "message": head}), False),
        (_event("content_block_start", {**_BLOCK, "content_block": _EMPTY_TEXT}), False),
    ]
    for token in plan.choices[0].tokens:
        delta = {"type": "content_block_delta", "index": 0, "delta": _text_delta(token)}
        events.append((_event("content_block_delta", delta), True))
    events.append((_event("content_block_stop", {"type": "content_block_stop", "index": 0}), False))
    final = {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
        "usage": {"output_tokens": message["usage"]["output_tokens"]},
    }
    events.append((_event("message_delta", final), False))
    return events


_END = _event("message_stop", {"type": "message_stop"}) + b"data: [DONE]\n\n"


async def _answer_messages(req: Request, state: EmulatorState) -> None:
    assert req.payload is not None
    plan = plan_chat(chat_body(req.payload), state.models)
    fault = req.fault
    if not req.stream:
        body = json.dumps(_message(plan), separators=(",", ":")).encode()
        if fault is not None and fault.reset_mid_stream:
            headers = req.base_headers(b"application/json")
            headers.append((b"content-length", str(len(body)).encode()))
            await req.start(200, headers)
            await req.body_part(body[: len(body) // 2], more=True)
            await req.abort()
            return
        await req.send_bytes(200, body, "application/json")
        return
    events = stream_events(plan)
    end = _END
    reset_at = None
    if fault is not None:
        after = fault.after_events if fault.after_events is not None else 1
        if fault.cut_before_done:
            after = fault.after_events if fault.after_events is not None else len(events) // 2
            events, end = events[: max(after, 1)], b""
        elif fault.non_json_chunk:
            events.insert(min(after, len(events)), (b"data: {this is not json\n\n", False))
        elif fault.error_event:
            error = _event("error", error_body(500, "The model server failed while generating."))
            events, end = [*events[:after], (error, False)], b""
        elif fault.reset_mid_stream:
            reset_at = after
    await send_events(req, state, events, end, reset_at)
