"""``odsc_llm.image()`` / ``odsc_llm.text()``: content parts, media types, the 10 MB rule."""

from __future__ import annotations

import base64
import io
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import odsc_llm
from odsc_llm import _constants as C
from odsc_llm.testing import LocalDeployment

from .support.aqua import MODES, call, client_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
GIF = b"GIF89a" + b"\x00" * 10
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8


def _decoded(part: Any) -> tuple[str, bytes]:
    header, _, data = part["image_url"]["url"].partition(",")
    assert header.startswith("data:") and header.endswith(";base64")
    return header[5:-7], base64.b64decode(data)


@pytest.mark.parametrize(
    ("data", "media"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_image_media_type_comes_from_the_bytes(data: bytes, media: str, tmp_path: Path) -> None:
    path = tmp_path / "misnamed.txt"  # the name says nothing: the bytes do
    path.write_bytes(data)
    for source in (data, path, str(path), io.BytesIO(data), bytearray(data)):
        part = odsc_llm.image(source)
        assert part["type"] == "image_url"
        assert _decoded(part) == (media, data)
        assert "detail" not in part["image_url"]


def test_image_from_an_open_binary_file_and_detail(tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    with path.open("rb") as f:
        part = odsc_llm.image(f, detail="high")
    assert part["image_url"]["detail"] == "high"
    assert _decoded(part) == ("image/png", PNG)


def test_an_http_url_is_passed_through_never_fetched() -> None:
    for url in ("https://example.invalid/cat.png", "HTTP://example.invalid/x"):
        part = odsc_llm.image(url, detail="low")
        assert part == {"type": "image_url", "image_url": {"url": url, "detail": "low"}}


def test_a_pil_image_is_encoded_without_importing_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow is never imported by odsc_llm: an object of the PIL.Image module the caller
    loaded is saved in its own format (PNG when it has none)."""

    class Image:
        def __init__(self, fmt: str | None) -> None:
            self.format = fmt
            self.saved: list[str] = []

        def save(self, buffer: io.BytesIO, format: str) -> None:
            self.saved.append(format)
            buffer.write({"PNG": PNG, "JPEG": JPEG}[format])

    module = types.ModuleType("PIL.Image")
    module.Image = Image  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "PIL.Image", module)
    jpeg, bare = Image("JPEG"), Image(None)
    assert _decoded(odsc_llm.image(jpeg)) == ("image/jpeg", JPEG)
    assert _decoded(odsc_llm.image(bare)) == ("image/png", PNG)
    assert (jpeg.saved, bare.saved) == (["JPEG"], ["PNG"])


def test_pillow_is_not_imported_by_image() -> None:
    odsc_llm.image(PNG)
    assert "PIL" not in sys.modules


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"%PDF-1.7 not an image", "not a PNG, JPEG, GIF or WebP"),
        (b"", "not a PNG, JPEG, GIF or WebP"),
        ("no/such/file.png", "cannot be read"),
        (io.StringIO("text"), "binary mode"),
        (12, "must be a path, bytes or a binary file"),
    ],
)
def test_bad_image_sources_are_typed_errors(source: Any, message: str) -> None:
    with pytest.raises(odsc_llm.InvalidRequestError, match=message):
        odsc_llm.image(source)


def test_bad_detail_and_max_bytes_are_typed_errors() -> None:
    with pytest.raises(odsc_llm.InvalidRequestError, match="detail must be one of"):
        odsc_llm.image(PNG, detail="medium")  # type: ignore[arg-type]
    for bad in (0, -1, True, 1.5):
        with pytest.raises(odsc_llm.InvalidRequestError, match="max_bytes must be an integer"):
            odsc_llm.image(PNG, max_bytes=bad)  # type: ignore[arg-type]


def test_max_bytes_bounds_one_image() -> None:
    assert odsc_llm.image(PNG, max_bytes=len(PNG))
    with pytest.raises(odsc_llm.RequestTooLargeError, match=r"32 bytes, over max_bytes=31\b"):
        odsc_llm.image(PNG, max_bytes=len(PNG) - 1)


def test_an_image_that_can_never_fit_is_refused_at_once() -> None:
    big = PNG + b"\x00" * (C.MAX_BODY_BYTES * 3 // 4 + 1)  # base64 passes 10 MB
    with pytest.raises(odsc_llm.RequestTooLargeError, match=r"10 MB.*smaller image.*URL"):
        odsc_llm.image(big)


def test_request_too_large_is_an_invalid_request_error() -> None:
    assert issubclass(odsc_llm.RequestTooLargeError, odsc_llm.InvalidRequestError)
    assert issubclass(odsc_llm.RequestTooLargeError, ValueError)


def test_text_part() -> None:
    assert odsc_llm.text("hi") == {"type": "text", "text": "hi"}
    with pytest.raises(odsc_llm.InvalidRequestError, match="takes a string"):
        odsc_llm.text(3)  # type: ignore[arg-type]


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


@pytest.mark.parametrize("mode", MODES)
async def test_chat_with_images_the_bytes_arrive(local: LocalDeployment, mode: str) -> None:
    content = [
        odsc_llm.text("What is this?"),
        odsc_llm.image(PNG),
        odsc_llm.image(JPEG),
        odsc_llm.image("https://example.invalid/cat.png"),
    ]
    async with client_of(local, mode) as client:
        answer = await call(
            client.chat.completions.create(messages=[{"role": "user", "content": content}])
        )
    assert answer.choices[0].message.content == (
        "You said: What is this? [image/png 32 bytes] [image/jpeg 20 bytes] "
        "[image https://example.invalid/cat.png]"
    )
    assert local.requests[-1].json()["messages"][0]["content"] == content


@pytest.mark.parametrize("mode", MODES)
async def test_a_body_over_10_mb_is_refused_and_nothing_is_sent(
    local: LocalDeployment, mode: str
) -> None:
    """Two images that each fit, whose request does not: refused before sending."""
    half = PNG + b"\x00" * (C.MAX_BODY_BYTES * 3 // 8)  # each ~5 MB as base64
    content = [odsc_llm.text("both"), odsc_llm.image(half), odsc_llm.image(half)]
    async with client_of(local, mode) as client:
        with pytest.raises(odsc_llm.RequestTooLargeError) as caught:
            await call(
                client.chat.completions.create(messages=[{"role": "user", "content": content}])
            )
    message = str(caught.value)
    assert "10,485,760" in message and "bytes" in message
    assert "smaller" in message and "URL" in message
    assert local.requests == []
