"""``client.chat.completions``: ``/v1/chat/completions`` (messages in, a message out)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from typing_extensions import Unpack

from .._constants import ROUTE_CHAT_COMPLETIONS
from .._response import APIResponse
from .._streaming import AsyncStream, Stream
from ..types.chat import ChatCompletion, ChatCompletionChunk
from ..types.params import (
    ChatCompletionCreateParams,
    ChatCompletionMessageParam,
    ChatCompletionParseParams,
)
from ._common import APIResource, AsyncAPIResource, allowed_keys, as_messages, split_params

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from .._batch import BatchResult, ChatCompletionBatchParams
    from .._structured import AsyncChatParseStream, ChatParseStream, OutputSpec
    from ..types.parsed import ParsedChatCompletion

T = TypeVar("T")

__all__ = ["AsyncChat", "AsyncChatCompletions", "Chat", "ChatCompletions"]

Messages = Iterable[ChatCompletionMessageParam | Mapping[str, Any] | Any]
_ALLOWED = allowed_keys(ChatCompletionCreateParams)


def _prepare(
    messages: Messages, stream: bool, params: ChatCompletionCreateParams
) -> tuple[dict[str, Any], dict[str, Any], type[ChatCompletionChunk] | None]:
    body, options = split_params(
        "chat.completions.create", {"messages": as_messages(messages)}, params, _ALLOWED, stream
    )
    return body, options, ChatCompletionChunk if stream else None


def _prepare_parse(
    messages: Messages, response_format: Any, stream: bool, params: ChatCompletionParseParams
) -> tuple[dict[str, Any], dict[str, Any], OutputSpec[Any]]:
    from .._structured import output_spec

    if "response_format" in params:
        raise TypeError(
            "parse() takes response_format as its own argument (a type or a JSON schema)."
        )
    spec = output_spec(response_format)
    body, options = split_params(
        "chat.completions.parse",
        {"messages": as_messages(messages)},
        {**params, "response_format": spec.response_format},
        _ALLOWED,
        stream,
    )
    return body, options, spec


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class ChatCompletions(APIResource):
    """Chat completions: ``create(messages=[...], stream=...)``."""

    @overload
    def create(
        self,
        *,
        messages: Messages,
        stream: Literal[False] = False,
        **params: Unpack[ChatCompletionCreateParams],
    ) -> ChatCompletion: ...
    @overload
    def create(
        self,
        *,
        messages: Messages,
        stream: Literal[True],
        **params: Unpack[ChatCompletionCreateParams],
    ) -> Stream[ChatCompletionChunk]: ...
    @overload
    def create(
        self, *, messages: Messages, stream: bool, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...
    def create(
        self,
        *,
        messages: Messages,
        stream: bool = False,
        **params: Unpack[ChatCompletionCreateParams],
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """Answer a conversation. With ``stream=True``, a stream of chunks
        (:class:`Stream`).

        ``messages`` are ``{"role", "content"}`` dicts (or messages of earlier answers).
        ``model`` defaults to ``"odsc-llm"``; OpenAI/vLLM parameters (``tools``,
        ``response_format``, ``max_tokens``, ``temperature`` ...) are sent as given;
        others go in ``extra_body``. ``extra_headers``, ``timeout``, ``total_timeout``
        and ``max_retries`` apply to this call only.
        """
        body, options, chunk = _prepare(messages, stream, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_CHAT_COMPLETIONS,
            body,
            ChatCompletion,
            chunk,
            options,
            self._raw,
        )

    @overload
    def parse(
        self,
        *,
        messages: Messages,
        response_format: type[T] | TypeAdapter[T],
        **params: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[T]: ...
    @overload
    def parse(
        self,
        *,
        messages: Messages,
        response_format: Mapping[str, Any],
        **params: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[Any]: ...
    def parse(
        self,
        *,
        messages: Messages,
        response_format: type[T] | TypeAdapter[T] | Mapping[str, Any],
        **params: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[Any]:
        """Answer with JSON of a given type: ``choices[i].message.parsed`` is an instance.

        ``response_format`` is a pydantic model, any type pydantic's ``TypeAdapter``
        takes (``list[int]``, a dataclass ...), a ``TypeAdapter``, or a JSON schema dict
        (then ``parsed`` is the decoded JSON). It is sent as a strict ``json_schema``
        ``response_format``, which every vLLM release AQUA ships honours. Raises
        :class:`~odsc_llm.OutputValidationError` when the answer does not validate,
        :class:`~odsc_llm.LengthFinishReasonError` when it was cut at ``max_tokens``,
        :class:`~odsc_llm.ContentRefusalError` on a refusal.
        """
        body, options, spec = _prepare_parse(messages, response_format, False, params)
        completion = self._client._request(
            ROUTE_CHAT_COMPLETIONS, body, ChatCompletion, None, options
        )
        return spec.parse_completion(completion)

    @overload
    def parse_stream(
        self,
        *,
        messages: Messages,
        response_format: type[T] | TypeAdapter[T],
        **params: Unpack[ChatCompletionParseParams],
    ) -> ChatParseStream[T]: ...
    @overload
    def parse_stream(
        self,
        *,
        messages: Messages,
        response_format: Mapping[str, Any],
        **params: Unpack[ChatCompletionParseParams],
    ) -> ChatParseStream[Any]: ...
    def parse_stream(
        self,
        *,
        messages: Messages,
        response_format: type[T] | TypeAdapter[T] | Mapping[str, Any],
        **params: Unpack[ChatCompletionParseParams],
    ) -> ChatParseStream[Any]:
        """As :meth:`parse`, streamed: iterate the chunks (or ``text()``), then
        ``get_final_completion()`` gives the :class:`ParsedChatCompletion`."""
        from .._structured import ChatParseStream

        body, options, spec = _prepare_parse(messages, response_format, True, params)
        stream = self._client._request(
            ROUTE_CHAT_COMPLETIONS, body, ChatCompletion, ChatCompletionChunk, options
        )
        return ChatParseStream(stream, spec)

    def batch(
        self, conversations: Iterable[Messages], **params: Unpack[ChatCompletionBatchParams]
    ) -> BatchResult[ChatCompletion]:
        """Answer many conversations (lists of messages) with adaptive concurrency; see
        :meth:`AsyncChatCompletions.batch`. Runs an :class:`AsyncClient` with this
        client's settings on its own event loop (works inside Jupyter too).
        """
        from .._batch import batch_from_sync

        return batch_from_sync(
            self._client,
            lambda aclient: aclient.chat.completions.create,
            "messages",
            conversations,
            ChatCompletion,
            params,
        )

    @property
    def with_raw_response(self) -> ChatCompletionsWithRawResponse:
        """The same calls, returning an :class:`APIResponse` (status, headers, ``parse()``)."""
        return ChatCompletionsWithRawResponse(self._client, raw=True)


class ChatCompletionsWithRawResponse(APIResource):
    """``chat.completions`` calls that return the raw :class:`APIResponse`."""

    def create(
        self,
        *,
        messages: Messages,
        stream: bool = False,
        **params: Unpack[ChatCompletionCreateParams],
    ) -> APIResponse[Any]:
        """As :meth:`ChatCompletions.create`; ``.parse()`` gives the ChatCompletion
        or Stream."""
        body, options, chunk = _prepare(messages, stream, params)
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_CHAT_COMPLETIONS, body, ChatCompletion, chunk, options, raw=True
        )


class Chat(APIResource):
    """``client.chat``: holds :attr:`completions`."""

    @property
    def completions(self) -> ChatCompletions:
        """Chat completions."""
        return ChatCompletions(self._client, raw=self._raw)


# unasync: end generated


# unasync: begin source
class AsyncChatCompletions(AsyncAPIResource):
    """Chat completions: ``await create(messages=[...], stream=...)``."""

    @overload
    async def create(
        self,
        *,
        messages: Messages,
        stream: Literal[False] = False,
        **params: Unpack[ChatCompletionCreateParams],
    ) -> ChatCompletion: ...
    @overload
    async def create(
        self,
        *,
        messages: Messages,
        stream: Literal[True],
        **params: Unpack[ChatCompletionCreateParams],
    ) -> AsyncStream[ChatCompletionChunk]: ...
    @overload
    async def create(
        self, *, messages: Messages, stream: bool, **params: Unpack[ChatCompletionCreateParams]
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...
    async def create(
        self,
        *,
        messages: Messages,
        stream: bool = False,
        **params: Unpack[ChatCompletionCreateParams],
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Answer a conversation. With ``stream=True``, a stream of chunks
        (:class:`AsyncStream`).

        ``messages`` are ``{"role", "content"}`` dicts (or messages of earlier answers).
        ``model`` defaults to ``"odsc-llm"``; OpenAI/vLLM parameters (``tools``,
        ``response_format``, ``max_tokens``, ``temperature`` ...) are sent as given;
        others go in ``extra_body``. ``extra_headers``, ``timeout``, ``total_timeout``
        and ``max_retries`` apply to this call only.
        """
        body, options, chunk = _prepare(messages, stream, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_CHAT_COMPLETIONS,
            body,
            ChatCompletion,
            chunk,
            options,
            self._raw,
        )

    @overload
    async def parse(
        self,
        *,
        messages: Messages,
        response_format: type[T] | TypeAdapter[T],
        **params: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[T]: ...
    @overload
    async def parse(
        self,
        *,
        messages: Messages,
        response_format: Mapping[str, Any],
        **params: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[Any]: ...
    async def parse(
        self,
        *,
        messages: Messages,
        response_format: type[T] | TypeAdapter[T] | Mapping[str, Any],
        **params: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[Any]:
        """Answer with JSON of a given type: ``choices[i].message.parsed`` is an instance.

        ``response_format`` is a pydantic model, any type pydantic's ``TypeAdapter``
        takes (``list[int]``, a dataclass ...), a ``TypeAdapter``, or a JSON schema dict
        (then ``parsed`` is the decoded JSON). It is sent as a strict ``json_schema``
        ``response_format``, which every vLLM release AQUA ships honours. Raises
        :class:`~odsc_llm.OutputValidationError` when the answer does not validate,
        :class:`~odsc_llm.LengthFinishReasonError` when it was cut at ``max_tokens``,
        :class:`~odsc_llm.ContentRefusalError` on a refusal.
        """
        body, options, spec = _prepare_parse(messages, response_format, False, params)
        completion = await self._client._request(
            ROUTE_CHAT_COMPLETIONS, body, ChatCompletion, None, options
        )
        return spec.parse_completion(completion)

    @overload
    async def parse_stream(
        self,
        *,
        messages: Messages,
        response_format: type[T] | TypeAdapter[T],
        **params: Unpack[ChatCompletionParseParams],
    ) -> AsyncChatParseStream[T]: ...
    @overload
    async def parse_stream(
        self,
        *,
        messages: Messages,
        response_format: Mapping[str, Any],
        **params: Unpack[ChatCompletionParseParams],
    ) -> AsyncChatParseStream[Any]: ...
    async def parse_stream(
        self,
        *,
        messages: Messages,
        response_format: type[T] | TypeAdapter[T] | Mapping[str, Any],
        **params: Unpack[ChatCompletionParseParams],
    ) -> AsyncChatParseStream[Any]:
        """As :meth:`parse`, streamed: iterate the chunks (or ``text()``), then
        ``await get_final_completion()`` gives the :class:`ParsedChatCompletion`."""
        from .._structured import AsyncChatParseStream

        body, options, spec = _prepare_parse(messages, response_format, True, params)
        stream = await self._client._request(
            ROUTE_CHAT_COMPLETIONS, body, ChatCompletion, ChatCompletionChunk, options
        )
        return AsyncChatParseStream(stream, spec)

    # unasync: async only
    async def batch(
        self, conversations: Iterable[Messages], **params: Unpack[ChatCompletionBatchParams]
    ) -> BatchResult[ChatCompletion]:
        """Answer many conversations concurrently: a :class:`~odsc_llm._batch.BatchResult`.

        Each item is one list of messages. Batch options (``concurrency``,
        ``max_concurrency``, ``rate_limit``, ``fail_fast``, ``progress``, ``resume_file``,
        ``ids``, ``retry_failed``) as in :meth:`AsyncCompletions.batch`; other keywords
        are :meth:`create` parameters applied to each conversation. Results are in input
        order.
        """
        from .._batch import abatch

        return await abatch(
            self.create,
            "messages",
            conversations,
            ChatCompletion,
            params,
            max_retries=self._client.max_retries,
        )

    # unasync: end
    # unasync: sync only
    # def batch(
    #     self, conversations: Iterable[Messages], **params: Unpack[ChatCompletionBatchParams]
    # ) -> BatchResult[ChatCompletion]:
    #     """Answer many conversations (lists of messages) with adaptive concurrency; see
    #     :meth:`AsyncChatCompletions.batch`. Runs an :class:`AsyncClient` with this
    #     client's settings on its own event loop (works inside Jupyter too).
    #     """
    #     from .._batch import batch_from_sync
    #
    #     return batch_from_sync(
    #         self._client,
    #         lambda aclient: aclient.chat.completions.create,
    #         "messages",
    #         conversations,
    #         ChatCompletion,
    #         params,
    #     )
    #
    # unasync: end
    @property
    def with_raw_response(self) -> AsyncChatCompletionsWithRawResponse:
        """The same calls, returning an :class:`APIResponse` (status, headers, ``parse()``)."""
        return AsyncChatCompletionsWithRawResponse(self._client, raw=True)


class AsyncChatCompletionsWithRawResponse(AsyncAPIResource):
    """``chat.completions`` calls that return the raw :class:`APIResponse`."""

    async def create(
        self,
        *,
        messages: Messages,
        stream: bool = False,
        **params: Unpack[ChatCompletionCreateParams],
    ) -> APIResponse[Any]:
        """As :meth:`AsyncChatCompletions.create`; ``.parse()`` gives the ChatCompletion
        or AsyncStream."""
        body, options, chunk = _prepare(messages, stream, params)
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_CHAT_COMPLETIONS, body, ChatCompletion, chunk, options, raw=True
        )


class AsyncChat(AsyncAPIResource):
    """``client.chat``: holds :attr:`completions`."""

    @property
    def completions(self) -> AsyncChatCompletions:
        """Chat completions."""
        return AsyncChatCompletions(self._client, raw=self._raw)


# unasync: end source
