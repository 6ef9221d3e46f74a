"""``client.embeddings``: ``/v1/embeddings`` (texts in, vectors out)."""

from __future__ import annotations

from typing import Any

from typing_extensions import Unpack

from .._constants import ROUTE_EMBEDDINGS
from .._errors import InvalidRequestError
from .._response import APIResponse
from ..types.embedding import CreateEmbeddingResponse
from ..types.params import EmbeddingCreateParams
from ._common import APIResource, AsyncAPIResource, allowed_keys, split_params

__all__ = ["AsyncEmbeddings", "Embeddings"]

EmbeddingInput = str | list[str] | list[int] | list[list[int]]
_ALLOWED = allowed_keys(EmbeddingCreateParams)


def _prepare(
    value: EmbeddingInput, params: EmbeddingCreateParams
) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(value, (str, list)) or (isinstance(value, list) and not value):
        raise InvalidRequestError(
            "input must be a string or a non-empty list of strings/token ids."
        )
    return split_params("embeddings.create", {"input": value}, params, _ALLOWED, False)


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class Embeddings(APIResource):
    """Embeddings: ``create(input=[...])``."""

    def create(
        self, *, input: EmbeddingInput, **params: Unpack[EmbeddingCreateParams]
    ) -> CreateEmbeddingResponse:
        """One vector per input, in order. ``model`` defaults to ``"odsc-llm"``."""
        body, options = _prepare(input, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_EMBEDDINGS, body, CreateEmbeddingResponse, None, options, self._raw
        )

    @property
    def with_raw_response(self) -> EmbeddingsWithRawResponse:
        """The same calls, returning an :class:`APIResponse` (status, headers, ``parse()``)."""
        return EmbeddingsWithRawResponse(self._client, raw=True)


class EmbeddingsWithRawResponse(APIResource):
    """``embeddings`` calls that return the raw :class:`APIResponse`."""

    def create(
        self, *, input: EmbeddingInput, **params: Unpack[EmbeddingCreateParams]
    ) -> APIResponse[Any]:
        """As :meth:`Embeddings.create`; ``.parse()`` gives the CreateEmbeddingResponse."""
        body, options = _prepare(input, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_EMBEDDINGS, body, CreateEmbeddingResponse, None, options, raw=True
        )


# unasync: end generated


# unasync: begin source
class AsyncEmbeddings(AsyncAPIResource):
    """Embeddings: ``await create(input=[...])``."""

    async def create(
        self, *, input: EmbeddingInput, **params: Unpack[EmbeddingCreateParams]
    ) -> CreateEmbeddingResponse:
        """One vector per input, in order. ``model`` defaults to ``"odsc-llm"``."""
        body, options = _prepare(input, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_EMBEDDINGS, body, CreateEmbeddingResponse, None, options, self._raw
        )

    @property
    def with_raw_response(self) -> AsyncEmbeddingsWithRawResponse:
        """The same calls, returning an :class:`APIResponse` (status, headers, ``parse()``)."""
        return AsyncEmbeddingsWithRawResponse(self._client, raw=True)


class AsyncEmbeddingsWithRawResponse(AsyncAPIResource):
    """``embeddings`` calls that return the raw :class:`APIResponse`."""

    async def create(
        self, *, input: EmbeddingInput, **params: Unpack[EmbeddingCreateParams]
    ) -> APIResponse[Any]:
        """As :meth:`AsyncEmbeddings.create`; ``.parse()`` gives the CreateEmbeddingResponse."""
        body, options = _prepare(input, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_EMBEDDINGS, body, CreateEmbeddingResponse, None, options, raw=True
        )


# unasync: end source
