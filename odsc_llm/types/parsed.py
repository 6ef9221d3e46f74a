"""Answers of ``chat.completions.parse``: a chat completion whose messages carry ``parsed``."""

from __future__ import annotations

from typing import Generic, TypeVar

from .chat import ChatCompletion, ChatCompletionMessage, Choice

__all__ = ["ParsedChatCompletion", "ParsedChatCompletionMessage", "ParsedChoice"]

ContentT = TypeVar("ContentT")


class ParsedChatCompletionMessage(ChatCompletionMessage, Generic[ContentT]):
    """A message whose JSON content was validated as the requested type."""

    #: The content as an instance of the requested type (``None`` for a tool-call answer).
    parsed: ContentT | None = None


class ParsedChoice(Choice, Generic[ContentT]):
    """One answer of a parsed chat completion."""

    message: ParsedChatCompletionMessage[ContentT]


class ParsedChatCompletion(ChatCompletion, Generic[ContentT]):
    """An answer of ``chat.completions.parse``: ``choices[i].message.parsed`` is typed."""

    choices: list[ParsedChoice[ContentT]]  # type: ignore[assignment]

    @property
    def parsed(self) -> ContentT | None:
        """The first choice's parsed content."""
        return self.choices[0].message.parsed if self.choices else None
