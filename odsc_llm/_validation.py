"""Checks that refuse a call's bad arguments before anything is sent.

Each raises :class:`~odsc_llm.InvalidRequestError` (a ``ValueError`` and a ``TypeError``)
naming the parameter, what is wrong with it and how to fix it. The client calls the
option checks in its constructor; ``resources._common.split_params`` runs them all on
every call, before the body is encoded.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, TypeGuard

import httpx

from . import _constants as C
from ._errors import InvalidRequestError

__all__ = [
    "validate_body",
    "validate_extra_body",
    "validate_headers",
    "validate_max_retries",
    "validate_message",
    "validate_options",
    "validate_params",
    "validate_prompt",
    "validate_seconds",
    "validate_stream_endpoint",
    "validate_timeout",
]

# Header names and values may not carry these: CR/LF would split the header block.
_BAD_HEADER_CHARS = re.compile(r"[\r\n\x00]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Body keys the client sets itself from create()'s arguments.
_RESERVED_BODY_KEYS = {"stream": "pass stream=True or stream=False to create()"}
_SURROGATE_FIX = (
    "Fix the text where it was decoded (e.g. bytes.decode('utf-8', errors='replace'), or "
    "text.encode('utf-16', 'surrogatepass').decode('utf-16') to join surrogate pairs)."
)


def validate_max_retries(value: object, *, name: str = "max_retries") -> int:
    """``value`` if it is an int >= 0 (not a bool), else an :class:`InvalidRequestError`
    (a ``ValueError``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequestError(
            f"{name} must be an integer >= 0 (the number of retries after the first "
            f"attempt; 0 disables them), not {value!r}."
        )
    return value


def validate_stream_endpoint(value: object) -> str:
    """``value`` if it is one of :data:`~odsc_llm._constants.STREAM_ENDPOINTS`."""
    if not isinstance(value, str) or value not in C.STREAM_ENDPOINTS:
        raise InvalidRequestError(
            f"stream_endpoint must be {C.DEFAULT_STREAM_ENDPOINT!r} (the default) or "
            f"'predict' (streams on /predict, for containers that do not serve the "
            f"streaming endpoint), not {value!r}."
        )
    return value


def validate_routing(value: object) -> str:
    """``value`` if it is one of :data:`~odsc_llm._constants.ROUTINGS`."""
    if not isinstance(value, str) or value not in C.ROUTINGS:
        raise InvalidRequestError(
            f"routing must be 'header' (the default: the `route` header, which every "
            f"deployment routes) or 'path' (/predict/v1/..., only on deployments with "
            f"Multiple Inference Endpoints), not {value!r}."
        )
    return value


def is_seconds(value: object) -> TypeGuard[float]:
    """A finite number of seconds > 0 (a bool is no number here)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and value > 0
    )


def validate_seconds(value: object, name: str) -> float | None:
    """``value`` as seconds if it is ``None`` or a finite number > 0 (not a bool)."""
    if value is None:
        return None
    if not is_seconds(value):
        raise InvalidRequestError(
            f"{name} must be a finite number of seconds > 0, or None for no limit, not {value!r}."
        )
    return float(value)


def validate_timeout(value: object, *, name: str = "timeout") -> float | httpx.Timeout | None:
    """``value`` if it is seconds (see :func:`validate_seconds`), ``None``, or an
    ``httpx.Timeout`` whose every part is ``None`` or finite and > 0."""
    if isinstance(value, httpx.Timeout):
        for part in ("connect", "read", "write", "pool"):
            validate_seconds(getattr(value, part), f"{name}.{part}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
        raise InvalidRequestError(
            f"{name} must be a number of seconds, an httpx.Timeout or None, not {value!r}."
        )
    return validate_seconds(value, name)


def validate_headers(headers: object, *, name: str) -> None:
    """Refuse headers httpx would fail to send, late and as a connection error: values
    that are not strings, CR/LF/NUL anywhere, and ``Authorization`` (the client signs)."""
    if headers is None:
        return
    if not isinstance(headers, Mapping):
        raise InvalidRequestError(
            f"{name} must be a mapping of header names to values, not {type(headers).__name__}."
        )
    for key, value in headers.items():
        if not isinstance(key, str) or not key or _BAD_HEADER_CHARS.search(key):
            raise InvalidRequestError(
                f"{name} has an invalid header name {key!r}: use a non-empty string without "
                "CR, LF or NUL."
            )
        if key.lower() == "authorization":
            raise InvalidRequestError(
                f"{name} must not set Authorization: requests are signed by auth."
            )
        if not isinstance(value, str):
            raise InvalidRequestError(
                f"{name}[{key!r}] must be a string, not {type(value).__name__} ({value!r})."
            )
        if _BAD_HEADER_CHARS.search(value):
            raise InvalidRequestError(
                f"{name}[{key!r}] contains CR, LF or NUL ({value!r}): a header value is one "
                "line. Remove the line breaks (e.g. value.strip() or value.replace('\\n', ' '))."
            )


def _problems(value: Any, path: str) -> Iterator[str]:
    """What JSON cannot carry in ``value`` (nested), each with the path to it."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found:
            yield (
                f"{path} contains a lone surrogate {found.group()!r} at index "
                f"{found.start()}: it cannot be encoded as UTF-8. {_SURROGATE_FIX}"
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield (
                f"{path} is {value!r}: JSON has no NaN or Infinity. Pass a finite number, "
                "or leave the parameter out."
            )
    elif value is None or isinstance(value, int):
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield from _problems(key, f"{path} key {key!r}")
            elif key is not None and not isinstance(key, (int, float)):
                yield f"{path} has a key of type {type(key).__name__}: JSON keys are strings."
            yield from _problems(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _problems(item, f"{path}[{index}]")
    else:
        yield (
            f"{path} is a {type(value).__name__}, which JSON cannot carry: pass dicts, "
            "lists, strings, numbers, booleans or None."
        )


def validate_body(value: object, name: str) -> None:
    """Refuse what JSON cannot carry anywhere in ``value`` (the parameter ``name``):
    NaN and ±Infinity, lone surrogates, objects that are not JSON types."""
    try:
        # The fast path, in C; only a failure walks the value to say where.
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError, RecursionError):
        pass
    else:
        return
    for problem in _problems(value, name):
        raise InvalidRequestError(problem)
    raise InvalidRequestError(f"{name} cannot be encoded as JSON.")


def validate_params(body: Mapping[str, Any]) -> None:
    """:func:`validate_body` for each field of a request body, named by its key."""
    try:
        json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError, RecursionError) as exc:
        for name, value in body.items():
            validate_body(value, name)  # says which field is at fault
        raise InvalidRequestError(f"The request body cannot be encoded as JSON: {exc}") from exc


def validate_extra_body(extra_body: object) -> None:
    """Refuse an ``extra_body`` that is not a mapping, or that sets what the client sets."""
    if extra_body is None:
        return
    if not isinstance(extra_body, Mapping):
        raise InvalidRequestError(
            f"extra_body must be a mapping of JSON fields, not {type(extra_body).__name__}."
        )
    for key, fix in _RESERVED_BODY_KEYS.items():
        if key in extra_body:
            raise InvalidRequestError(f"extra_body must not set {key!r}: {fix}.")
    validate_body(dict(extra_body), "extra_body")


def _is_token_id(item: object) -> bool:
    return isinstance(item, int) and not isinstance(item, bool) and item >= 0


def validate_prompt(value: object, name: str = "prompt") -> None:
    """Refuse a prompt (or embedding input) that is not a string, a list of strings, a
    list of token ids (ints >= 0, not bools) or a list of such lists."""
    if isinstance(value, str):
        return
    shape = (
        f"{name} must be a string, a list of strings, a list of token ids (ints >= 0) or a "
        "list of lists of token ids"
    )
    if not isinstance(value, list):
        raise InvalidRequestError(f"{shape}, not {type(value).__name__}.")
    if not value:
        raise InvalidRequestError(f"{shape}, not an empty list.")
    if all(isinstance(item, str) for item in value) or all(_is_token_id(i) for i in value):
        return
    for index, item in enumerate(value):
        if isinstance(item, list) and all(_is_token_id(i) for i in item):
            continue
        kind = "a string" if isinstance(item, str) else "a token id" if _is_token_id(item) else ""
        what = f"{kind}, mixed with other kinds of items" if kind else repr(item)[:80]
        raise InvalidRequestError(
            f"{shape}; {name}[{index}] is {what} ({type(item).__name__}). Pass one kind of "
            "item per list (e.g. decode bytes to str, round floats to ints)."
        )


def validate_message(message: object, index: int) -> dict[str, Any]:
    """A chat message as a JSON-ready dict, or an error naming what it lacks."""
    where = f"messages[{index}]"
    if not isinstance(message, Mapping):
        raise InvalidRequestError(
            f"{where} must be a {{'role': ..., 'content': ...}} mapping (or a message of an "
            f"earlier answer), not {type(message).__name__} ({message!r:.80})."
        )
    message = dict(message)
    role = message.get("role")
    if not isinstance(role, str) or not role:
        raise InvalidRequestError(
            f"{where} must have a 'role' string ('system', 'user', 'assistant', 'tool'...), "
            f"not {role!r}."
        )
    content = message.get("content")
    calls = message.get("tool_calls") or message.get("function_call")
    if content is None and not (role == "assistant" and calls):
        raise InvalidRequestError(
            f"{where} ({role!r}) has no 'content': add 'content': '...' (only an assistant "
            "message with 'tool_calls' may leave it out)."
        )
    if content is not None and not isinstance(content, (str, list)):
        raise InvalidRequestError(
            f"{where}['content'] must be a string or a list of content parts, "
            f"not {type(content).__name__}."
        )
    return message


def validate_options(options: Mapping[str, Any]) -> None:
    """Check a call's options (``RequestOptions``) that were given."""
    if "max_retries" in options:
        validate_max_retries(options["max_retries"])
    if "timeout" in options:
        validate_timeout(options["timeout"])
    for name in ("total_timeout", "stream_idle_timeout"):
        if name in options:
            validate_seconds(options[name], name)
    if "extra_headers" in options:
        validate_headers(options["extra_headers"], name="extra_headers")
    if "extra_body" in options:
        validate_extra_body(options["extra_body"])
