"""Models of ``/v1/completions`` answers (also used for their stream chunks, as OpenAI does)."""

from __future__ import annotations

from ._base import BaseType, ResponseType
from .usage import CompletionUsage

__all__ = ["Completion", "CompletionChoice", "CompletionLogprobs"]


class CompletionLogprobs(BaseType):
    """Per-token log probabilities of a completion choice."""

    text_offset: list[int] | None = None
    token_logprobs: list[float | None] | None = None
    tokens: list[str] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None


class CompletionChoice(BaseType):
    """One generated text. In a stream chunk, ``text`` is the new piece only."""

    index: int = 0
    text: str = ""
    logprobs: CompletionLogprobs | None = None
    #: ``stop``, ``length`` (max_tokens reached) or ``abort``; ``None`` until the last chunk.
    finish_reason: str | None = None
    #: vLLM: the stop string or token id that ended the text, if any.
    stop_reason: int | str | None = None


class Completion(ResponseType):
    """An answer of ``completions.create`` (or one chunk of its stream)."""

    id: str = ""
    object: str = "text_completion"
    created: int = 0
    model: str = ""
    choices: list[CompletionChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None

    @property
    def text(self) -> str:
        """The text of the first choice (empty when there is none)."""
        return self.choices[0].text if self.choices else ""

    def __repr__(self) -> str:
        finish = self.choices[0].finish_reason if self.choices else None
        return (
            f"Completion(text={_short(self.text)!r}, finish_reason={finish!r}, "
            f"usage={self.usage!r}, request_id={self.request_id!r})"
        )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
