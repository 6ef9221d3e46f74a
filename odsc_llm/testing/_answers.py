"""The emulator's deterministic answers, shaped like vLLM's OpenAI-compatible server.

The answer rule (documented in the README so tests can assert exact text):

* The reply to a prompt is ``"You said: "`` followed by the prompt with its whitespace
  collapsed (:func:`reply_text`). For chat, the prompt is the last ``user`` message
  (text parts joined by a space).
* Tokens are whitespace-separated words, each after the first keeping its leading
  space (:func:`tokenize`): ``"You said: hi"`` is ``["You", " said:", " hi"]``.
  A stream sends one token per chunk.
* ``max_tokens`` (default 16 for completions, as in vLLM; unlimited for chat) keeps the
  first N tokens and ends with ``finish_reason="length"``.
* ``stop`` (a string or a list) ends the text before the first stop string that is
  complete within those tokens: ``finish_reason="stop"``, ``stop_reason`` the string.
* ``n`` gives n identical choices; ``seed`` and ``temperature`` change nothing (the
  answer is deterministic by construction).
* Embeddings: :func:`embed` — a unit vector of ``dim`` floats derived from SHAKE-256
  of the UTF-8 text (``encoding_format: "base64"``: see ``_agents``).
* Agents (a conversation ending with tool results, ``json_object`` fields, base64
  embeddings): see :mod:`odsc_llm.testing._agents`.
* Models, reasoning, JSON and tool-call answers, vLLM's utility routes and range
  checks: see :mod:`odsc_llm.testing._aqua`.
* Reading the request body (prompts, messages, ``max_tokens``, ``stop``, ...): see
  :mod:`odsc_llm.testing._parse`.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._agents import (
    encode_embedding,
    forced_tool_after_results,
    object_schema,
    tool_reply_text,
    tool_results,
    wants_json_object,
)
from ._aqua import (
    UTILITY_ROUTES,
    AnswerError,
    ModelConfig,
    check_ranges,
    chosen_tool,
    detokenize_answer,
    json_reply,
    json_schema_of,
    reasoning_text,
    rerank_answer,
    tokenize_answer,
    tool_call,
)
from ._parse import (
    chat_prompt,
    chat_text,
    completion_prompts,
    embedding_inputs,
    include_usage,
    int_param,
    stop_list,
)

__all__ = [
    "MODEL_NAME",
    "AnswerError",
    "embed",
    "reply_text",
    "tokenize",
]

#: The model name a single-model deployment answers to.
MODEL_NAME = "odsc-llm"
#: vLLM's default ``max_tokens`` for the completions API.
DEFAULT_COMPLETION_MAX_TOKENS = 16
DEFAULT_EMBEDDING_DIM = 32
_REPLY_PREFIX = "You said: "
_TOKEN_RE = re.compile(r"\s*\S+")


def tokenize(text: str) -> list[str]:
    """The emulator's tokens: words, each after the first with its leading whitespace."""
    return _TOKEN_RE.findall(text)


def reply_text(prompt: str) -> str:
    """The emulator's full reply to ``prompt`` before ``max_tokens`` and ``stop`` apply."""
    return _REPLY_PREFIX + " ".join(prompt.split())


