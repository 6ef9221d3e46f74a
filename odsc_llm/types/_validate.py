"""Validating a model's JSON answer against a Python type, with typed errors (no I/O).

``tool_call.parsed_arguments()`` (a type method) and ``chat.completions.parse()`` share
it, so it lives with the types; it needs only pydantic and the package's exceptions.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .._errors import InvalidRequestError, OutputValidationError

__all__ = ["adapter", "type_label", "validate_output"]

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


def adapter(schema: Any, param: str = "response_format") -> TypeAdapter[Any]:
    """A TypeAdapter for ``schema``; an :class:`InvalidRequestError` naming ``param`` if
    it is no type (a function included)."""
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
    raw = text or ""
    checker = adapter(schema, param)
    try:
        return checker.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0].get("msg", "") if errors else ""
        quoted = raw if len(raw) <= _QUOTE_CHARS else raw[:_QUOTE_CHARS] + "..."
        raise OutputValidationError(
            f"The model's {what} does not validate as {type_name or type_label(schema)}: "
            f"{len(errors)} error(s), first: {first}. It wrote: {quoted!r}",
            raw=raw,
            errors=errors,
        ) from None


def type_label(schema: Any) -> str:
    """The name of what ``schema`` validates, for messages."""
    if isinstance(schema, TypeAdapter):
        schema = schema._type  # what the adapter validates, for the message
    return str(getattr(schema, "__name__", None) or schema)
