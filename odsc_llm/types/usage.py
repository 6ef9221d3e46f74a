"""Token counts reported by the model server."""

from __future__ import annotations

from ._base import BaseType

__all__ = ["CompletionUsage", "PromptTokensDetails"]


class PromptTokensDetails(BaseType):
    """Details of the prompt's tokens (vLLM: cached tokens with prefix caching)."""

    cached_tokens: int | None = None


class CompletionUsage(BaseType):
    """Tokens used by a request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None

    def __repr__(self) -> str:
        return (
            f"CompletionUsage(prompt_tokens={self.prompt_tokens}, "
            f"completion_tokens={self.completion_tokens}, total_tokens={self.total_tokens})"
        )
