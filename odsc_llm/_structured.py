"""Structured output: a JSON schema from a Python type, and the answer checked against it.

No I/O: ``chat.completions.parse()`` (sync and async, streamed or not) and
``tool_call.parsed_arguments()`` share these.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._errors import ContentRefusalError, LengthFinishReasonError, OutputValidationError
from .types._validate import adapter, type_label, validate_output

if TYPE_CHECKING:
    from ._streaming import AsyncStream, Stream
    from .types.chat import ChatCompletion, ChatCompletionChunk
    from .types.parsed import ParsedChatCompletion
    from .types.responses import ParsedResponse, Response

__all__ = [
    "AsyncChatParseStream",
    "ChatParseStream",
    "OutputSpec",
    "output_spec",
    "validate_output",  # re-exported: it lives with the types that use it
]

T = TypeVar("T")

#: OpenAI and vLLM accept schema names of letters, digits, ``_`` and ``-`` (64 at most).
_NAME_RE = re.compile(r"[^a-zA-Z0-9_-]")
_MAX_NAME = 64


class OutputSpec(Generic[T]):
    """What ``parse()`` asks for: the ``response_format`` to send, and how to read answers."""

    def __init__(
        self, response_format: dict[str, Any], schema: Any, type_name: str | None = None
    ) -> None:
        self.response_format = response_format
        self._type_name = type_name
        #: A type to validate with, or ``None`` for a dict schema (JSON decoding only).
        self.schema = schema

    def parse_content(self, text: str | None) -> T:
        if self.schema is not None:
            return validate_output(  # type: ignore[no-any-return]
                self.schema, text, type_name=self._type_name
            )
        try:
            return json.loads(text or "")  # type: ignore[no-any-return]
        except ValueError as exc:
            raise OutputValidationError(
                f"The model's answer is not JSON ({exc}); it wrote: {(text or '')[:200]!r}",
                raw=text,
                errors=[{"type": "json_invalid", "msg": str(exc)}],
            ) from None

    def parse_completion(self, completion: ChatCompletion) -> ParsedChatCompletion[T]:
        """``completion`` with each choice's content parsed; typed errors when it can't be."""
        from .types.parsed import ParsedChatCompletion

        choices = []
        for choice in completion.choices:
            message = choice.message
            if message.refusal:
                raise ContentRefusalError(
                    f"The model refused to answer as {self.name}: {message.refusal}",
                    raw=message.content,
                )
            if choice.finish_reason == "length":
                raise LengthFinishReasonError(
                    f"The answer was cut at max_tokens (finish_reason='length') before its "
                    f"JSON was complete ({len(message.content or '')} characters); raise "
                    f"max_tokens or max_completion_tokens.",
                    raw=message.content,
                )
            parsed = None if message.tool_calls else self.parse_content(message.content)
            data = choice.model_dump(exclude_unset=True)
            data["message"] = {**message.model_dump(exclude_unset=True), "parsed": None}
            choices.append((data, parsed))
        head = completion.model_dump(exclude_unset=True)
        head["choices"] = [data for data, _ in choices]
        result: ParsedChatCompletion[T] = ParsedChatCompletion.model_validate(head)
        for choice_out, (_, parsed) in zip(result.choices, choices, strict=True):
            choice_out.message.parsed = parsed
        result._set_request_id(completion.request_id)
        return result

    def text_format(self) -> dict[str, Any]:
        """The Responses API's ``text`` parameter for this format: the same schema, in
        ``{"format": {"type": "json_schema", "name", "schema", "strict"}}``."""
        spec = self.response_format.get("json_schema")
        if isinstance(spec, Mapping):
            return {"format": {"type": "json_schema", **spec}}
        return {"format": dict(self.response_format)}

    def parse_response(self, response: Response) -> ParsedResponse[T]:
        """``response`` with its output text parsed as ``output_parsed`` (``None`` when
        the answer is a function call); typed errors as :meth:`parse_completion`."""
        from .types.responses import ParsedResponse, ResponseOutputMessage

        for item in response.output:
            if isinstance(item, ResponseOutputMessage):
                for part in item.content:
                    refusal = getattr(part, "refusal", None)
                    if part.type == "refusal" and refusal:
                        raise ContentRefusalError(
                            f"The model refused to answer as {self.name}: {refusal}",
                            raw=response.output_text,
                        )
        text = response.output_text
        if response.status == "incomplete":
            raise LengthFinishReasonError(
                f"The answer was cut short (status 'incomplete': "
                f"{response.incomplete_details or 'max_output_tokens'}) before its JSON was "
                f"complete ({len(text)} characters); raise max_output_tokens.",
                raw=text,
            )
        parsed = None if response.function_calls and not text else self.parse_content(text)
        result: ParsedResponse[T] = ParsedResponse.model_validate(
            response.model_dump(exclude_unset=True)
        )
        result.output_parsed = parsed
        result._set_request_id(response.request_id)
        return result

    @property
    def name(self) -> str:
        spec = self.response_format.get("json_schema")
        return str(spec.get("name", "JSON")) if isinstance(spec, Mapping) else "JSON"


def output_spec(
    response_format: Any, *, strict: bool = True, name: str | None = None
) -> OutputSpec[Any]:
    """The ``response_format`` for a pydantic model, a TypeAdapter-able type, a
    ``TypeAdapter`` or a JSON schema dict."""
    if isinstance(response_format, Mapping):
        schema_dict = dict(response_format)
        if schema_dict.get("type") in ("json_schema", "json_object"):
            # Already a whole response_format (these are no JSON schema types): sent as
            # is, e.g. llama.cpp's {"type": "json_object", "schema": {...}}.
            return OutputSpec(schema_dict, None)
        title = schema_dict.get("title")
        validator = None
    else:
        checker = adapter(response_format)
        schema_dict = checker.json_schema()
        title = getattr(response_format, "__name__", None) or schema_dict.get("title")
        validator = checker
    label = _NAME_RE.sub("_", str(name or title or "response"))[:_MAX_NAME]
    body = {
        "type": "json_schema",
        "json_schema": {"name": label, "schema": schema_dict, "strict": strict},
    }
    return OutputSpec(body, validator, type_label(response_format))


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class ChatParseStream(Generic[T]):
    """A chat stream of a ``parse_stream()`` call: iterate its chunks (or ``text()``);
    :meth:`get_final_completion` joins them and parses the answer."""

    def __init__(self, stream: Stream[ChatCompletionChunk], spec: OutputSpec[T]) -> None:
        self.stream = stream
        self._spec = spec

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` of this stream's answer."""
        return self.stream.request_id

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self.stream.__iter__()

    def __enter__(self) -> ChatParseStream[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stream.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self.stream.close()

    def text(self) -> Iterator[str]:
        """The JSON text as it arrives (choice 0)."""
        return self.stream.text()

    def get_final_completion(self) -> ParsedChatCompletion[T]:
        """Read to the end, join the chunks and parse the content (typed errors as
        ``parse()``)."""
        completion = self.stream.get_final_completion()
        return self._spec.parse_completion(completion)  # type: ignore[arg-type]


# unasync: end generated


# unasync: begin source
class AsyncChatParseStream(Generic[T]):
    """A chat stream of a ``parse_stream()`` call: iterate its chunks (or ``text()``);
    :meth:`get_final_completion` joins them and parses the answer."""

    def __init__(self, stream: AsyncStream[ChatCompletionChunk], spec: OutputSpec[T]) -> None:
        self.stream = stream
        self._spec = spec

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` of this stream's answer."""
        return self.stream.request_id

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self.stream.__aiter__()

    async def __aenter__(self) -> AsyncChatParseStream[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stream.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        await self.stream.aclose()

    # unasync: async only
    close = aclose

    # unasync: end
    def text(self) -> AsyncIterator[str]:
        """The JSON text as it arrives (choice 0)."""
        return self.stream.text()

    async def get_final_completion(self) -> ParsedChatCompletion[T]:
        """Read to the end, join the chunks and parse the content (typed errors as
        ``parse()``)."""
        completion = await self.stream.get_final_completion()
        return self._spec.parse_completion(completion)  # type: ignore[arg-type]


# unasync: end source
