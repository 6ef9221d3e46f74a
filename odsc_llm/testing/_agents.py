"""How the emulator answers agents, the way a model behind vLLM does.

Deterministic, like the rest of the answer rule (:mod:`odsc_llm.testing._answers`):

* **Tool results.** A chat whose messages end with tool results (``role: "tool"``, or
  the older ``"function"``, after the last user or assistant turn) is answered in text
  that quotes them, ``"Tool results: NAME: RESULT; NAME: RESULT"`` (each result's
  whitespace collapsed; NAME is the function of the assistant's call with that
  ``tool_call_id``, else the message's ``name``, else ``tool``). It calls no tool again
  with ``tool_choice`` ``"auto"`` (the default) or ``"none"``: an agent's round trip
  ends. A choice that forces a call still calls, as vLLM's constrained decoding does:
  a named tool that tool, ``"required"`` the first tool not called yet in the
  conversation (the first tool when all were).
* **JSON objects.** ``response_format: {"type": "json_object"}`` gets an object whose
  fields are the ones the prompt names (the prompt itself when it is JSON), each with
  the reply text as its value. The names are, first found wins: the identifiers the
  prompt quotes (``"city"``, ``'city'`` or ```city```), in order; else the
  identifiers listed after the word ``field(s)``, ``key(s)`` or ``propert(y|ies)``
  (``"... with the keys city, country and population."``: separated by commas,
  ``and``/``or``; the list ends at the first other word); else one field, ``answer``.
* **Base64 embeddings.** ``encoding_format: "base64"`` sends each vector as vLLM does:
  its float32 values, little-endian, base64-encoded (vLLM's
  ``vllm/utils/serial_utils.py``: ``encoding_pooling_output`` with the default
  ``embed_dtype="float32"``, native byte order, little-endian on its platforms).
  ``"float"`` (the default) sends the list; any other value is vLLM's 400.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from ._aqua import AnswerError
from ._parse import content_text

__all__ = [
    "ToolResult",
    "encode_embedding",
    "forced_tool_after_results",
    "named_fields",
    "object_schema",
    "tool_reply_text",
    "tool_results",
    "wants_json_object",
]

#: (the function's name, the result's text) of one tool message.
ToolResult = tuple[str, str]

_TOOL_ROLES = ("tool", "function")
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_QUOTED = re.compile(rf"\"({_IDENTIFIER})\"|'({_IDENTIFIER})'|`({_IDENTIFIER})`")
_LIST_AFTER = re.compile(
    rf"\b(?:fields?|keys?|propert(?:y|ies))\b\s*:?\s*(?!(?:and|or)\b)"
    rf"({_IDENTIFIER}(?:\s*(?:,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+){_IDENTIFIER})*)",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+", re.IGNORECASE)
_DEFAULT_FIELD = "answer"
ENCODING_FORMATS = ("float", "base64")


# ---- tool results ------------------------------------------------------------------------


def tool_results(messages: Sequence[Mapping[str, Any]]) -> list[ToolResult] | None:
    """The tool results that end the conversation, oldest first; ``None`` when its last
    message is not a tool result."""
    trailing: list[Mapping[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") not in _TOOL_ROLES:
            break
        trailing.append(message)
    if not trailing:
        return None
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping):
                names[str(call.get("id"))] = str(call["function"].get("name") or "tool")
    return [
        (
            names.get(str(m.get("tool_call_id")), str(m.get("name") or "tool")),
            " ".join(content_text(m.get("content")).split()),
        )
        for m in reversed(trailing)
    ]


def tool_reply_text(results: Sequence[ToolResult]) -> str:
    """The text answer to a conversation that ends with ``results``."""
    return "Tool results: " + "; ".join(f"{name}: {text}" for name, text in results)


def called_tools(messages: Sequence[Mapping[str, Any]]) -> set[str]:
    """The names of the functions the assistant called in the conversation."""
    return {
        str(call["function"]["name"])
        for message in messages
        for call in message.get("tool_calls") or ()
        if isinstance(call, Mapping)
        and isinstance(call.get("function"), Mapping)
        and call["function"].get("name")
    }


def forced_tool_after_results(
    body: Mapping[str, Any], functions: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any]:
    """With ``tool_choice="required"`` after tool results: the first tool not called
    yet in the conversation (the first tool when all were)."""
    called = called_tools(body.get("messages") or [])
    return next((f for f in functions if f["name"] not in called), functions[0])


# ---- JSON objects --------------------------------------------------------------------------


def wants_json_object(body: Mapping[str, Any]) -> bool:
    """Whether the request asks for ``response_format: {"type": "json_object"}``."""
    fmt = body.get("response_format")
    return isinstance(fmt, Mapping) and fmt.get("type") == "json_object"


def named_fields(prompt: str) -> list[str]:
    """The field names ``prompt`` asks for (the rule in this module's docstring)."""
    quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(prompt)]
    if quoted:
        return list(dict.fromkeys(quoted))
    found = _LIST_AFTER.search(prompt)
    if found is not None:
        return list(dict.fromkeys(n for n in _SEPARATORS.split(found.group(1)) if n))
    return [_DEFAULT_FIELD]


def object_schema(prompt: str) -> dict[str, Any]:
    """The schema of the object a ``json_object`` answer to ``prompt`` is: its named
    fields, each a string."""
    properties = {name: {"type": "string"} for name in named_fields(prompt)}
    return {"type": "object", "properties": properties, "required": list(properties)}


# ---- embeddings ------------------------------------------------------------------------------


def encode_embedding(vector: list[float], encoding_format: Any) -> list[float] | str:
    """``vector`` as the request's ``encoding_format`` asks (``None``: float)."""
    if encoding_format is None or encoding_format == "float":
        return vector
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    raise AnswerError(
        400,
        f"encoding_format must be one of {', '.join(ENCODING_FORMATS)}, got {encoding_format!r}.",
        param="encoding_format",
    )
