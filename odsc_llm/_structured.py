"""Structured output: a JSON schema from a Python type, and the answer checked against it.

No I/O: ``chat.completions.parse()`` (sync and async, streamed or not) and
``tool_call.parsed_arguments()`` share these.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._errors import (
    ContentRefusalError,
    InvalidRequestError,
    LengthFinishReasonError,
    OutputValidationError,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from ._streaming import AsyncStream, Stream
    from .types.chat import ChatCompletion, ChatCompletionChunk
    from .types.parsed import ParsedChatCompletion

__all__ = [
    "AsyncChatParseStream",
    "ChatParseStream",
    "OutputSpec",
    "output_spec",
    "validate_output",
]

T = TypeVar("T")

#: OpenAI and vLLM accept schema names of letters, digits, ``_`` and ``-`` (64 at most).
_NAME_RE = re.compile(r"[^a-zA-Z0-9_-]")
_MAX_NAME = 64
#: The longest piece of a bad answer quoted in an error message.
_QUOTE_CHARS = 200


def _refuse_function(schema: Any, param: str) -> None:
    """pydantic's TypeAdapter takes a function too, and "validates" by calling it: a tool
    would run because its arguments were checked. Only types (and adapters) are taken."""
    if not (inspect.isroutine(schema) or isinstance(schema, functools.partial)):
        return
    name = getattr(schema, "__name__", None) or "fn"
    model = "".join(part.title() for part in name.split("_") if part.isidentifier()) or "Fn"
    raise InvalidRequestError(
        f"{param} takes a type (a pydantic model, a dataclass, a TypedDict, list[int]...) "
        f"or a TypeAdapter, not the function {name}: pydantic would call it to "
        f"validate. Describe the arguments with a pydantic model instead "
        f"(class {model}Args(BaseModel): ...), send function_tool({model}Args, "
        f"name={name!r}) in tools=[...], read tool_call.parsed_arguments({model}Args), "
        f"then call {name}(**args.model_dump()) yourself."
    )


def _adapter(schema: Any, param: str = "response_format") -> TypeAdapter[Any]:
    from pydantic import TypeAdapter

    if isinstance(schema, TypeAdapter):
        return schema
    _refuse_function(schema, param)
    try:
        return TypeAdapter(schema)
    except Exception as exc:  # pydantic raises several types for "not a type"
        raise InvalidRequestError(
            f"{param} must be a pydantic model, a type pydantic's TypeAdapter "
            f"accepts, a TypeAdapter or a JSON schema dict; {schema!r} is none "
            f"({type(exc).__name__}: {exc})."
        ) from None


def validate_output(
    schema: Any,
    text: str | None,
    *,
    what: str = "answer",
    type_name: str | None = None,
    param: str = "response_format",
) -> Any:
    """``text`` (JSON) validated as ``schema``; an :class:`OutputValidationError` if not,
    an :class:`InvalidRequestError` naming ``param`` if ``schema`` is no type."""
    from pydantic import ValidationError

    raw = text or ""
    adapter = _adapter(schema, param)
    try:
        return adapter.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0].get("msg", "") if errors else ""
        quoted = raw if len(raw) <= _QUOTE_CHARS else raw[:_QUOTE_CHARS] + "..."
        raise OutputValidationError(
            f"The model's {what} does not validate as {type_name or _type_name(schema)}: "
            f"{len(errors)} error(s), first: {first}. It wrote: {quoted!r}",
            raw=raw,
            errors=errors,
        ) from None


def _type_name(schema: Any) -> str:
    from pydantic import TypeAdapter

    if isinstance(schema, TypeAdapter):
        schema = schema._type  # what the adapter validates, for the message
    return str(getattr(schema, "__name__", None) or schema)


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
        adapter = _adapter(response_format)
        schema_dict = adapter.json_schema()
        title = getattr(response_format, "__name__", None) or schema_dict.get("title")
        validator = adapter
    label = _NAME_RE.sub("_", str(name or title or "response"))[:_MAX_NAME]
    body = {
        "type": "json_schema",
        "json_schema": {"name": label, "schema": schema_dict, "strict": strict},
    }
    return OutputSpec(body, validator, _type_name(response_format))


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
        return iter(self.stream)

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


class AsyncChatParseStream(Generic[T]):
    """The async twin of :class:`ChatParseStream`."""

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

    close = aclose

    def text(self) -> AsyncIterator[str]:
        """The JSON text as it arrives (choice 0)."""
        return self.stream.text()

    async def get_final_completion(self) -> ParsedChatCompletion[T]:
        """Read to the end, join the chunks and parse the content."""
        completion = await self.stream.get_final_completion()
        return self._spec.parse_completion(completion)  # type: ignore[arg-type]
