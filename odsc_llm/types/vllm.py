"""Models of vLLM's utility routes: ``/tokenize``, ``/detokenize`` and ``/v1/rerank``."""

from __future__ import annotations

from pydantic import Field

from ._base import BaseType, ResponseType
from .params import RequestOptions

__all__ = [
    "DetokenizeResponse",
    "RerankCreateParams",
    "RerankDocument",
    "RerankResponse",
    "RerankResult",
    "RerankUsage",
    "TokenizeResponse",
]


class TokenizeResponse(ResponseType):
    """The answer of ``tokenize``: the prompt's token ids and how many there are."""

    tokens: list[int] = Field(default_factory=list)
    count: int = 0
    #: The model's context window, to check a prompt fits before sending it.
    max_model_len: int | None = None
    #: The tokens as text (vLLM: only with ``return_token_strs=True``).
    token_strs: list[str] | None = None


class DetokenizeResponse(ResponseType):
    """The answer of ``detokenize``: the text the token ids make."""

    prompt: str = ""


class RerankDocument(BaseType):
    """The document a rerank result refers to."""

    text: str = ""


class RerankResult(BaseType):
    """One document's place in a rerank: ``index`` into the documents sent."""

    index: int
    relevance_score: float = 0.0
    document: RerankDocument | None = None


class RerankUsage(BaseType):
    """Tokens a rerank used."""

    total_tokens: int = 0


class RerankResponse(ResponseType):
    """The answer of ``rerank.create``: results sorted by ``relevance_score``, best first."""

    id: str = ""
    model: str = ""
    results: list[RerankResult] = Field(default_factory=list)
    usage: RerankUsage | None = None


class RerankCreateParams(RequestOptions, total=False):
    """Optional parameters of ``rerank.create`` besides ``top_n``."""

    model: str
    truncate_prompt_tokens: int
