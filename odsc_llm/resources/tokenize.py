"""``client.tokenize`` / ``client.detokenize``: vLLM's ``/tokenize`` and ``/detokenize``.

Reached through the ``route`` header, like chat and completions; the count and the
context window tell whether a prompt fits before it is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._constants import ROUTE_DETOKENIZE, ROUTE_TOKENIZE
from .._errors import InvalidRequestError
from ..types.params import RequestOptions
from ..types.vllm import DetokenizeResponse, TokenizeResponse
from ._common import APIResource, AsyncAPIResource, as_messages, split_params

__all__ = ["AsyncDetokenize", "AsyncTokenize", "Detokenize", "Tokenize"]

_OPTIONS = frozenset(RequestOptions.__optional_keys__)
_TOKENIZE_ALLOWED = _OPTIONS | {
    "model",
    "add_special_tokens",
    "add_generation_prompt",
    "return_token_strs",
    "chat_template_kwargs",
    "tools",
}
_DETOKENIZE_ALLOWED = _OPTIONS | {"model"}


def _tokenize_body(
    prompt: str | None, messages: Iterable[Any] | None, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    if (prompt is None) == (messages is None):
        raise InvalidRequestError(
            "tokenize() takes exactly one of prompt='text' or messages=[...]."
        )
    if prompt is not None and not isinstance(prompt, str):
        raise InvalidRequestError(f"prompt must be a string, not {type(prompt).__name__}.")
    required: dict[str, Any] = (
        {"prompt": prompt} if messages is None else {"messages": as_messages(messages)}
    )
    return split_params("tokenize", required, params, _TOKENIZE_ALLOWED, False)


def _detokenize_body(
    tokens: Sequence[int], params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    if isinstance(tokens, (str, bytes)) or not all(
        isinstance(t, int) and not isinstance(t, bool) for t in tokens
    ):
        raise InvalidRequestError("detokenize() takes a list of integer token ids.")
    return split_params("detokenize", {"tokens": list(tokens)}, params, _DETOKENIZE_ALLOWED, False)


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class Tokenize(APIResource):
    """``client.tokenize(prompt=...)`` or ``client.tokenize(messages=[...])``."""

    def __call__(
        self,
        *,
        prompt: str | None = None,
        messages: Iterable[Any] | None = None,
        **params: Any,
    ) -> TokenizeResponse:
        """The token ids of ``prompt`` (or of ``messages`` after the chat template),
        their ``count`` and the model's ``max_model_len``. vLLM parameters such as
        ``add_special_tokens`` and ``return_token_strs`` pass through; per-call options
        (``timeout``, ``extra_headers`` ...) as for ``create``."""
        body, options = _tokenize_body(prompt, messages, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_TOKENIZE, body, TokenizeResponse, None, options, self._raw
        )


class Detokenize(APIResource):
    """``client.detokenize([ids])``."""

    def __call__(self, tokens: Sequence[int], **params: Any) -> DetokenizeResponse:
        """The text of the token ids ``tokens`` (``.prompt``)."""
        body, options = _detokenize_body(tokens, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_DETOKENIZE, body, DetokenizeResponse, None, options, self._raw
        )


# unasync: end generated


# unasync: begin source
class AsyncTokenize(AsyncAPIResource):
    """``await client.tokenize(prompt=...)`` or ``await client.tokenize(messages=[...])``."""

    async def __call__(
        self,
        *,
        prompt: str | None = None,
        messages: Iterable[Any] | None = None,
        **params: Any,
    ) -> TokenizeResponse:
        """The token ids of ``prompt`` (or of ``messages`` after the chat template),
        their ``count`` and the model's ``max_model_len``. vLLM parameters such as
        ``add_special_tokens`` and ``return_token_strs`` pass through; per-call options
        (``timeout``, ``extra_headers`` ...) as for ``create``."""
        body, options = _tokenize_body(prompt, messages, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_TOKENIZE, body, TokenizeResponse, None, options, self._raw
        )


class AsyncDetokenize(AsyncAPIResource):
    """``await client.detokenize([ids])``."""

    async def __call__(self, tokens: Sequence[int], **params: Any) -> DetokenizeResponse:
        """The text of the token ids ``tokens`` (``.prompt``)."""
        body, options = _detokenize_body(tokens, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_DETOKENIZE, body, DetokenizeResponse, None, options, self._raw
        )


# unasync: end source
