"""Models of ``/v1/audio/transcriptions`` and ``/v1/audio/translations`` answers.

Shaped as vLLM's speech-to-text protocol (``vllm/entrypoints/openai/speech_to_text/
protocol.py``): ``{"text", "usage"}`` for ``json``; ``duration``, ``language`` and
``segments`` for ``verbose_json``; streamed chunks ``{"object": "transcription.chunk",
"choices": [{"delta": {"content"}, "finish_reason"}]}`` ending with ``data: [DONE]``
(the chat chunk's shape, so a stream's ``text()`` reads them as it reads chat).
"""

from __future__ import annotations

from pydantic import Field

from ._base import BaseType, ResponseType
from .chat import ChatCompletionChunk

__all__ = [
    "Transcription",
    "TranscriptionChunk",
    "TranscriptionSegment",
    "TranscriptionUsage",
    "TranscriptionVerbose",
    "TranscriptionWord",
]


class TranscriptionUsage(BaseType):
    """What a transcription used: vLLM reports the audio's seconds (rounded up)."""

    type: str = "duration"
    seconds: int | float | None = None


class Transcription(ResponseType):
    """A transcription or translation (``response_format="json"``): its ``text``."""

    text: str
    #: vLLM sends it for transcriptions, not for translations.
    usage: TranscriptionUsage | None = None


class TranscriptionWord(BaseType):
    """One word and its time span, in seconds."""

    word: str
    start: float
    end: float


class TranscriptionSegment(BaseType):
    """One segment of a ``verbose_json`` answer."""

    id: int = 0
    seek: int = 0
    start: float = 0.0
    end: float = 0.0
    text: str = ""
    tokens: list[int] = Field(default_factory=list)
    temperature: float | None = None
    avg_logprob: float | None = None
    compression_ratio: float | None = None
    no_speech_prob: float | None = None


class TranscriptionVerbose(ResponseType):
    """A ``response_format="verbose_json"`` answer: the text, the audio's ``duration``
    (vLLM sends seconds as a string), its ``language`` and the timed ``segments``."""

    text: str
    duration: str | float | None = None
    language: str | None = None
    segments: list[TranscriptionSegment] | None = None
    words: list[TranscriptionWord] | None = None


class TranscriptionChunk(ChatCompletionChunk):
    """One event of a streamed transcription or translation (``delta.content`` is the
    new text; the last choice event carries ``finish_reason``)."""

    object: str = "transcription.chunk"
