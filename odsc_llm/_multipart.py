"""``multipart/form-data`` bodies (the audio routes), encoded by httpx, never by hand.

A :class:`Multipart` is the form's text fields as a mapping (what tracing and the
unknown-model hint read, as they read a JSON body) carrying the bytes httpx encoded and
their ``content-type`` (with the boundary). The clients send those bytes as they are, so
the OCI signature covers exactly them (``x-content-sha256`` and ``content-length``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Union

import httpx

from ._errors import InvalidRequestError

__all__ = ["FileInput", "Multipart", "multipart", "read_file"]

#: What a ``file=`` argument may be: a path, the bytes themselves, a binary file, or
#: ``(file name, bytes)`` (as the OpenAI SDK takes it).
FileInput = Union[
    str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes], tuple[str, bytes]
]


class Multipart(dict[str, Any]):
    """A form body: its text fields (a dict) and the encoded ``content``."""

    content: bytes
    content_type: str


def _field(value: Any) -> str:
    if isinstance(value, bool):  # form fields are text: FastAPI/pydantic read "true"
        return "true" if value else "false"
    if isinstance(value, (dict, list)):  # vLLM reads e.g. vllm_xargs as a JSON string
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def multipart(fields: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> Multipart:
    """The form of ``fields`` (``None`` values left out) and ``files`` (field -> (file
    name, bytes)), encoded by httpx."""
    data = {name: _field(value) for name, value in fields.items() if value is not None}
    request = httpx.Request("POST", "http://form.invalid/", data=data, files=dict(files))
    body = Multipart(data)
    body.content = request.read()
    body.content_type = request.headers["content-type"]
    return body


def read_file(file: Any, what: str = "file") -> tuple[str, bytes]:
    """(file name, bytes) of a path, bytes, a binary file object or a (name, bytes)
    pair; a typed error naming ``what`` for anything else (a text-mode file, a missing
    path)."""
    if (
        isinstance(file, tuple)
        and len(file) == 2
        and isinstance(file[0], str)
        and isinstance(file[1], (bytes, bytearray, memoryview))
    ):
        return file[0], bytes(file[1])
    if isinstance(file, (bytes, bytearray, memoryview)):
        return what, bytes(file)
    if isinstance(file, (str, os.PathLike)):
        path = Path(file)
        try:
            return path.name, path.read_bytes()
        except OSError as exc:
            raise InvalidRequestError(
                f"{what}={str(file)!r} cannot be read: {exc.strerror or exc}. Pass an existing "
                "file's path, its bytes, or a file opened with open(path, 'rb')."
            ) from None
    read = getattr(file, "read", None)
    if callable(read):
        data = read()
        if isinstance(data, str):
            raise InvalidRequestError(
                f"{what} is a text-mode file: open it in binary mode, open(path, 'rb')."
            )
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidRequestError(
                f"{what}.read() returned {type(data).__name__}, not bytes: pass a binary file."
            )
        name = getattr(file, "name", None)
        return (Path(name).name if isinstance(name, str) and name else what), bytes(data)
    raise InvalidRequestError(
        f"{what} must be a path, bytes or a binary file object (open(path, 'rb')), "
        f"not {type(file).__name__}."
    )
