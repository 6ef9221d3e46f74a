"""Models of ``/v1/embeddings`` answers."""

from __future__ import annotations

from ._base import BaseType, ResponseType

__all__ = ["CreateEmbeddingResponse", "Embedding", "EmbeddingUsage"]


class Embedding(BaseType):
    """One input's vector (a base64 string when ``encoding_format="base64"``)."""

    object: str = "embedding"
    index: int = 0
    embedding: list[float] | str


class EmbeddingUsage(BaseType):
    """Tokens read to compute the embeddings."""

    prompt_tokens: int = 0
    total_tokens: int = 0


class CreateEmbeddingResponse(ResponseType):
    """An answer of ``embeddings.create``: one :class:`Embedding` per input, in order."""

    object: str = "list"
    data: list[Embedding]
    model: str = ""
    usage: EmbeddingUsage | None = None

    def __repr__(self) -> str:
        dims = len(self.data[0].embedding) if self.data else 0
        return (
            f"CreateEmbeddingResponse(count={len(self.data)}, dimensions={dims}, "
            f"request_id={self.request_id!r})"
        )
