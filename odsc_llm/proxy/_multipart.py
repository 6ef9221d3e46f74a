"""The ``model`` field of a multipart body (``/v1/audio/transcriptions``): read, replaced.

Only that one text field is touched; every other part (the audio file) passes through
byte for byte. A body whose boundary or field cannot be found is left as it is.
"""

from __future__ import annotations

import re

__all__ = ["model_field", "with_model"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_NAME = re.compile(rb'content-disposition:[^\r\n]*;\s*name="model"(?:;|\r\n|$)', re.I)


def _model_part(body: bytes, content_type: str | None) -> tuple[int, int] | None:
    """Where the ``model`` field's value is in ``body``: (start, end), or None."""
    found = _BOUNDARY.search(content_type or "")
    if found is None:
        return None
    delimiter = b"--" + found.group(1).encode("latin-1")
    position = 0
    while True:
        start = body.find(delimiter, position)
        if start < 0:
            return None
        head_end = body.find(b"\r\n\r\n", start)
        following = body.find(b"\r\n" + delimiter, start + len(delimiter))
        if head_end < 0 or following < 0:
            return None
        if _NAME.search(body, start, head_end + 2):
            return head_end + 4, following
        position = following + 2


def model_field(body: bytes, content_type: str | None) -> str | None:
    """The ``model`` field's text, if the body has one."""
    where = _model_part(body, content_type)
    return None if where is None else body[where[0] : where[1]].decode("utf-8", "replace")


def with_model(body: bytes, content_type: str | None, model: str) -> bytes:
    """``body`` with its ``model`` field set to ``model`` (unchanged when it has none)."""
    where = _model_part(body, content_type)
    if where is None:
        return body
    return body[: where[0]] + model.encode() + body[where[1] :]
