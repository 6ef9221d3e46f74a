"""``client.completions.batch`` / ``client.chat.completions.batch``: the glue to the engine."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from .. import _constants as C
from .._errors import InvalidRequestError
from ..types.params import ChatCompletionCreateParams, CompletionCreateParams
from ._control import Concurrency, Controller
from ._results import BatchResult, ItemId
from ._runner import run_batch, run_sync

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .._async_client import AsyncClient
    from .._client import Client

__all__ = [
    "BatchOptions",
    "ChatCompletionBatchParams",
    "CompletionBatchParams",
    "abatch",
    "batch_from_sync",
]


class BatchOptions(TypedDict, total=False):
    """How a batch runs (see :func:`run_batch`); the rest of the keywords go to ``create``."""

    concurrency: Concurrency
    max_concurrency: int
    rate_limit: float | None
    fail_fast: bool
    progress: bool
    resume_file: str | os.PathLike[str] | None
    ids: Sequence[ItemId] | None
    retry_failed: bool


class CompletionBatchParams(CompletionCreateParams, BatchOptions, total=False):
    """Keywords of ``completions.batch``: batch options plus ``completions.create``'s."""


class ChatCompletionBatchParams(ChatCompletionCreateParams, BatchOptions, total=False):
    """Keywords of ``chat.completions.batch``: batch options plus ``create``'s."""


_BATCH_KEYS = frozenset(BatchOptions.__optional_keys__)
ModelT = TypeVar("ModelT", bound="BaseModel")


def check_inputs(key: str, inputs: Iterable[Any]) -> list[Any]:
    """The batch's items as a list, refusing a single prompt or conversation.

    A ``str`` or ``bytes`` iterates by character (one billed request each) and a dict by
    key, so neither is taken as a list of items. For chat, an item that is a message (a
    dict or a message object with a ``role``) or a string means one conversation, or
    prompts, were passed where a list of conversations is expected.
    """
    what = "prompts" if key == "prompt" else "conversations (each a list of messages)"
    if isinstance(inputs, (str, bytes, bytearray, Mapping)) or not isinstance(inputs, Iterable):
        example = "batch([prompt])" if key == "prompt" else "batch([messages])"
        raise InvalidRequestError(
            f"batch() takes a list of {what}, not a {type(inputs).__name__}: it would send "
            f"one request per {'key' if isinstance(inputs, Mapping) else 'element'}. "
            f"For a single one, pass a list of one: {example}."
        )
    items = list(inputs)
    if key == "messages":
        for index, item in enumerate(items):
            if isinstance(item, Mapping) or hasattr(item, "role"):
                raise InvalidRequestError(
                    f"batch() takes a list of conversations, each a list of messages; item "
                    f"{index} is a message ({type(item).__name__}), so this looks like one "
                    "conversation. Wrap it: chat.completions.batch([messages])."
                )
            if isinstance(item, (str, bytes)):
                raise InvalidRequestError(
                    f"batch() takes a list of conversations, each a list of messages; item "
                    f"{index} is a {type(item).__name__}. Send prompts as "
                    "[[{'role': 'user', 'content': p}] for p in prompts], or use "
                    "completions.batch(prompts)."
                )
    return items


async def abatch(
    create: Callable[..., Awaitable[ModelT]],
    key: str,
    inputs: Iterable[Any],
    model: type[ModelT],
    params: Any,
    *,
    max_retries: int,
    controller: Controller | None = None,
) -> BatchResult[ModelT]:
    """Run ``await create(**{key: value}, **params)`` for each input as one batch.

    ``params`` mixes :class:`BatchOptions` keys (for :func:`run_batch`) with the
    parameters of ``create``, which apply to every item. ``max_retries`` is the client's
    (a ``max_retries`` in ``params`` wins): the engine retries, each item's ``create``
    runs with ``max_retries=0``, so every 429/503 reaches the concurrency controller.
    Resumed results are decoded with ``model.model_validate``. ``controller``: see
    :func:`run_batch`.
    """
    items = check_inputs(key, inputs)
    call_params = {k: v for k, v in dict(params).items() if k not in _BATCH_KEYS}
    options = {k: v for k, v in dict(params).items() if k in _BATCH_KEYS}
    if "stream" in call_params:
        raise InvalidRequestError(
            "batch() does not stream: drop stream=; each item is one request."
        )
    retries = call_params.pop("max_retries", max_retries)
    call_params["max_retries"] = 0

    async def call(value: Any) -> ModelT:
        return await create(**{key: value}, **call_params)

    return await run_batch(
        call,
        items,
        decode=model.model_validate,
        max_retries=retries,
        # Never more in flight than the client's connection pool holds.
        pool_size=C.DEFAULT_LIMITS.max_connections,
        controller=controller,
        **options,
    )


def batch_from_sync(
    client: Client,
    create_of: Callable[[AsyncClient], Callable[..., Awaitable[ModelT]]],
    key: str,
    inputs: Iterable[Any],
    model: type[ModelT],
    params: Any,
) -> BatchResult[ModelT]:
    """The sync ``batch``: an AsyncClient twin of ``client`` runs :func:`abatch`.

    ``create_of`` picks the async ``create`` of the twin (e.g.
    ``lambda c: c.completions.create``). Works inside a running event loop too (see
    :func:`run_sync`). The twin does not reuse an ``http_client`` passed to ``client``:
    it opens (and closes) its own connections.
    """
    items = check_inputs(key, inputs)  # before anything starts

    async def main() -> BatchResult[ModelT]:
        async with client._async_twin() as aclient:
            return await abatch(
                create_of(aclient), key, items, model, params, max_retries=client.max_retries
            )

    return run_sync(main())
