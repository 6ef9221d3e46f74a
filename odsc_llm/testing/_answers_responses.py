"""The emulator's Responses API: ``/v1/responses`` and its ``{id}`` sub-routes, in vLLM's
shapes (``vllm/entrypoints/openai/responses/``), deterministic like every answer.

* The prompt is ``input`` when it is a string, else the text of the last ``user``
  message (``input_text`` parts joined by a space); without one, the ``output`` of the
  ``function_call_output`` items joined. The reply is the chat rule's
  (``"You said: "`` + the prompt, :mod:`._answers`); ``instructions`` only count as
  input tokens.
* ``max_output_tokens`` keeps the first N tokens: ``status`` ``"incomplete"``,
  ``incomplete_details: {"reason": "max_output_tokens"}``.
* ``tools`` (``{"type": "function", "name", "parameters"}``) and ``tool_choice`` follow
  the chat rule (:func:`._aqua.chosen_tool`): one ``function_call`` item, no message.
* ``text.format`` ``json_schema``: the JSON answer of the chat rule
  (:func:`._aqua.json_reply`).
* ``reasoning`` given (or a reasoning deployment): a ``reasoning`` item first, whose
  text is :func:`._aqua.reasoning_text` of the prompt.
* Streams: vLLM's named events (``event: <type>`` / ``data: {...}``), one
  ``response.output_text.delta`` (``reasoning_text``, ``function_call_arguments``) per
  token, ending with ``response.completed`` and no ``[DONE]``. Faults: ``cut_before_done``
  ends before ``response.completed``; ``error_event`` sends vLLM's ``error`` event;
  ``non_json_chunk``, ``reset_mid_stream`` as for chat.
* Stored unless ``store: false``: ``GET /v1/responses/{id}`` answers it (404 otherwise,
  vLLM's message). ``background: true`` answers ``status: "queued"`` and no output; it
  is ``completed`` when retrieved, unless ``POST /v1/responses/{id}/cancel`` cancelled it
  first. Cancelling a response that is not running is vLLM's 400 ("Cannot cancel a
  synchronous response."). ``previous_response_id`` must name a stored response.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._answers import _generate_text, reply_text, tokenize
from ._aqua import AnswerError, check_ranges, chosen_tool, json_reply, reasoning_text, tool_call
from ._parse import int_param

if TYPE_CHECKING:
    from ._request import Request
    from ._server import EmulatorApp

__all__ = ["ResponsesAnswers", "RouteTable", "takes_no_body"]

Handler = Callable[["Request"], Awaitable[None]]

ROUTE = "/v1/responses"
_ID = "[A-Za-z0-9][A-Za-z0-9._:-]*"
_RETRIEVE_RE = re.compile(rf"/v1/responses/(?P<id>{_ID})")
_CANCEL_RE = re.compile(rf"/v1/responses/(?P<id>{_ID})/cancel")


class RouteTable(dict[str, Handler]):
    """API route -> answer, where a key may hold ``{id}`` (one path segment): exact keys
    first, then the patterns (``/v1/responses/{id}``)."""

    def _pattern(self, route: str) -> Handler | None:
        for key, handler in self.items():
            if "{id}" in key:
                pattern = re.escape(key).replace(re.escape("{id}"), _ID)
                if re.fullmatch(pattern, route):
                    return handler
        return None

    def get(self, route: str, default: Any = None) -> Any:
        found = super().get(route)
        return found if found is not None else (self._pattern(route) or default)

    def __contains__(self, route: object) -> bool:
        return super().__contains__(route) or (
            isinstance(route, str) and self._pattern(route) is not None
        )

    def __missing__(self, route: str) -> Handler:
        found = self._pattern(route)
        if found is None:
            raise KeyError(route)
        return found


def takes_no_body(route: str | None) -> bool:
    """Whether a POST to ``route`` may come without a body (vLLM's cancel reads none)."""
    return bool(route) and _CANCEL_RE.fullmatch(str(route).rstrip("/")) is not None


def _route_of(req: Request) -> str:
    route: str = req.headers.get("route") or req.match["route"] or ""
    return route.rstrip("/")


# ---- the answer ----------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", "")) for p in content if isinstance(p, Mapping) and "text" in p
        )
    return ""


