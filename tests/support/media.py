"""Test data of the media tests: a WAV file made with the standard library, a PNG."""

from __future__ import annotations

import io
import wave

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def wav(seconds: float = 1.5, rate: int = 16000) -> bytes:
    """A silent mono 16-bit WAV file of ``seconds`` at ``rate`` Hz."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()
