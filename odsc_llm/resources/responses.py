"""``client.responses``: the Responses API (``/v1/responses``; vLLM serves it too).

``create`` (streamed or not), ``parse`` (structured output), ``retrieve`` (``GET
/v1/responses/{id}``) and ``cancel`` (``POST /v1/responses/{id}/cancel``), the routes of
vLLM's ``vllm/entrypoints/openai/responses/api_router.py``. Like every call they go to
the deployment's ``/predict`` (``/predictWithResponseStream`` when streamed) with the
container path in the ``route`` header. vLLM keeps responses for ``retrieve`` only when
started with ``VLLM_ENABLE_RESPONSES_API_STORE=1``, and cancels only ``background``
responses still running.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from pydantic import BaseModel
from typing_extensions import Unpack

from .._constants import ROUTE_RESPONSES
from .._errors import InvalidRequestError
from .._streaming._responses import AsyncResponseStream, ResponseStream
from ..types.params import RequestOptions
from ..types.responses import (
    ParsedResponse,
    Response,
    ResponseCreateParams,
    ResponseParseParams,
    ResponseStreamEvent,
)
from ._common import APIResource, AsyncAPIResource, allowed_keys, split_params

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from .._structured import OutputSpec

__all__ = ["AsyncResponses", "Responses"]

T = TypeVar("T")

#: ``input``: a string, or a list of input items (messages ``{"role", "content"}``,
#: ``function_call_output`` items, output items of an earlier ``Response``...).
ResponseInput = str | Iterable[Mapping[str, Any] | BaseModel]

_ALLOWED = allowed_keys(ResponseCreateParams) | {
    "instructions",
    "tools",
    "tool_choice",
    "text",
    "reasoning",
    "max_output_tokens",
    "previous_response_id",
}
# Response ids go into the route (a header, or the URL's path): no "/", "?", spaces.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


def _as_input(value: Any) -> str | list[Any]:
    """``input`` as JSON-ready data: a non-empty string, or a non-empty list of items
    (mappings, or pydantic models such as an earlier answer's output items)."""
    if isinstance(value, str):
        if not value:
            raise InvalidRequestError("input must not be an empty string.")
        return value
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRequestError(
            "input must be a string or a list of input items (e.g. "
            f"[{{'role': 'user', 'content': 'hi'}}]), not {type(value).__name__}."
        )
    items: list[Any] = []
    for index, item in enumerate(value):
        if isinstance(item, BaseModel):
            items.append(item.model_dump(mode="json", exclude_unset=True))
        elif isinstance(item, Mapping):
            items.append(dict(item))
        else:
            raise InvalidRequestError(
                f"input[{index}] must be a dict (a message or another input item), "
                f"not {type(item).__name__}."
            )
    if not items:
        raise InvalidRequestError("input must not be an empty list: pass at least one item.")
    return items


def _prepare(
    method: str, input: Any, stream: bool, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], type[ResponseStreamEvent] | None]:
    items = _as_input(input)
    body, options = split_params(f"responses.{method}", {}, params, _ALLOWED, stream)
    # "input" after "model" (when given), as the OpenAI SDK sends it.
    model = body.pop("model", None)
    body = {"input": items, **body} if model is None else {"model": model, "input": items, **body}
    return body, options, ResponseStreamEvent if stream else None


def _prepare_parse(
    input: Any, text_format: Any, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], OutputSpec[Any]]:
    from .._structured import output_spec

    if "text" in params:
        raise InvalidRequestError(
            "parse() takes text_format as its own argument (a type or a JSON schema), not text."
        )
    spec = output_spec(text_format)
    body, options, _ = _prepare("parse", input, False, {**params, "text": spec.text_format()})
    return body, options, spec


def _route(response_id: str, action: str = "") -> str:
    if not isinstance(response_id, str) or not _ID_RE.fullmatch(response_id):
        raise InvalidRequestError(
            f"response_id must be a response's id (such as 'resp_...': letters, digits, "
            f"'_', '-', '.', ':'), not {response_id!r}."
        )
    return f"{ROUTE_RESPONSES}/{response_id}{action}"