def embed(text: str, dim: int = DEFAULT_EMBEDDING_DIM) -> list[float]:
    """The emulator's embedding of ``text``: a deterministic unit vector of ``dim`` floats."""
    raw = hashlib.shake_256(text.encode("utf-8")).digest(2 * dim)
    values = [v / 32767.5 - 1.0 for v in struct.unpack(f">{dim}H", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


@dataclass
class Generation:
    """One choice's text, split into the tokens a stream sends."""

    tokens: list[str]
    finish_reason: str
    stop_reason: str | None

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def generate(prompt: str, max_tokens: int | None, stop: list[str]) -> Generation:
    """Apply the answer rule to one prompt."""
    return _generate_text(reply_text(prompt), max_tokens, stop)


def _generate_text(full: str, max_tokens: int | None, stop: list[str]) -> Generation:
    tokens = tokenize(full)
    limit = len(tokens) if max_tokens is None else min(max_tokens, len(tokens))
    window = "".join(tokens[:limit])
    best: tuple[int, str] | None = None
    for s in stop:
        pos = window.find(s) if s else -1
        if pos >= 0 and (best is None or pos < best[0]):
            best = (pos, s)
    if best is not None:
        return Generation(tokenize(window[: best[0]]), "stop", best[1])
    if limit < len(tokens):
        return Generation(tokens[:limit], "length", None)
    return Generation(tokens, "stop", None)


# ---- answers ---------------------------------------------------------------------------


@dataclass
class Plan:
    """Everything needed to send one answer, streamed or not."""

    kind: str  # "completions" | "chat"
    id: str
    created: int
    choices: list[Generation]
    prompt_tokens: int
    include_usage: bool
    model: str = MODEL_NAME
    #: A reasoning model's thinking tokens, and the field they go in.
    reasoning: list[str] | None = None
    reasoning_field: str = "reasoning"
    #: The function a chat answer calls (its tokens are the arguments' JSON).
    tool: dict[str, Any] | None = None

    def usage(self) -> dict[str, Any]:
        thinking = len(self.reasoning or ()) * len(self.choices)
        completion = sum(len(g.tokens) for g in self.choices) + thinking
        return {
            "prompt_tokens": self.prompt_tokens,
            "total_tokens": self.prompt_tokens + completion,
            "completion_tokens": completion,
            "prompt_tokens_details": None,
        }


def plan_completion(body: dict[str, Any], config: ModelConfig | None = None) -> Plan:
    model = _model(body, config)
    prompts = completion_prompts(body)
    max_tokens = int_param(body, "max_tokens", DEFAULT_COMPLETION_MAX_TOKENS, 1)
    n = int_param(body, "n", 1, 1) or 1
    int_param(body, "seed", None, -(2**63))
    stop = stop_list(body)
    choices = [generate(p, max_tokens, stop) for p in prompts for _ in range(n)]
    return Plan(
        kind="completions",
        id=f"cmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        choices=choices,
        prompt_tokens=sum(len(tokenize(p)) for p in prompts),
        include_usage=include_usage(body),
        model=model,
    )


def _model(body: dict[str, Any], config: ModelConfig | None) -> str:
    config = config or ModelConfig(models=[MODEL_NAME])
    model = config.model_of(body)
    check_ranges(body)
    return model


def plan_chat(body: dict[str, Any], config: ModelConfig | None = None) -> Plan:
    model = _model(body, config)
    prompt, all_text = chat_prompt(body)
    max_tokens = int_param(body, "max_completion_tokens", None, 1)
    max_tokens = int_param(body, "max_tokens", max_tokens, 1)
    n = int_param(body, "n", 1, 1) or 1
    int_param(body, "seed", None, -(2**63))
    stop = stop_list(body)
    # An agent's round trip: after the tools' results the model answers with them.
    results = tool_results(body["messages"])
    reply = reply_text(prompt) if results is None else tool_reply_text(results)
    after = None if results is None else (lambda fs: forced_tool_after_results(body, fs))
    tool = chosen_tool(body, prompt, after)
    schema = object_schema(prompt) if wants_json_object(body) else json_schema_of(body)
    if tool is not None:
        call = tool_call(tool, reply)
        tool = {"id": call["id"], "name": call["function"]["name"]}
        gen = _generate_text(call["function"]["arguments"], max_tokens, [])
        gen.finish_reason = "tool_calls" if gen.finish_reason == "stop" else gen.finish_reason
    elif schema is not None:
        gen = _generate_text(json_reply(schema, prompt, reply), max_tokens, stop)
    else:
        gen = _generate_text(reply, max_tokens, stop)
    thinking = None
    if config is not None and config.reasoning is not None:
        thinking = tokenize(reasoning_text(prompt))
    return Plan(
        kind="chat",
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        choices=[gen] * n,
        prompt_tokens=len(tokenize(all_text)),
        include_usage=include_usage(body),
        model=model,
        reasoning=thinking,
        reasoning_field=(config.reasoning if config and config.reasoning else "reasoning"),
        tool=tool,
    )


def full_answer(plan: Plan) -> dict[str, Any]:
    """The non-streaming answer, as vLLM's OpenAI server shapes it."""
    if plan.kind == "completions":
        return {
            "id": plan.id,
            "object": "text_completion",
            "created": plan.created,
            "model": plan.model,
            "choices": [
                {
                    "index": i,
                    "text": g.text,
                    "logprobs": None,
                    "finish_reason": g.finish_reason,
                    "stop_reason": g.stop_reason,
                    "prompt_logprobs": None,
                }
                for i, g in enumerate(plan.choices)
            ],
            "usage": plan.usage(),
        }
    return {
        "id": plan.id,
        "object": "chat.completion",
        "created": plan.created,
        "model": plan.model,
        "choices": [
            {
                "index": i,
                "message": _message(plan, g),
                "logprobs": None,
                "finish_reason": g.finish_reason,
                "stop_reason": g.stop_reason,
            }
            for i, g in enumerate(plan.choices)
        ],
        "usage": plan.usage(),
        "prompt_logprobs": None,
    }


def _message(plan: Plan, g: Generation) -> dict[str, Any]:
    # vLLM 0.32: the thinking field is always there (null when none); empty tool_calls
    # are left out.
    thinking = "".join(plan.reasoning) if plan.reasoning is not None else None
    message: dict[str, Any] = {"role": "assistant", plan.reasoning_field: thinking}
    if plan.tool is None:
        message["content"] = g.text
        return message
    message["content"] = ""
    message["tool_calls"] = [
        {
            "id": plan.tool["id"],
            "type": "function",
            "function": {"name": plan.tool["name"], "arguments": g.text},
        }
    ]
    return message


def stream_events(plan: Plan) -> Iterator[tuple[dict[str, Any], bool]]:
    """The stream's JSON chunks, each with ``True`` when it carries a token.

    Like vLLM: chat opens with a role delta; each choice's last token chunk carries its
    ``finish_reason``; an optional usage chunk (``choices: []``) comes last. The
    caller sends ``data: [DONE]`` after these.
    """
    obj = "text_completion" if plan.kind == "completions" else "chat.completion.chunk"
    head = {"id": plan.id, "object": obj, "created": plan.created, "model": plan.model}

    def chunk(
        index: int, piece: str | None, finish: str | None, stop: str | None
    ) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": index}
        if plan.kind == "completions":
            choice["text"] = piece or ""
        elif piece is None:
            choice["delta"] = {}
        elif plan.tool is not None:
            call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
            choice["delta"] = {"tool_calls": [call]}
        else:
            choice["delta"] = {"content": piece}
        choice["logprobs"] = None
        choice["finish_reason"] = finish
        if finish is not None or plan.kind == "completions":
            choice["stop_reason"] = stop
        # vLLM 0.32 leaves usage out of both kinds of chunk unless it has a value.
        return {**head, "choices": [choice]}

    if plan.kind == "chat":
        for i in range(len(plan.choices)):
            role = {
                **head,
                "choices": [
                    {
                        "index": i,
                        "delta": {"role": "assistant", "content": ""},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ],
            }
            yield role, False
            if plan.tool is not None:
                call = {
                    "index": 0,
                    "id": plan.tool["id"],
                    "type": "function",
                    "function": {"name": plan.tool["name"], "arguments": ""},
                }
                opening = {"index": i, "delta": {"tool_calls": [call]}, "logprobs": None}
                yield {**head, "choices": [{**opening, "finish_reason": None}]}, False
        for thought_piece in plan.reasoning or ():
            for i in range(len(plan.choices)):
                delta = {plan.reasoning_field: thought_piece}
                thought = {"index": i, "delta": delta, "logprobs": None, "finish_reason": None}
                yield {**head, "choices": [thought]}, True
    longest = max((len(g.tokens) for g in plan.choices), default=0)
    for step in range(max(longest, 1)):
        for i, g in enumerate(plan.choices):
            if step >= max(len(g.tokens), 1):
                continue
            piece = g.tokens[step] if g.tokens else ("" if plan.kind == "completions" else None)
            last = step == max(len(g.tokens), 1) - 1
            yield (
                chunk(i, piece, g.finish_reason if last else None, g.stop_reason if last else None),
                True,
            )
    if plan.include_usage:
        usage = {k: v for k, v in plan.usage().items() if v is not None}
        yield {**head, "choices": [], "usage": usage}, False


def embeddings_answer(
    body: dict[str, Any], dim: int, config: ModelConfig | None = None
) -> dict[str, Any]:
    model = _model(body, config)
    inputs = embedding_inputs(body)
    fmt = body.get("encoding_format")
    encode_embedding([], fmt)  # vLLM's 400 for an unknown format, before any work
    tokens = sum(len(tokenize(t)) for t in inputs)
    return {
        "id": f"embd-{uuid.uuid4().hex}",
        "object": "list",
        "created": int(time.time()),
        "model": model,
        "data": [
            {"index": i, "object": "embedding", "embedding": encode_embedding(embed(t, dim), fmt)}
            for i, t in enumerate(inputs)
        ],
        "usage": {
            "prompt_tokens": tokens,
            "total_tokens": tokens,
            "completion_tokens": 0,
            "prompt_tokens_details": None,
        },
    }


def utility_answer(
    route: str, payload: dict[str, Any], config: ModelConfig
) -> dict[str, Any] | None:
    """The answer of a vLLM utility route, or None for the other routes."""
    route = route.rstrip("/")
    if route not in UTILITY_ROUTES:
        return None
    if route == "/tokenize":
        return tokenize_answer(payload, config, tokenize, chat_text)
    if route == "/detokenize":
        return detokenize_answer(payload, config)
    return rerank_answer(payload, config, tokenize)
