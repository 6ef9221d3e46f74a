"""``function_tool``: a ``tools=[...]`` entry from a pydantic model or a typed function."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ._errors import InvalidRequestError

__all__ = ["function_tool"]


def _parameters_of(target: Any) -> tuple[dict[str, Any], str | None, str | None]:
    """(JSON schema of the arguments, default name, default description)."""
    from pydantic import BaseModel, TypeAdapter

    if isinstance(target, type) and issubclass(target, BaseModel):
        schema = target.model_json_schema()
        # Name and docstring go in the function's own name and description.
        schema.pop("title", None)
        description = schema.pop("description", None)
        return schema, target.__name__, description
    if callable(target):
        signature = inspect.signature(target)
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise InvalidRequestError(
                    f"function_tool({target.__name__}): *args/**kwargs cannot be described "
                    "as JSON arguments; give the function named, annotated parameters."
                )
        # pydantic builds the arguments' schema from the annotated signature.
        schema = TypeAdapter(target).json_schema()
        schema.pop("title", None)
        doc = inspect.getdoc(target)
        return schema, getattr(target, "__name__", None), doc.split("\n\n")[0] if doc else None
    raise InvalidRequestError(
        f"function_tool() takes a pydantic model class or a function, not {target!r}."
    )


def _strictify(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's strict mode: every object closed, every property listed as required."""
    out = dict(schema)
    if out.get("type") == "object" and "properties" in out:
        out["properties"] = {k: _strictify(v) for k, v in out["properties"].items()}
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    for key in ("$defs", "definitions"):
        if key in out:
            out[key] = {k: _strictify(v) for k, v in out[key].items()}
    for key in ("anyOf", "allOf", "oneOf"):
        if key in out:
            out[key] = [_strictify(v) for v in out[key]]
    if isinstance(out.get("items"), dict):
        out["items"] = _strictify(out["items"])
    return out


def function_tool(
    target: type[Any] | Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """A ``tools=[...]`` entry describing ``target``.

    ``target`` is a pydantic model (its fields are the arguments) or a function (its
    annotated parameters are; pydantic builds the schema). ``name`` defaults to the
    class or function name, ``description`` to its docstring (a function's first
    paragraph). ``strict=True`` marks the tool strict and closes the schema (every
    property required, no other properties), as OpenAI's strict mode demands.
    Read the model's call back with ``tool_call.parsed_arguments(Model)`` (a type: it
    refuses a function, which pydantic would "validate" by calling).
    """
    parameters, default_name, default_description = _parameters_of(target)
    if strict:
        parameters = _strictify(parameters)
    function: dict[str, Any] = {"name": name or default_name or "function"}
    if description or default_description:
        function["description"] = description or default_description
    function["parameters"] = parameters
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}
