"""Parsing JSON answers into models, forgiving one flaw servers really send.

A model server that cuts text between the two halves of a UTF-16 surrogate pair (or
escapes a lone one) sends JSON such as ``"\\ud83d"``. Strict parsers, pydantic's
included, reject the whole answer for it; browsers and ``json.loads`` do not. We parse it
with U+FFFD in place of each lone surrogate, as a UTF-8 decoder would for a bad byte.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["replace_lone_surrogates", "validate_json"]

ModelT = TypeVar("ModelT", bound=BaseModel)

# Left to right: an escaped backslash (kept, so `\\ud83d` stays literal text), a valid
# surrogate pair (kept), or a lone surrogate escape (replaced).
_ESCAPES = (
    r"(\\\\)"
    r"|(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(\\u[dD][89a-fA-F][0-9a-fA-F]{2})"
)
_STR_ESCAPES = re.compile(_ESCAPES)
_BYTES_ESCAPES = re.compile(_ESCAPES.encode())


def _keep_or_replace(match: re.Match[str]) -> str:
    return "\\ufffd" if match.group(3) else match.group(0)


def _keep_or_replace_bytes(match: re.Match[bytes]) -> bytes:
    return b"\\ufffd" if match.group(3) else match.group(0)


def replace_lone_surrogates(data: str | bytes) -> str | bytes:
    """``data`` (JSON text) with each lone surrogate escape replaced by ``\\ufffd``."""
    if isinstance(data, str):
        return _STR_ESCAPES.sub(_keep_or_replace, data)
    return _BYTES_ESCAPES.sub(_keep_or_replace_bytes, data)


def validate_json(model_type: type[ModelT], data: str | bytes) -> ModelT:
    """``model_type.model_validate_json(data)``; if that fails and ``data`` has a lone
    surrogate escape, parse it again with U+FFFD in its place.

    Raises the first :class:`pydantic.ValidationError` when the repair does not help.
    """
    try:
        return model_type.model_validate_json(data)
    except ValidationError:
        fixed = replace_lone_surrogates(data)
        if fixed == data:
            raise
        try:
            return model_type.model_validate_json(fixed)
        except ValidationError:
            pass
        raise
