"""LiteLLM: a custom provider, so ``model="odsc/<deployment>"`` reaches a deployment.

:func:`register` adds a LiteLLM ``CustomLLM`` under the provider name ``"odsc"``; after it,
``litellm.completion`` / ``acompletion`` (streamed or not), ``litellm.embedding`` /
``aembedding``, LiteLLM's ``Router`` and everything built on LiteLLM (DSPy...) reach the
deployment named after the prefix, a URL or an OCID::

    from odsc_llm.integrations import litellm as odsc_litellm
    import litellm

    odsc_litellm.register(auth=odsc_llm.auth.api_key())
    litellm.completion(model=f"odsc/{deployment_url}", messages=[...])

Each request goes through :func:`odsc_llm.integrations.openai.openai_client` (one client
per deployment, kept), so it is signed by odsc_llm and never carries an API key. For the
LiteLLM proxy, point ``custom_provider_map`` of its config at an object made by
:func:`handler` (``odsc = handler()`` in a module of yours).

LiteLLM fetches a model price list from the internet when imported, unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set; importing this module sets it (when unset), so
import it before ``litellm``: notebook sessions and jobs often have no internet access
(the fetch then stalls the import with retries), and deployments are not in that list.

Needs ``pip install 'odsc-llm[litellm]'``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .._constants import DEFAULT_MODEL, DEFAULT_ROUTING, LITELLM_PROVIDER
from .._errors import InvalidRequestError
from .._validation import validate_routing
from ..auth import resolve
from ..types.params import Routing
from ._extras import require
from .openai import async_openai_client, openai_client

if TYPE_CHECKING:
    import openai
    from litellm.llms.custom_llm import CustomLLM

__all__ = ["handler", "register"]

_Client = TypeVar("_Client", "openai.OpenAI", "openai.AsyncOpenAI")

# What a completion call sends besides these comes from LiteLLM's optional_params.
# max_retries is a client setting (DSPy passes its num_retries there), not a body field.
_OWN_PARAMS = ("stream", "model", "messages", "max_retries")


# Set when this module is imported, so that it holds for a ``import litellm`` after it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _import_litellm() -> Any:
    return require("litellm", "litellm", "litellm")


def _body(optional_params: dict[str, Any]) -> dict[str, Any]:
    """The request's other fields: LiteLLM's optional parameters, its extra_body merged."""
    body = {k: v for k, v in optional_params.items() if k not in _OWN_PARAMS}
    body.update(body.pop("extra_body", None) or {})
    return body


class _Clients:
    """The OpenAI clients of each deployment: one sync client, one async client per loop
    (an async client's connections belong to the event loop that opened them)."""

    def __init__(self, auth: httpx.Auth, routing: Routing, openai_kwargs: dict[str, Any]) -> None:
        self._auth = auth
        self._routing = routing
        self._openai_kwargs = openai_kwargs
        self._lock = threading.Lock()
        self._sync: dict[str, openai.OpenAI] = {}
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, openai.AsyncOpenAI]
        ] = weakref.WeakKeyDictionary()

    def sync(self, call: dict[str, Any]) -> openai.OpenAI:
        """The client for LiteLLM's call arguments ``call`` (its ``model``: the deployment)."""
        deployment = call["model"]
        with self._lock:
            client = self._sync.get(deployment)
            if client is None:
                client = openai_client(
                    deployment, self._auth, routing=self._routing, **self._openai_kwargs
                )
                self._sync[deployment] = client
        return _with_retries(client, call)

    def async_(self, call: dict[str, Any]) -> openai.AsyncOpenAI:
        """The async twin of :meth:`sync`, for the running event loop."""
        deployment = call["model"]
        loop = asyncio.get_running_loop()
        with self._lock:
            clients = self._async.setdefault(loop, {})
            client = clients.get(deployment)
            if client is None:
                client = async_openai_client(
                    deployment, self._auth, routing=self._routing, **self._openai_kwargs
                )
                clients[deployment] = client
        return _with_retries(client, call)


