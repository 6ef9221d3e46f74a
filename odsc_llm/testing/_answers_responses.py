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
* Stored (``_responses_routes``) unless ``store: false``: ``GET /v1/responses/{id}``
  answers it (404 otherwise, vLLM's message). ``background: true`` answers ``status:
  "queued"`` and no output; it is ``completed`` when retrieved, unless ``POST
  /v1/responses/{id}/cancel`` cancelled it first. Cancelling a response that is not
  running is vLLM's 400 ("Cannot cancel a synchronous response.").
  ``previous_response_id`` must name a stored response.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._answers import _generate_text, reply_text, tokenize
from ._aqua import (
    AnswerError,
    ModelConfig,
    check_ranges,
    chosen_tool,
    json_reply,
    reasoning_text,
    tool_call,
)
from ._parse import int_param

__all__ = ["ResponsePlan", "plan_response", "sse_event"]


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
class ResponsePlan:
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


def plan_response(body: dict[str, Any], config: ModelConfig) -> ResponsePlan:
    """Apply the answer rule to one ``/v1/responses`` request."""
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
    return ResponsePlan(body, model, prompt_tokens, thinking, gen.tokens, status, call)


def sse_event(obj: Mapping[str, Any]) -> bytes:
    """One named SSE event, as vLLM writes them: ``event: <type>`` then ``data: <JSON>``."""
    data = json.dumps(obj, separators=(",", ":"))
    return f"event: {obj['type']}\ndata: {data}\n\n".encode()
