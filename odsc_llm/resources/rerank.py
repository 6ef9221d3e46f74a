"""``client.rerank``: vLLM's ``/v1/rerank`` (a query and documents in, scores out; RAG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import Unpack

from .._constants import ROUTE_RERANK
from .._errors import InvalidRequestError
from ..types.vllm import RerankCreateParams, RerankResponse
from ._common import APIResource, AsyncAPIResource, split_params

__all__ = ["AsyncRerank", "Rerank"]

_ALLOWED = frozenset(RerankCreateParams.__optional_keys__) | {"top_n"}


def _body(
    query: str, documents: Sequence[str], top_n: int | None, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(query, str):
        raise InvalidRequestError(f"query must be a string, not {type(query).__name__}.")
    if (
        isinstance(documents, str)
        or not documents
        or not all(isinstance(d, str) for d in documents)
    ):
        raise InvalidRequestError("documents must be a non-empty list of strings.")
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise InvalidRequestError(f"top_n must be an integer >= 1, not {top_n!r}.")
    return split_params(
        "rerank.create",
        {"query": query, "documents": list(documents)},
        {**params, "top_n": top_n},
        _ALLOWED,
        False,
    )


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class Rerank(APIResource):
    """``client.rerank.create(query, documents, top_n=...)``."""

    def create(
        self,
        query: str,
        documents: Sequence[str],
        *,
        top_n: int | None = None,
        **params: Unpack[RerankCreateParams],
    ) -> RerankResponse:
        """Score each document's relevance to ``query`` (a reranker/cross-encoder model):
        ``results`` best first, each with the ``index`` of its document; ``top_n`` keeps
        only the best N."""
        body, options = _body(query, documents, top_n, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_RERANK, body, RerankResponse, None, options, self._raw
        )


# unasync: end generated


# unasync: begin source
class AsyncRerank(AsyncAPIResource):
    """``await client.rerank.create(query, documents, top_n=...)``."""

    async def create(
        self,
        query: str,
        documents: Sequence[str],
        *,
        top_n: int | None = None,
        **params: Unpack[RerankCreateParams],
    ) -> RerankResponse:
        """Score each document's relevance to ``query`` (a reranker/cross-encoder model):
        ``results`` best first, each with the ``index`` of its document; ``top_n`` keeps
        only the best N."""
        body, options = _body(query, documents, top_n, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_RERANK, body, RerankResponse, None, options, self._raw
        )


# unasync: end source
