"""``client.score``, ``client.classify``, ``client.pooling``: vLLM's pooling routes.

``/score`` (a cross-encoder or embedding model scores text pairs), ``/classify`` (a
sequence-classification model's class probabilities) and ``/pooling`` (the model's raw
pooled output), reached through the ``route`` header like ``rerank``. Shapes: vLLM's
``ScoreRequest`` (``text_1``: one string or a list, ``text_2``: a string or a list; one
``text_1`` is paired with every ``text_2``, lists of equal length pair by position) and
the ``input`` of its classify/pooling requests (a string or a list of strings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import Unpack

from .._constants import ROUTE_CLASSIFY, ROUTE_POOLING, ROUTE_SCORE
from .._errors import InvalidRequestError
from ..types.scoring import (
    ClassificationResponse,
    PoolingResponse,
    ScoreCreateParams,
    ScoreResponse,
)
from ._common import APIResource, AsyncAPIResource, allowed_keys, split_params

__all__ = ["AsyncClassify", "AsyncPooling", "AsyncScore", "Classify", "Pooling", "Score"]

_ALLOWED = allowed_keys(ScoreCreateParams)
TextInput = str | Sequence[str]


def _texts(value: object, name: str) -> str | list[str]:
    if isinstance(value, str):
        return value
    if (
        isinstance(value, Sequence)
        and not isinstance(value, (bytes, bytearray))
        and value
        and all(isinstance(v, str) for v in value)
    ):
        return list(value)
    raise InvalidRequestError(
        f"{name} must be a string or a non-empty list of strings, not {value!r:.80}."
    )


def _score_body(
    text_1: object, text_2: object, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    first, second = _texts(text_1, "text_1"), _texts(text_2, "text_2")
    if isinstance(first, list) and isinstance(second, list) and len(first) not in (1, len(second)):
        raise InvalidRequestError(
            f"text_1 has {len(first)} texts and text_2 {len(second)}: pass one text_1 (scored "
            "against every text_2) or as many as text_2 (scored pair by pair)."
        )
    required = {"text_1": first, "text_2": second}
    return split_params("score.create", required, params, _ALLOWED, False)


def _input_body(
    method: str, value: object, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    return split_params(method, {"input": _texts(value, "input")}, params, _ALLOWED, False)


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class Score(APIResource):
    """``client.score.create(text_1=..., text_2=...)``."""

    def create(
        self, *, text_1: TextInput, text_2: TextInput, **params: Unpack[ScoreCreateParams]
    ) -> ScoreResponse:
        """Score each (``text_1``, ``text_2``) pair (a cross-encoder or embedding model):
        one ``data`` item per pair, in order, with its ``score``."""
        body, options = _score_body(text_1, text_2, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_SCORE, body, ScoreResponse, None, options, self._raw
        )


class Classify(APIResource):
    """``client.classify.create(input=...)``."""

    def create(
        self, *, input: TextInput, **params: Unpack[ScoreCreateParams]
    ) -> ClassificationResponse:
        """Classify each text of ``input`` (a sequence-classification model): its
        ``label`` and the probability of each class, one ``data`` item per text."""
        body, options = _input_body("classify.create", input, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_CLASSIFY, body, ClassificationResponse, None, options, self._raw
        )


class Pooling(APIResource):
    """``client.pooling.create(input=...)``."""

    def create(self, *, input: TextInput, **params: Unpack[ScoreCreateParams]) -> PoolingResponse:
        """The model's pooled output of each text of ``input`` (vLLM's ``/pooling``;
        ``extra_body={"task": ...}`` picks a pooling task)."""
        body, options = _input_body("pooling.create", input, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_POOLING, body, PoolingResponse, None, options, self._raw
        )


# unasync: end generated


# unasync: begin source
class AsyncScore(AsyncAPIResource):
    """``await client.score.create(text_1=..., text_2=...)``."""

    async def create(
        self, *, text_1: TextInput, text_2: TextInput, **params: Unpack[ScoreCreateParams]
    ) -> ScoreResponse:
        """Score each (``text_1``, ``text_2``) pair (a cross-encoder or embedding model):
        one ``data`` item per pair, in order, with its ``score``."""
        body, options = _score_body(text_1, text_2, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_SCORE, body, ScoreResponse, None, options, self._raw
        )


class AsyncClassify(AsyncAPIResource):
    """``await client.classify.create(input=...)``."""

    async def create(
        self, *, input: TextInput, **params: Unpack[ScoreCreateParams]
    ) -> ClassificationResponse:
        """Classify each text of ``input`` (a sequence-classification model): its
        ``label`` and the probability of each class, one ``data`` item per text."""
        body, options = _input_body("classify.create", input, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_CLASSIFY, body, ClassificationResponse, None, options, self._raw
        )


class AsyncPooling(AsyncAPIResource):
    """``await client.pooling.create(input=...)``."""

    async def create(
        self, *, input: TextInput, **params: Unpack[ScoreCreateParams]
    ) -> PoolingResponse:
        """The model's pooled output of each text of ``input`` (vLLM's ``/pooling``;
        ``extra_body={"task": ...}`` picks a pooling task)."""
        body, options = _input_body("pooling.create", input, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_POOLING, body, PoolingResponse, None, options, self._raw
        )


# unasync: end source