def _prompt(body: Mapping[str, Any]) -> tuple[str, str]:
    """(the prompt, all input text) of a request's ``input``."""
    value = body.get("input")
    if isinstance(value, str):
        return value, value
    if not isinstance(value, list) or not value:
        raise AnswerError(400, "input must be a string or a non-empty list.", param="input")
    texts, prompt, outputs = [], None, []
    for item in value:
        if not isinstance(item, Mapping):
            raise AnswerError(400, "input items must be objects.", param="input")
        if item.get("type") == "function_call_output":
            outputs.append(str(item.get("output", "")))
            continue
        text = _text_of(item.get("content"))
        texts.append(text)
        if item.get("role") == "user":
            prompt, outputs = text, []
    if outputs:  # tool results after the last user turn: the answer quotes them
        prompt = " ".join(outputs)
    return prompt or "", " ".join([*texts, *outputs])


def _chat_tools(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request's Responses-style tools and choice, in the chat shape
    :func:`chosen_tool` reads (Responses tools are flat: no ``function`` wrapper)."""
    tools = [
        {"type": "function", "function": t}
        for t in body.get("tools") or ()
        if isinstance(t, Mapping) and t.get("type") == "function"
    ]
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, Mapping):
        choice = {"type": "function", "function": {"name": choice.get("name")}}
    return {"tools": tools, "tool_choice": choice}


def _schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if not isinstance(fmt, Mapping) or fmt.get("type") == "text":
        return None
    if fmt.get("type") == "json_schema":
        if not isinstance(fmt.get("schema"), Mapping):
            raise AnswerError(400, "text.format.schema is required.", param="text")
        return dict(fmt["schema"])
    # vLLM's to_sampling_params: "json_object is not supported" (a 400 from its handler).
    raise AnswerError(400, f"text.format type {fmt.get('type')!r} is not supported.", param="text")


def _uid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


@dataclass
class _Plan:
    """One response: its items' tokens, and the whole answer."""

    body: dict[str, Any]
    model: str
    prompt_tokens: int
    thinking: list[str] | None
    tokens: list[str]
    status: str
    call: dict[str, Any] | None  # the function_call item (arguments filled at the end)
    id: str = field(default_factory=lambda: _uid("resp"))
    created: int = field(default_factory=lambda: int(time.time()))
    message_id: str = field(default_factory=lambda: _uid("msg"))
    reasoning_id: str = field(default_factory=lambda: _uid("rs"))

    def items(self, done: bool = True) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.thinking is not None:
            part = {"type": "reasoning_text", "text": "".join(self.thinking)}
            out.append(
                {"id": self.reasoning_id, "type": "reasoning", "summary": [], "content": [part]}
            )
        text = "".join(self.tokens)
        if self.call is not None:
            out.append({**self.call, "arguments": text, "status": "completed"})
        else:
            content: dict[str, Any] = {"type": "output_text", "text": text, "annotations": []}
            content["logprobs"] = None
            out.append(
                {
                    "id": self.message_id,
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [content],
                }
            )
        return out

    def answer(self, status: str | None = None, output: bool = True) -> dict[str, Any]:
        """The ``ResponsesResponse`` as vLLM shapes it (``from_request``)."""
        body = self.body
        status = status or self.status
        thinking = len(self.thinking or ())
        produced = output and status in ("completed", "incomplete")
        out_tokens = (len(self.tokens) + thinking) if produced else 0
        return {
            "id": self.id,
            "created_at": self.created,
            "incomplete_details": (
                {"reason": "max_output_tokens"} if produced and status == "incomplete" else None
            ),
            "instructions": body.get("instructions"),
            "metadata": body.get("metadata"),
            "model": self.model,
            "object": "response",
            "output": self.items() if produced else [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "temperature": body.get("temperature", 1.0),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0),
            "background": bool(body.get("background")),
            "max_output_tokens": body.get("max_output_tokens") or 4096,
            "max_tool_calls": body.get("max_tool_calls"),
            "previous_response_id": body.get("previous_response_id"),
            "prompt": None,
            "reasoning": body.get("reasoning"),
            "service_tier": body.get("service_tier", "auto"),
            "status": status,
            "text": body.get("text"),
            "top_logprobs": body.get("top_logprobs", 0),
            "truncation": body.get("truncation", "disabled"),
            "usage": (
                {
                    "input_tokens": self.prompt_tokens,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": out_tokens,
                    "output_tokens_details": {
                        "reasoning_tokens": thinking,
                        "tool_output_tokens": 0,
                    },
                    "total_tokens": self.prompt_tokens + out_tokens,
                }
                if produced
                else None
            ),
            "user": body.get("user"),
        }

    def events(self) -> Iterator[tuple[dict[str, Any], bool]]:
        """The stream's events in order, each with ``True`` when it carries a token
        (``sequence_number`` set by the sender)."""

        def event(kind: str, **fields: Any) -> dict[str, Any]:
            return {"type": f"response.{kind}", **fields}

        start = self.answer("in_progress", output=False)
        yield event("created", response=start), False
        yield event("in_progress", response=start), False
        index = 0
        items = self.items()
        if self.thinking is not None:
            item = items[index]
            head = {"item_id": item["id"], "output_index": index, "content_index": 0}
            added = {**item, "content": [], "status": "in_progress"}
            yield event("output_item.added", output_index=index, item=added), False
            for piece in self.thinking:
                yield event("reasoning_text.delta", **head, delta=piece), True
            text = item["content"][0]["text"]
            yield event("reasoning_text.done", **head, text=text), False
            yield event("output_item.done", output_index=index, item=item), False
            index += 1
        item = items[index]
        if self.call is not None:
            added = {**item, "arguments": "", "status": "in_progress"}
            yield event("output_item.added", output_index=index, item=added), False
            head = {"item_id": item["id"], "output_index": index}
            for piece in self.tokens:
                yield event("function_call_arguments.delta", **head, delta=piece), True
            done = {"name": item["name"], "arguments": item["arguments"]}
            yield event("function_call_arguments.done", **head, **done), False
        else:
            added = {**item, "content": [], "status": "in_progress"}
            yield event("output_item.added", output_index=index, item=added), False
            head = {"item_id": item["id"], "output_index": index, "content_index": 0}
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield event("content_part.added", **head, part=empty), False
            for piece in self.tokens:
                yield event("output_text.delta", **head, delta=piece, logprobs=[]), True
            part = item["content"][0]
            yield event("output_text.done", **head, text=part["text"]), False
            yield event("content_part.done", **head, part=part), False
        yield event("output_item.done", output_index=index, item=item), False
        yield event("completed", response=self.answer()), False


def plan_response(body: dict[str, Any], app: EmulatorApp) -> _Plan:
    """Apply the answer rule to one ``/v1/responses`` request."""
    config = app.state.models
    model = config.model_of(body)
    check_ranges(body)
    prompt, all_text = _prompt(body)
    max_tokens = int_param(body, "max_output_tokens", None, 1)
    instructions = body.get("instructions")
    prompt_tokens = len(tokenize(all_text)) + len(tokenize(_text_of(instructions)))
    reply = reply_text(prompt)
    tool = chosen_tool(_chat_tools(body), prompt)
    call = None
    if tool is not None:
        made = tool_call(tool, reply)
        gen = _generate_text(made["function"]["arguments"], max_tokens, [])
        call = {
            "id": _uid("fc"),
            "type": "function_call",
            "call_id": _uid("call"),
            "name": made["function"]["name"],
        }
    elif (schema := _schema(body)) is not None:
        gen = _generate_text(json_reply(schema, prompt, reply), max_tokens, [])
    else:
        gen = _generate_text(reply, max_tokens, [])
    thinking = None
    if body.get("reasoning") is not None or config.reasoning is not None:
        thinking = tokenize(reasoning_text(prompt))
    status = "incomplete" if gen.finish_reason == "length" else "completed"
    return _Plan(body, model, prompt_tokens, thinking, gen.tokens, status, call)


def _sse(obj: Mapping[str, Any]) -> bytes:
    data = json.dumps(obj, separators=(",", ":"))
    return f"event: {obj['type']}\ndata: {data}\n\n".encode()


@dataclass
class _Stored:
    plan: _Plan
    status: str  # "queued" until retrieved (background), else the plan's


class ResponsesAnswers:
    """The emulator's ``/v1/responses`` routes and the responses it stored."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.store: dict[str, _Stored] = {}

    def post_routes(self) -> dict[str, Handler]:
        return {ROUTE: self.create, f"{ROUTE}/{{id}}/cancel": self.cancel}

    def get_routes(self) -> dict[str, Handler]:
        return {f"{ROUTE}/{{id}}": self.retrieve}

    def _stored(self, response_id: str) -> _Stored:
        found = self.store.get(response_id)
        if found is None:
            raise AnswerError(
                404, f"Response with id '{response_id}' not found.", param="response_id"
            )
        return found

    async def create(self, req: Request) -> None:
        assert req.payload is not None
        body = req.payload
        if body.get("previous_response_id") is not None:
            self._stored(str(body["previous_response_id"]))
        background = bool(body.get("background"))
        store = body.get("store", True) is not False
        if background and not store:
            raise AnswerError(400, "background can only be used when `store` is true")
        if background and req.stream:
            raise AnswerError(400, "The emulator does not stream background responses.")
        plan = plan_response(body, self.app)
        if store:
            self.store[plan.id] = _Stored(plan, "queued" if background else plan.status)
        if background:
            await self.app._send_full(req, plan.answer("queued", output=False))
        elif req.stream:
            await self._stream(req, plan)
        else:
            await self.app._send_full(req, plan.answer())

    async def retrieve(self, req: Request) -> None:
        route = _route_of(req)
        if self.app.gateway is not None:
            await self.app.gateway.forward(req, route, buffer=False)
            return
        match = _RETRIEVE_RE.fullmatch(route)
        assert match is not None
        stored = self._stored(match["id"])
        if stored.status == "queued":  # a background response: done by now
            stored.status = stored.plan.status
        await req.send_json(200, stored.plan.answer(stored.status))

    async def cancel(self, req: Request) -> None:
        match = _CANCEL_RE.fullmatch(_route_of(req))
        assert match is not None
        stored = self._stored(match["id"])
        if stored.status not in ("queued", "in_progress"):
            raise AnswerError(400, "Cannot cancel a synchronous response.", param="response_id")
        stored.status = "cancelled"
        await req.send_json(200, stored.plan.answer("cancelled", output=False))

    async def _stream(self, req: Request, plan: _Plan) -> None:
        raw = list(plan.events())
        fault = req.fault
        cut = False
        if fault is not None:
            default = max(len(raw) // 2, 1) if fault.cut_before_done else 1
            after = min(fault.after_events if fault.after_events is not None else default, len(raw))
            if fault.cut_before_done:
                raw, cut = raw[: min(after, len(raw) - 1)], True
            elif fault.error_event:
                # vLLM's GenerationError mid-stream: an `error` event, then the body ends.
                error = {
                    "type": "error",
                    "code": "InternalServerError",
                    "message": "The model server failed while generating.",
                    "param": None,
                }
                raw = [*raw[:after], (error, False)]
        events = []
        for number, (obj, is_token) in enumerate(raw):
            events.append((_sse({**obj, "sequence_number": number}), is_token))
        if fault is not None and fault.non_json_chunk and not cut:
            at = min(fault.after_events if fault.after_events is not None else 1, len(events))
            bad = b"event: response.output_text.delta\ndata: {this is not json\n\n"
            events.insert(at, (bad, False))
        reset_at = None
        if fault is not None and fault.reset_mid_stream:
            reset_at = fault.after_events if fault.after_events is not None else 1
        await self._send_events(req, events, reset_at)

    async def _send_events(
        self, req: Request, events: list[tuple[bytes, bool]], reset_at: int | None
    ) -> None:
        headers = req.base_headers(b"text/event-stream; charset=utf-8")
        headers.append((b"cache-control", b"no-cache"))
        if not req.incremental and reset_at is None:
            body = b"".join(e for e, _ in events)
            headers.append((b"content-length", str(len(body)).encode()))
            await req.start(200, headers)
            await req.body_part(body, more=False)
            return
        state = self.app.state
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
                    return
                await req.body_part(event, more=True)
            if reset_at is not None:
                await req.abort()
                return
            await req.body_part(b"", more=False)
        finally:
            state.active_streams -= 1