def _with_retries(client: _Client, call: dict[str, Any]) -> _Client:
    """``client``, with the call's ``max_retries`` (LiteLLM's, or DSPy's num_retries) if any."""
    retries = (call.get("optional_params") or {}).get("max_retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 0:
        return client.with_options(max_retries=retries)
    return client


def handler(
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = DEFAULT_ROUTING,
    model_name: str = DEFAULT_MODEL,
    **openai_kwargs: Any,
) -> CustomLLM:
    """A LiteLLM ``CustomLLM`` that sends ``"<provider>/<deployment>"`` models to the deployment.

    Args:
        auth: an :class:`odsc_llm.auth.OCIAuth` (``None``: :func:`odsc_llm.auth.default`),
            used for every deployment this handler reaches.
        routing: ``"header"`` (every deployment) or ``"path"`` (Multiple Inference
            Endpoints deployments only).
        model_name: the served model's name sent in each request (``"odsc-llm"`` on a
            single-model deployment; ``extra_body={"model": ...}`` overrides it per call).
        **openai_kwargs: passed to :func:`odsc_llm.openai_client` (``max_retries``...).

    :func:`register` installs one; use this for the LiteLLM proxy's ``custom_provider_map``.
    """
    _import_litellm()
    validate_routing(routing)
    from litellm.llms.custom_llm import CustomLLM
    from litellm.types.utils import EmbeddingResponse, ModelResponse, ModelResponseStream

    clients = _Clients(resolve(auth), routing, openai_kwargs)  # resolved once: one signer

    def chat_args(kwargs: dict[str, Any], stream: bool) -> dict[str, Any]:
        return {
            "model": model_name,
            "messages": kwargs["messages"],
            "stream": stream,
            "extra_body": _body(kwargs.get("optional_params") or {}),
            "extra_headers": kwargs.get("headers") or None,
            "timeout": kwargs.get("timeout"),
        }

    def embedding_args(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": model_name,
            "input": kwargs["input"],
            "extra_body": _body(kwargs.get("optional_params") or {}),
            "timeout": kwargs.get("timeout"),
        }

    # LiteLLM calls these with keyword arguments only (model, messages, optional_params,
    # headers, timeout, and more that a deployment does not need: api_key, api_base...).
    # (misc: without litellm installed, mypy sees CustomLLM as Any.)
    class OCIDeploymentLLM(CustomLLM):  # type: ignore[misc, unused-ignore]
        """LiteLLM's provider for OCI Data Science model deployments (odsc_llm)."""

        def completion(self, *args: Any, **kwargs: Any) -> Any:
            answer = clients.sync(kwargs).chat.completions.create(**chat_args(kwargs, False))
            return ModelResponse(**answer.model_dump())

        def streaming(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            stream = clients.sync(kwargs).chat.completions.create(**chat_args(kwargs, True))
            with stream:
                for chunk in stream:
                    yield ModelResponseStream(**chunk.model_dump())

        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            client = clients.async_(kwargs)
            answer = await client.chat.completions.create(**chat_args(kwargs, False))
            return ModelResponse(**answer.model_dump())

        # (override: LiteLLM declares a coroutine but iterates what it gets, a generator.)
        async def astreaming(  # type: ignore[override, unused-ignore]
            self, *args: Any, **kwargs: Any
        ) -> AsyncIterator[Any]:
            client = clients.async_(kwargs)
            stream = await client.chat.completions.create(**chat_args(kwargs, True))
            async with stream:
                async for chunk in stream:
                    yield ModelResponseStream(**chunk.model_dump())

        def embedding(self, *args: Any, **kwargs: Any) -> Any:
            answer = clients.sync(kwargs).embeddings.create(**embedding_args(kwargs))
            return EmbeddingResponse(**answer.model_dump())

        async def aembedding(self, *args: Any, **kwargs: Any) -> Any:
            client = clients.async_(kwargs)
            answer = await client.embeddings.create(**embedding_args(kwargs))
            return EmbeddingResponse(**answer.model_dump())

    made: CustomLLM = OCIDeploymentLLM()
    return made


def register(
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = DEFAULT_ROUTING,
    provider: str = LITELLM_PROVIDER,
    model_name: str = DEFAULT_MODEL,
    **openai_kwargs: Any,
) -> None:
    """Let LiteLLM reach model deployments as ``model="odsc/<deployment URL or OCID>"``.

    Adds (or replaces) the provider ``provider`` in ``litellm.custom_provider_map`` with a
    :func:`handler` built from the same arguments. Calling it again replaces the handler
    (another ``auth``, ``routing``...).
    """
    if not provider or "/" in provider:
        raise InvalidRequestError(
            f"provider must be a non-empty name without '/', got {provider!r}: LiteLLM "
            "reads the provider as the part of model= before the first '/'."
        )
    made = handler(auth, routing=routing, model_name=model_name, **openai_kwargs)
    litellm = _import_litellm()
    others = [entry for entry in litellm.custom_provider_map if entry.get("provider") != provider]
    litellm.custom_provider_map = [*others, {"provider": provider, "custom_handler": made}]
    from litellm.utils import custom_llm_setup

    # The provider is known from now on, before a first completion (a Router needs it).
    custom_llm_setup()  # type: ignore[no-untyped-call, unused-ignore]
