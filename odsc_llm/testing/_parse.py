"""Reading an OpenAI-style request body for the emulator's answers, as vLLM reads it.

The prompts (a completion's ``prompt``, a chat's ``messages``, an embedding's ``input``)
and the generation parameters (``max_tokens``, ``n``, ``seed``, ``stop``,
``stream_options``), each with vLLM's 400 when malformed. Apart from
:mod:`odsc_llm.testing._answers` so that the answer rule there reads as the rule, not
as input checking.
"""

from __future__ import annotations

from typing import Any

from ._answers_media import image_part_text
from ._aqua import AnswerError

__all__ = [
    "chat_prompt",
    "chat_text",
    "completion_prompts",
    "content_text",
    "embedding_inputs",
    "include_usage",
    "int_param",
    "stop_list",
]


def int_param(body: dict[str, Any], name: str, default: int | None, minimum: int) -> int | None:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise AnswerError(400, f"{name} must be an integer, got {value!r}.", param=name)
    if value < minimum:
        raise AnswerError(400, f"{name} must be at least {minimum}, got {value}.", param=name)
    return value


def stop_list(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise AnswerError(400, "stop must be a string or a list of strings.", param="stop")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return " ".join(str(v) for v in value)
    raise AnswerError(400, "prompt must be a string, a list of strings or token ids.")


def completion_prompts(body: dict[str, Any]) -> list[str]:
    prompt = body.get("prompt")
    if prompt is None:
        raise AnswerError(400, "prompt is required.", param="prompt")
    if isinstance(prompt, list) and prompt and not all(isinstance(p, int) for p in prompt):
        return [_as_text(p) for p in prompt]
    return [_as_text(prompt)]


def content_text(content: Any) -> str:
    """A message's text: a string, or its text parts joined by a space."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) if part.get("type") == "text" else image_part_text(part)
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "image_url")
        )
    raise AnswerError(400, "message content must be a string or a list of parts.")


def chat_prompt(body: dict[str, Any]) -> tuple[str, str]:
    """(the prompt the reply echoes, all message text for the usage count)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise AnswerError(400, "messages must be a non-empty list.", param="messages")
    texts: list[str] = []
    last_user: str | None = None
    for message in messages:
        if not isinstance(message, dict) or "role" not in message:
            raise AnswerError(400, "each message must be an object with a role.")
        text = content_text(message.get("content"))
        texts.append(text)
        if message["role"] == "user":
            last_user = text
    return (texts[-1] if last_user is None else last_user), " ".join(texts)


def embedding_inputs(body: dict[str, Any]) -> list[str]:
    value = body.get("input")
    if value is None:
        raise AnswerError(400, "input is required.", param="input")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) for v in value):
            return [_as_text(value)]
        return [_as_text(v) for v in value]
    raise AnswerError(400, "input must be a string or a non-empty list.", param="input")


def chat_text(body: dict[str, Any]) -> str:
    """All message text of a chat request (what its ``prompt_tokens`` count)."""
    return chat_prompt(body)[1]


def include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))
