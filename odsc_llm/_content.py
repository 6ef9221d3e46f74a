"""Content parts of a chat message: :func:`text` and :func:`image`.

``messages=[{"role": "user", "content": [odsc_llm.text("What is this?"),
odsc_llm.image("cat.png")]}]``: an image goes inline as a base64 ``data:`` URL (vLLM's
vision models and the OpenAI API take ``image_url`` parts so), or as an ``http(s)`` URL
the model server fetches itself (passed through, never fetched here).

The media type comes from the bytes, never from a file name: a model server decodes
the bytes, so a ``.png`` that is really a PDF would fail there, later and less clearly.
"""

from __future__ import annotations

import base64
import io
import sys
from typing import Any, Literal

from . import _constants as C
from ._errors import InvalidRequestError, RequestTooLargeError
from ._multipart import read_file
from .types.params import (
    ChatCompletionContentPartImageParam,
    ChatCompletionContentPartTextParam,
    ImageURL,
)

__all__ = ["image", "image_media_type", "text"]

ImageDetail = Literal["auto", "low", "high"]
_DETAILS = ("auto", "low", "high")

# The formats vLLM's image loader (PIL) and the OpenAI API both take, by their magic
# bytes (the stdlib's imghdr is gone in 3.13; Pillow is optional).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_PIL_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WEBP"}


def image_media_type(data: bytes) -> str | None:
    """``image/png``, ``image/jpeg``, ``image/gif`` or ``image/webp`` from the first
    bytes of ``data``; ``None`` for anything else."""
    for magic, media in _SIGNATURES:
        if data.startswith(magic):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def text(text: str) -> ChatCompletionContentPartTextParam:
    """A text part of a message's ``content`` list: ``{"type": "text", "text": text}``."""
    if not isinstance(text, str):
        raise InvalidRequestError(f"text() takes a string, not {type(text).__name__}.")
    return {"type": "text", "text": text}


def _pil_bytes(source: Any) -> bytes | None:
    """The bytes of a ``PIL.Image.Image`` (in its own format when it has one we take,
    else PNG); ``None`` when ``source`` is not one. Pillow is never imported here: an
    image object exists only if the caller imported it."""
    pil = sys.modules.get("PIL.Image")
    if pil is None or not isinstance(source, pil.Image):
        return None
    buffer = io.BytesIO()
    source.save(buffer, format=_PIL_FORMATS.get(str(source.format or "").upper(), "PNG"))
    return buffer.getvalue()


def _is_url(source: object) -> bool:
    return isinstance(source, str) and source[:8].lower().startswith(("http://", "https://"))


def image(
    source: Any,
    *,
    detail: ImageDetail | None = None,
    max_bytes: int | None = None,
) -> ChatCompletionContentPartImageParam:
    """An ``image_url`` part of a message's ``content`` list.

    ``source`` is a path (``str`` or ``Path``), the image's bytes, a binary file object,
    a ``PIL.Image.Image``, or an ``http(s)`` URL (sent as it is; the model server
    fetches it). PNG, JPEG, GIF and WebP are recognised from the bytes and sent inline
    as a base64 ``data:`` URL; other bytes raise :class:`~odsc_llm.InvalidRequestError`.
    ``detail`` is ``"auto"``, ``"low"`` or ``"high"`` (OpenAI's hint; vLLM ignores
    it). ``max_bytes`` bounds this image's size: a larger one raises
    :class:`~odsc_llm.RequestTooLargeError`, as does a request whose whole body would
    pass the service's 10 MB, before anything is sent.
    """
    if detail is not None and detail not in _DETAILS:
        raise InvalidRequestError(f"detail must be one of {_DETAILS}, not {detail!r}.")
    if max_bytes is not None and (
        isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1
    ):
        raise InvalidRequestError(f"max_bytes must be an integer >= 1, not {max_bytes!r}.")
    if _is_url(source):
        url: str = source
    else:
        data = _pil_bytes(source)
        if data is None:
            _, data = read_file(source, "image")
        url = _data_url(data, max_bytes)
    image_url: ImageURL = {"url": url}
    if detail is not None:
        image_url["detail"] = detail
    return {"type": "image_url", "image_url": image_url}


def _data_url(data: bytes, max_bytes: int | None) -> str:
    media = image_media_type(data)
    if media is None:
        raise InvalidRequestError(
            f"image: these {len(data):,} bytes are not a PNG, JPEG, GIF or WebP image "
            f"(they start with {data[:8]!r}). Convert the image to one of those, or pass "
            "an http(s) URL."
        )
    if max_bytes is not None and len(data) > max_bytes:
        raise RequestTooLargeError(
            f"The image is {len(data):,} bytes, over max_bytes={max_bytes:,}. Send a "
            "smaller image (resize or compress it), or pass an http(s) URL to it instead."
        )
    encoded = base64.b64encode(data).decode("ascii")
    if len(encoded) > C.MAX_BODY_BYTES:  # can never fit: say so now, not at create()
        raise RequestTooLargeError(
            f"The image is {len(data):,} bytes ({len(encoded):,} as base64); model "
            f"deployments accept request bodies of at most {C.MAX_BODY_BYTES:,} bytes "
            "(10 MB). Send a smaller image (resize or compress it), or pass an http(s) "
            "URL to it instead."
        )
    return f"data:{media};base64,{encoded}"
