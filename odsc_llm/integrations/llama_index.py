"""LlamaIndex: ``OpenAILike`` (chat, tools) and ``OpenAILikeEmbedding`` over a deployment.

LlamaIndex's OpenAI-compatible classes already speak the deployment's API; they only
need its ``base_url`` and HTTP clients that sign each request (see
:mod:`odsc_llm.integrations.openai`)::

    from odsc_llm.integrations.llama_index import embedding, llm

    model = llm(deployment, auth=odsc_llm.auth.api_key(), temperature=0.2)
    model.complete("What is OCI?").text
    vectors = embedding(deployment).get_text_embedding_batch(["a", "b"])

Needs ``pip install 'odsc-llm[llama-index]'`` (``llama-index-llms-openai-like``,
``llama-index-embeddings-openai-like``). LlamaIndex's OpenAI packages require
``openai<3``: install them in an environment of their own, not beside pydantic-ai or
the Agents SDK (which require openai 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from .._constants import DEFAULT_MODEL, DEFAULT_ROUTING
from .._errors import InvalidRequestError
from ..auth import resolve
from ..deployment import Deployment
from ..types.params import Routing
from ._extras import require
from .openai import _PLACEHOLDER_API_KEY, async_http_client, base_url, http_client

if TYPE_CHECKING:
    from llama_index.embeddings.openai_like import OpenAILikeEmbedding
    from llama_index.llms.openai_like import OpenAILike

__all__ = ["embedding", "llm"]

_OWNED = ("api_base", "api_key", "http_client", "async_http_client")


def _wiring(
    deployment: Deployment | str,
    auth: httpx.Auth | None,
    routing: Routing,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The arguments odsc_llm sets: the base URL, no API key, the signing HTTP clients."""
    for name in _OWNED:
        if name in settings:
            raise InvalidRequestError(
                f"Do not pass {name}=: the base URL comes from the deployment and requests "
                "are signed with OCI credentials (pass auth=; http_client() / "
                "async_http_client() of odsc_llm.integrations.openai build custom clients)."
            )
    dep = Deployment.coerce(deployment)
    signing = resolve(auth)  # resolved once: both clients share one signer
    # LlamaIndex declares httpx clients (and passes them to openai<3, which sends
    # through httpx), so they are httpx ones whatever openai release is installed.
    return {
        "api_base": base_url(dep, routing=routing),
        "api_key": _PLACEHOLDER_API_KEY,
        "http_client": http_client(dep, signing, routing=routing, flavor="httpx"),
        "async_http_client": async_http_client(dep, signing, routing=routing, flavor="httpx"),
    }


def llm(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = DEFAULT_ROUTING,
    **settings: Any,
) -> OpenAILike:
    """A LlamaIndex ``OpenAILike`` chat model for ``deployment``, every request OCI-signed.

    Args:
        deployment: a :class:`~odsc_llm.Deployment`, its URL or its OCID.
        auth: an :class:`odsc_llm.auth.OCIAuth` (``None``: :func:`odsc_llm.auth.default`).
        routing: ``"header"`` (every deployment) or ``"path"`` (Multiple Inference
            Endpoints deployments only).
        **settings: passed to ``OpenAILike`` (``temperature``, ``max_tokens``,
            ``context_window``, ``max_retries``, ``timeout``...). ``model`` defaults to
            ``"odsc-llm"``; ``is_chat_model`` and ``is_function_calling_model`` to ``True``
            (a deployment serves chat completions with tool calling, e.g. vLLM with
            ``--enable-auto-tool-choice``), so agents and ``structured_predict`` use tools.
    """
    require("llama_index.llms.openai_like", "llama-index", "llama_index")
    from llama_index.llms.openai_like import OpenAILike

    kwargs: dict[str, Any] = {
        "model": DEFAULT_MODEL,
        "is_chat_model": True,
        "is_function_calling_model": True,
        **settings,
        **_wiring(deployment, auth, routing, settings),
    }
    return OpenAILike(**kwargs)


def embedding(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = DEFAULT_ROUTING,
    **settings: Any,
) -> OpenAILikeEmbedding:
    """A LlamaIndex ``OpenAILikeEmbedding`` for an embedding ``deployment``, OCI-signed.

    ``**settings`` go to ``OpenAILikeEmbedding`` (``embed_batch_size``, ``dimensions``,
    ``max_retries``, ``timeout``...); ``model_name`` defaults to ``"odsc-llm"``. Other
    arguments as :func:`llm`.
    """
    require("llama_index.embeddings.openai_like", "llama-index", "llama_index")
    from llama_index.embeddings.openai_like import OpenAILikeEmbedding

    kwargs: dict[str, Any] = {
        "model_name": DEFAULT_MODEL,
        **settings,
        **_wiring(deployment, auth, routing, settings),
    }
    return OpenAILikeEmbedding(**kwargs)
