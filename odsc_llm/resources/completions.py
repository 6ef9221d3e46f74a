"""``client.completions``: ``/v1/completions`` (text in, text out)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, overload

from typing_extensions import Unpack

from .._constants import ROUTE_COMPLETIONS
from .._errors import InvalidRequestError
from .._response import APIResponse
from .._streaming import AsyncStream, Stream
from ..types.completion import Completion
from ..types.params import CompletionCreateParams
from ._common import APIResource, AsyncAPIResource, allowed_keys, split_params

if TYPE_CHECKING:
    from .._batch import BatchResult, CompletionBatchParams

__all__ = ["AsyncCompletions", "Completions"]

Prompt = str | list[str] | list[int] | list[list[int]]
_ALLOWED = allowed_keys(CompletionCreateParams)


def _prepare(
    prompt: Prompt, stream: bool, params: CompletionCreateParams
) -> tuple[dict[str, Any], dict[str, Any], type[Completion] | None]:
    if not isinstance(prompt, (str, list)):
        raise InvalidRequestError(
            f"prompt must be a string or a list of strings/token ids, not {type(prompt).__name__}."
        )
    body, options = split_params("completions.create", {"prompt": prompt}, params, _ALLOWED, stream)
    return body, options, Completion if stream else None


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class Completions(APIResource):
    """Text completions: ``create(prompt=..., stream=...)``."""

    @overload
    def create(
        self,
        *,
        prompt: Prompt,
        stream: Literal[False] = False,
        **params: Unpack[CompletionCreateParams],
    ) -> Completion: ...
    @overload
    def create(
        self, *, prompt: Prompt, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> Stream[Completion]: ...
    @overload
    def create(
        self, *, prompt: Prompt, stream: bool, **params: Unpack[CompletionCreateParams]
    ) -> Completion | Stream[Completion]: ...
    def create(
        self, *, prompt: Prompt, stream: bool = False, **params: Unpack[CompletionCreateParams]
    ) -> Completion | Stream[Completion]:
        """Complete ``prompt``. With ``stream=True``, a stream of chunks
        (:class:`Stream`).

        ``model`` defaults to ``"odsc-llm"``; OpenAI/vLLM parameters (``max_tokens``,
        ``temperature``, ``top_p``, ``stop``, ``n``, ``seed``, ``logprobs`` ...) are sent as
        given; others go in ``extra_body``. ``extra_headers``, ``timeout``,
        ``total_timeout`` and ``max_retries`` apply to this call only.
        """
        body, options, chunk = _prepare(prompt, stream, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_COMPLETIONS, body, Completion, chunk, options, self._raw
        )

    def batch(
        self, prompts: Iterable[Prompt], **params: Unpack[CompletionBatchParams]
    ) -> BatchResult[Completion]:
        """Complete many prompts with adaptive concurrency; see
        :meth:`AsyncCompletions.batch`. Runs an :class:`AsyncClient` with this client's
        settings on its own event loop (works inside Jupyter too).
        """
        from .._batch import batch_from_sync

        return batch_from_sync(
            self._client,
            lambda aclient: aclient.completions.create,
            "prompt",
            prompts,
            Completion,
            params,
        )

    @property
    def with_raw_response(self) -> CompletionsWithRawResponse:
        """The same calls, returning an :class:`APIResponse` (status, headers, ``parse()``)."""
        return CompletionsWithRawResponse(self._client, raw=True)


class CompletionsWithRawResponse(APIResource):
    """``completions`` calls that return the raw :class:`APIResponse`."""

    def create(
        self, *, prompt: Prompt, stream: bool = False, **params: Unpack[CompletionCreateParams]
    ) -> APIResponse[Any]:
        """As :meth:`Completions.create`; ``.parse()`` gives the Completion or Stream."""
        body, options, chunk = _prepare(prompt, stream, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_COMPLETIONS, body, Completion, chunk, options, raw=True
        )


# unasync: end generated


# unasync: begin source
class AsyncCompletions(AsyncAPIResource):
    """Text completions: ``await create(prompt=..., stream=...)``."""

    @overload
    async def create(
        self,
        *,
        prompt: Prompt,
        stream: Literal[False] = False,
        **params: Unpack[CompletionCreateParams],
    ) -> Completion: ...
    @overload
    async def create(
        self, *, prompt: Prompt, stream: Literal[True], **params: Unpack[CompletionCreateParams]
    ) -> AsyncStream[Completion]: ...
    @overload
    async def create(
        self, *, prompt: Prompt, stream: bool, **params: Unpack[CompletionCreateParams]
    ) -> Completion | AsyncStream[Completion]: ...
    async def create(
        self, *, prompt: Prompt, stream: bool = False, **params: Unpack[CompletionCreateParams]
    ) -> Completion | AsyncStream[Completion]:
        """Complete ``prompt``. With ``stream=True``, a stream of chunks
        (:class:`AsyncStream`).

        ``model`` defaults to ``"odsc-llm"``; OpenAI/vLLM parameters (``max_tokens``,
        ``temperature``, ``top_p``, ``stop``, ``n``, ``seed``, ``logprobs`` ...) are sent as
        given; others go in ``extra_body``. ``extra_headers``, ``timeout``,
        ``total_timeout`` and ``max_retries`` apply to this call only.
        """
        body, options, chunk = _prepare(prompt, stream, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_COMPLETIONS, body, Completion, chunk, options, self._raw
        )

    # unasync: async only
    async def batch(
        self, prompts: Iterable[Prompt], **params: Unpack[CompletionBatchParams]
    ) -> BatchResult[Completion]:
        """Complete many prompts concurrently: a :class:`~odsc_llm._batch.BatchResult`.

        Batch options: ``concurrency`` (``"auto"``: adapts to what the deployment
        sustains, up to ``max_concurrency``, 256; or a fixed int), ``rate_limit``
        (requests/s shared by all items, e.g. 150, the tenancy default; off by default),
        ``fail_fast`` (False: errors are collected per item), ``progress`` (a tqdm bar),
        ``resume_file`` (JSONL of done items: a rerun skips them), ``ids`` (stable item ids
        for resuming; default the index), ``retry_failed``. Every other keyword is a
        :meth:`create` parameter applied to each prompt. Retries per item follow
        ``max_retries`` (run by the batch, so the controller sees every 429/503). Results
        are in input order.
        """
        from .._batch import abatch

        return await abatch(
            self.create, "prompt", prompts, Completion, params, max_retries=self._client.max_retries
        )

    # unasync: end
    # unasync: sync only
    # def batch(
    #     self, prompts: Iterable[Prompt], **params: Unpack[CompletionBatchParams]
    # ) -> BatchResult[Completion]:
    #     """Complete many prompts with adaptive concurrency; see
    #     :meth:`AsyncCompletions.batch`. Runs an :class:`AsyncClient` with this client's
    #     settings on its own event loop (works inside Jupyter too).
    #     """
    #     from .._batch import batch_from_sync
    #
    #     return batch_from_sync(
    #         self._client,
    #         lambda aclient: aclient.completions.create,
    #         "prompt",
    #         prompts,
    #         Completion,
    #         params,
    #     )
    #
    # unasync: end
    @property
    def with_raw_response(self) -> AsyncCompletionsWithRawResponse:
        """The same calls, returning an :class:`APIResponse` (status, headers, ``parse()``)."""
        return AsyncCompletionsWithRawResponse(self._client, raw=True)


class AsyncCompletionsWithRawResponse(AsyncAPIResource):
    """``completions`` calls that return the raw :class:`APIResponse`."""

    async def create(
        self, *, prompt: Prompt, stream: bool = False, **params: Unpack[CompletionCreateParams]
    ) -> APIResponse[Any]:
        """As :meth:`AsyncCompletions.create`; ``.parse()`` gives the Completion or Stream."""
        body, options, chunk = _prepare(prompt, stream, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_COMPLETIONS, body, Completion, chunk, options, raw=True
        )


# unasync: end source