def _options(options: Mapping[str, Any], method: str) -> dict[str, Any]:
    unknown = set(options) - set(RequestOptions.__optional_keys__) - {"extra_body"}
    if unknown or "extra_body" in options:
        raise InvalidRequestError(
            f"responses.{method}() got unexpected keyword argument(s): "
            f"{', '.join(sorted(unknown | ({'extra_body'} & set(options))))} "
            "(it takes a response id and the call options extra_headers, timeout, "
            "total_timeout, max_retries)."
        )
    return dict(options)


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class Responses(APIResource):
    """The Responses API: ``create(...)``, ``parse``, ``retrieve``, ``cancel``."""

    @overload
    def create(
        self,
        *,
        input: ResponseInput,
        instructions: str | None = None,
        tools: Iterable[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        text: Mapping[str, Any] | None = None,
        reasoning: Mapping[str, Any] | None = None,
        max_output_tokens: int | None = None,
        previous_response_id: str | None = None,
        stream: Literal[False] = False,
        **params: Unpack[ResponseCreateParams],
    ) -> Response: ...
    @overload
    def create(
        self,
        *,
        input: ResponseInput,
        instructions: str | None = None,
        tools: Iterable[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        text: Mapping[str, Any] | None = None,
        reasoning: Mapping[str, Any] | None = None,
        max_output_tokens: int | None = None,
        previous_response_id: str | None = None,
        stream: Literal[True],
        **params: Unpack[ResponseCreateParams],
    ) -> ResponseStream: ...
    @overload
    def create(
        self,
        *,
        input: ResponseInput,
        instructions: str | None = None,
        tools: Iterable[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        text: Mapping[str, Any] | None = None,
        reasoning: Mapping[str, Any] | None = None,
        max_output_tokens: int | None = None,
        previous_response_id: str | None = None,
        stream: bool,
        **params: Unpack[ResponseCreateParams],
    ) -> Response | ResponseStream: ...
    def create(
        self,
        *,
        input: ResponseInput,
        instructions: str | None = None,
        tools: Iterable[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        text: Mapping[str, Any] | None = None,
        reasoning: Mapping[str, Any] | None = None,
        max_output_tokens: int | None = None,
        previous_response_id: str | None = None,
        stream: bool = False,
        **params: Unpack[ResponseCreateParams],
    ) -> Response | ResponseStream:
        """Create a response. With ``stream=True``, a stream of events
        (:class:`ResponseStream`).

        ``input`` is a string or a list of input items (``{"role", "content"}``
        messages, ``function_call_output`` items...); ``instructions`` a system
        message. ``tools`` are Responses-style function tools (``{"type": "function",
        "name", "parameters"}``); ``text`` sets the output format (``{"format":
        {"type": "json_schema", ...}}``, see :meth:`parse`); ``reasoning`` (e.g.
        ``{"effort": "low"}``) a reasoning model's effort; ``previous_response_id``
        continues a stored response. Other OpenAI parameters (``temperature``,
        ``store``, ``background``...) are sent as given; others go in ``extra_body``.
        ``extra_headers``, ``timeout``, ``total_timeout`` and ``max_retries`` apply to
        this call only.
        """
        body, options, chunk = _prepare(
            "create",
            input,
            stream,
            {
                **params,
                "instructions": instructions,
                "tools": None if tools is None else list(tools),
                "tool_choice": tool_choice,
                "text": text,
                "reasoning": reasoning,
                "max_output_tokens": max_output_tokens,
                "previous_response_id": previous_response_id,
            },
        )
        return self._client._request(  # type: ignore[no-any-return]
            ROUTE_RESPONSES, body, Response, chunk, options, self._raw
        )

    @overload
    def parse(
        self,
        *,
        input: ResponseInput,
        text_format: type[T] | TypeAdapter[T],
        **params: Unpack[ResponseParseParams],
    ) -> ParsedResponse[T]: ...
    @overload
    def parse(
        self,
        *,
        input: ResponseInput,
        text_format: Mapping[str, Any],
        **params: Unpack[ResponseParseParams],
    ) -> ParsedResponse[Any]: ...
    def parse(
        self,
        *,
        input: ResponseInput,
        text_format: type[T] | TypeAdapter[T] | Mapping[str, Any],
        **params: Unpack[ResponseParseParams],
    ) -> ParsedResponse[Any]:
        """Answer with JSON of a given type: ``output_parsed`` is an instance.

        ``text_format`` is a pydantic model, any type pydantic's ``TypeAdapter`` takes,
        a ``TypeAdapter``, or a JSON schema dict (then ``output_parsed`` is the decoded
        JSON); it is sent as a strict ``json_schema`` text format. Other keywords as
        :meth:`create` (``instructions``, ``max_output_tokens``, ...). Raises
        :class:`~odsc_llm.OutputValidationError` when the answer does not validate,
        :class:`~odsc_llm.LengthFinishReasonError` when it was cut short (``status``
        ``"incomplete"``), :class:`~odsc_llm.ContentRefusalError` on a refusal.
        """
        body, options, spec = _prepare_parse(input, text_format, params)
        response = self._client._request(ROUTE_RESPONSES, body, Response, None, options)
        return spec.parse_response(response)

    def retrieve(self, response_id: str, **options: Unpack[RequestOptions]) -> Response:
        """A stored response by its id (``GET /v1/responses/{id}``); a
        :class:`~odsc_llm.NotFoundError` when the server kept none (vLLM stores
        responses only with ``VLLM_ENABLE_RESPONSES_API_STORE=1``)."""
        return self._client._request(  # type: ignore[no-any-return]
            _route(response_id), None, Response, None, _options(options, "retrieve"),
            method="GET",
        )  # fmt: skip

    def cancel(self, response_id: str, **options: Unpack[RequestOptions]) -> Response:
        """Cancel a ``background`` response still running (``POST
        /v1/responses/{id}/cancel``): the response, ``status`` ``"cancelled"``. vLLM
        answers 400 (:class:`~odsc_llm.BadRequestError`) for one already finished."""
        return self._client._request(  # type: ignore[no-any-return]
            _route(response_id, "/cancel"), None, Response, None, _options(options, "cancel")
        )


# unasync: end generated


# unasync: begin source
class AsyncResponses(AsyncAPIResource):
    """The Responses API: ``await create(...)``, ``parse``, ``retrieve``, ``cancel``."""

    @overload
    async def create(
        self,
        *,
        input: ResponseInput,
        instructions: str | None = None,
        tools: Iterable[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        text: Mapping[str, Any] | None = None,
        reasoning: Mapping[str, Any] | None = None,
        max_output_tokens: int | None = None,
        previous_response_id: str | None = None,
        stream: Literal[False] = False,
        **params: Unpack[ResponseCreateParams],
    ) -> Response: ...
    @overload
    async def create(
        self,
        *,
        input: ResponseInput,
        instructions: str | None = None,
        tools: Iterable[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        text: Mapping[str, Any] | None = None,
        reasoning: Mapping[str, Any] | None = None,
        max_output_tokens: int | None = None,
        previous_response_id: str | None = None,
        stream: Literal[True],
        **params: Unpack[ResponseCreateParams],
    ) -> AsyncResponseStream: ...
    @overload
    async def create(
        self,
        *,
        input: ResponseInput,
        instructions: str | None = None,
        tools: Iterable[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        text: Mapping[str, Any] | None = None,
        reasoning: Mapping[str, Any] | None = None,
        max_output_tokens: int | None = None,
        previous_response_id: str | None = None,
        stream: bool,
        **params: Unpack[ResponseCreateParams],
    ) -> Response | AsyncResponseStream: ...
    async def create(
        self,
        *,
        input: ResponseInput,
        instructions: str | None = None,
        tools: Iterable[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        text: Mapping[str, Any] | None = None,
        reasoning: Mapping[str, Any] | None = None,
        max_output_tokens: int | None = None,
        previous_response_id: str | None = None,
        stream: bool = False,
        **params: Unpack[ResponseCreateParams],
    ) -> Response | AsyncResponseStream:
        """Create a response. With ``stream=True``, a stream of events
        (:class:`AsyncResponseStream`).

        ``input`` is a string or a list of input items (``{"role", "content"}``
        messages, ``function_call_output`` items...); ``instructions`` a system
        message. ``tools`` are Responses-style function tools (``{"type": "function",
        "name", "parameters"}``); ``text`` sets the output format (``{"format":
        {"type": "json_schema", ...}}``, see :meth:`parse`); ``reasoning`` (e.g.
        ``{"effort": "low"}``) a reasoning model's effort; ``previous_response_id``
        continues a stored response. Other OpenAI parameters (``temperature``,
        ``store``, ``background``...) are sent as given; others go in ``extra_body``.
        ``extra_headers``, ``timeout``, ``total_timeout`` and ``max_retries`` apply to
        this call only.
        """
        body, options, chunk = _prepare(
            "create",
            input,
            stream,
            {
                **params,
                "instructions": instructions,
                "tools": None if tools is None else list(tools),
                "tool_choice": tool_choice,
                "text": text,
                "reasoning": reasoning,
                "max_output_tokens": max_output_tokens,
                "previous_response_id": previous_response_id,
            },
        )
        return await self._client._request(  # type: ignore[no-any-return]
            ROUTE_RESPONSES, body, Response, chunk, options, self._raw
        )

    @overload
    async def parse(
        self,
        *,
        input: ResponseInput,
        text_format: type[T] | TypeAdapter[T],
        **params: Unpack[ResponseParseParams],
    ) -> ParsedResponse[T]: ...
    @overload
    async def parse(
        self,
        *,
        input: ResponseInput,
        text_format: Mapping[str, Any],
        **params: Unpack[ResponseParseParams],
    ) -> ParsedResponse[Any]: ...
    async def parse(
        self,
        *,
        input: ResponseInput,
        text_format: type[T] | TypeAdapter[T] | Mapping[str, Any],
        **params: Unpack[ResponseParseParams],
    ) -> ParsedResponse[Any]:
        """Answer with JSON of a given type: ``output_parsed`` is an instance.

        ``text_format`` is a pydantic model, any type pydantic's ``TypeAdapter`` takes,
        a ``TypeAdapter``, or a JSON schema dict (then ``output_parsed`` is the decoded
        JSON); it is sent as a strict ``json_schema`` text format. Other keywords as
        :meth:`create` (``instructions``, ``max_output_tokens``, ...). Raises
        :class:`~odsc_llm.OutputValidationError` when the answer does not validate,
        :class:`~odsc_llm.LengthFinishReasonError` when it was cut short (``status``
        ``"incomplete"``), :class:`~odsc_llm.ContentRefusalError` on a refusal.
        """
        body, options, spec = _prepare_parse(input, text_format, params)
        response = await self._client._request(ROUTE_RESPONSES, body, Response, None, options)
        return spec.parse_response(response)

    async def retrieve(self, response_id: str, **options: Unpack[RequestOptions]) -> Response:
        """A stored response by its id (``GET /v1/responses/{id}``); a
        :class:`~odsc_llm.NotFoundError` when the server kept none (vLLM stores
        responses only with ``VLLM_ENABLE_RESPONSES_API_STORE=1``)."""
        return await self._client._request(  # type: ignore[no-any-return]
            _route(response_id), None, Response, None, _options(options, "retrieve"),
            method="GET",
        )  # fmt: skip

    async def cancel(self, response_id: str, **options: Unpack[RequestOptions]) -> Response:
        """Cancel a ``background`` response still running (``POST
        /v1/responses/{id}/cancel``): the response, ``status`` ``"cancelled"``. vLLM
        answers 400 (:class:`~odsc_llm.BadRequestError`) for one already finished."""
        return await self._client._request(  # type: ignore[no-any-return]
            _route(response_id, "/cancel"), None, Response, None, _options(options, "cancel")
        )


# unasync: end source
