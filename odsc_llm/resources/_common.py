"""What the resource classes share: turning ``create(...)`` arguments into a request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .._errors import InvalidRequestError
from .._validation import (
    validate_extra_body,
    validate_message,
    validate_params,
    validate_prompt,
)
from ..types.params import RequestOptions

if TYPE_CHECKING:
    from .._async_client import AsyncClient
    from .._client import Client

__all__ = ["APIResource", "AsyncAPIResource", "split_params"]

_OPTION_KEYS = frozenset(RequestOptions.__optional_keys__)
# Required arguments that are prompts: a string, strings or token ids.
_PROMPT_KEYS = frozenset({"prompt", "input"})


def split_params(
    method: str,
    required: Mapping[str, Any],
    params: Mapping[str, Any],
    allowed: frozenset[str],
    stream: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(JSON body, call options) from a ``create`` call's arguments, all checked.

    ``None`` values are left out of the body; unknown names are a TypeError naming
    ``extra_body`` as the place for server-specific parameters. Anything that cannot be
    sent (NaN, a lone surrogate, a bad prompt item, a header with CR/LF, ``extra_body``
    setting ``stream``...) is an :class:`~odsc_llm.InvalidRequestError`, raised here,
    before anything is encoded or sent.
    """
    unknown = params.keys() - allowed
    if unknown:
        names = ", ".join(sorted(unknown))
        raise InvalidRequestError(
            f"{method}() got unexpected keyword argument(s): {names}. Pass server-specific "
            f"parameters in extra_body={{...}}."
        )
    for name in _PROMPT_KEYS & required.keys():
        validate_prompt(required[name], name)
    # No "model" unless given: the client adds its default (Client(model=...), else
    # DEFAULT_MODEL) first in the body when it encodes it.
    model = params.get("model")
    body: dict[str, Any] = dict(required) if model is None else {"model": model, **required}
    options: dict[str, Any] = {}
    for name, value in params.items():
        if name in _OPTION_KEYS:
            options[name] = value
        elif value is not None:
            body[name] = value
    validate_params(body)  # the options are checked by the client, on every path
    if stream:
        body["stream"] = True
    extra_body = options.get("extra_body")
    if extra_body is not None:
        validate_extra_body(extra_body)  # before it is merged into the body
        body.update(extra_body)
    return body, options


def as_messages(messages: Iterable[Any]) -> list[Any]:
    """Messages as JSON-ready dicts, each checked (pydantic messages from earlier answers
    are welcome as they are)."""
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Iterable):
        raise InvalidRequestError(
            "messages must be a list of {'role': ..., 'content': ...} dicts, "
            f"not {type(messages).__name__}."
        )
    out = [
        m.model_dump(mode="json", exclude_none=True)
        if isinstance(m, BaseModel)
        else validate_message(m, index)
        for index, m in enumerate(messages)
    ]
    if not out:
        raise InvalidRequestError("messages must not be empty: pass at least one message.")
    return out


def allowed_keys(params_type: Any) -> frozenset[str]:
    """The keyword names a TypedDict of parameters accepts."""
    return frozenset(params_type.__optional_keys__) | frozenset(params_type.__required_keys__)


class APIResource:
    """A group of operations of the synchronous client.

    Named as scripts/unasync.py names the twin of :class:`AsyncAPIResource` (``AsyncX``
    becomes ``X``): the sync resources are generated from the async ones."""

    def __init__(self, client: Client, *, raw: bool = False) -> None:
        self._client = client
        self._raw = raw


class AsyncAPIResource:
    """A group of operations of the asynchronous client."""

    def __init__(self, client: AsyncClient, *, raw: bool = False) -> None:
        self._client = client
        self._raw = raw
