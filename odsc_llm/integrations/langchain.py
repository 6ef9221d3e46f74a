"""LangChain: ``langchain_openai.ChatOpenAI`` and ``OpenAIEmbeddings`` on a model deployment.

No new model class: LangChain's own ``ChatOpenAI`` already speaks the deployment's
OpenAI-compatible API; it only needs the deployment's ``base_url`` and HTTP clients that
sign each request the OCI way (see :mod:`odsc_llm.integrations.openai`)::

    from odsc_llm.integrations.langchain import chat_model, embeddings

    auth = odsc_llm.auth.api_key()
    llm = chat_model(deployment, auth=auth, temperature=0.2)
    llm.invoke("What is OCI?").content
    for chunk in llm.stream("Tell me a story"):
        print(chunk.content, end="")
    vectors = embeddings(deployment, auth=auth).embed_documents(["a", "b"])

Both work with openai 1.x (httpx) to 3.x (httpx2) and take ``routing`` (``"header"`` by
default; ``"path"`` for Multiple Inference Endpoints deployments). Needs
``pip install 'odsc-llm[langchain]'`` (``langchain-openai``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from .._constants import DEFAULT_MODEL
from .._errors import InvalidRequestError
from .._validation import validate_routing
from ..deployment import Deployment
from ..types.params import Routing
from .openai import (
    _PLACEHOLDER_API_KEY,
    StreamEndpoint,
    async_http_client,
    base_url,
    http_client,
)
from .openai._auth import _resolve_auth

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI, OpenAIEmbeddings

__all__ = ["chat_model", "embeddings"]


def _langchain_openai() -> Any:
    try:
        import langchain_openai
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "odsc_llm.integrations.langchain needs `langchain-openai`, which is not "
            "installed. Install the extra: pip install 'odsc-llm[langchain]'"
        ) from exc
    return langchain_openai


def _signed_kwargs(
    builder: str,
    deployment: Deployment | str,
    auth: httpx.Auth | None,
    routing: Routing,
    stream_endpoint: StreamEndpoint,
    user_kwargs: dict[str, Any],
) -> dict[str, Any]:
    """``user_kwargs`` checked, plus the deployment's base URL, the placeholder key and
    the OCI-signing HTTP clients (of the flavor the installed openai sends through)."""
    for name in ("base_url", "openai_api_base", "api_key", "openai_api_key"):
        if name in user_kwargs:
            raise InvalidRequestError(
                f"Do not pass {name}=: the base URL comes from the deployment and requests "
                "are signed with OCI credentials (pass auth=)."
            )
    for name in ("http_client", "http_async_client"):
        if name in user_kwargs:
            raise InvalidRequestError(
                f"Do not pass {name}=: {builder} builds OCI-signing clients itself. Build "
                "the LangChain class yourself with odsc_llm.integrations.openai."
                "http_client() / async_http_client() to customise them."
            )
    validate_routing(routing)
    dep = Deployment.coerce(deployment)
    signing = _resolve_auth(auth)
    options: dict[str, Any] = {"routing": routing, "stream_endpoint": stream_endpoint}
    return {
        "model": DEFAULT_MODEL,
        **user_kwargs,
        "base_url": base_url(dep),
        "api_key": _PLACEHOLDER_API_KEY,
        "http_client": http_client(dep, signing, **options),
        "http_async_client": async_http_client(dep, signing, **options),
    }


def chat_model(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = "header",
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    **chat_openai_kwargs: Any,
) -> ChatOpenAI:
    """A ``langchain_openai.ChatOpenAI`` for ``deployment``, every request OCI-signed.

    ``auth`` is an :class:`odsc_llm.auth.OCIAuth` (``None``: :func:`odsc_llm.auth.default`).
    ``routing="header"`` (the default) works on every deployment; ``"path"`` only on
    deployments with Multiple Inference Endpoints (see
    :func:`odsc_llm.integrations.openai.http_client`). Other keyword arguments go to
    ``ChatOpenAI`` (``temperature``, ``max_tokens``, ``max_retries``, ``timeout``,
    ``streaming``...). ``model`` defaults to ``"odsc-llm"`` and ``use_responses_api`` to
    ``False`` (deployments serve chat completions, not the Responses API).
    """
    chat_class = _langchain_openai().ChatOpenAI
    kwargs = _signed_kwargs(
        "chat_model",
        deployment,
        auth,
        routing,
        stream_endpoint,
        {"use_responses_api": False, **chat_openai_kwargs},
    )
    model: ChatOpenAI = chat_class(**kwargs)
    return model


def embeddings(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = "header",
    **embeddings_kwargs: Any,
) -> OpenAIEmbeddings:
    """A ``langchain_openai.OpenAIEmbeddings`` for ``deployment``, every request OCI-signed.

    ``auth`` and ``routing`` as for :func:`chat_model`. Other keyword arguments go to
    ``OpenAIEmbeddings`` (``chunk_size``, ``dimensions``, ``max_retries``...); ``model``
    defaults to ``"odsc-llm"``. ``check_embedding_ctx_length`` defaults to ``False``:
    with it, LangChain tokenizes the texts with OpenAI's tiktoken and sends token ids,
    which the deployment's own model would read as other tokens (and tiktoken downloads
    its tables from the internet); the texts are sent as they are.
    """
    embeddings_class = _langchain_openai().OpenAIEmbeddings
    kwargs = _signed_kwargs(
        "embeddings",
        deployment,
        auth,
        routing,
        "predictWithResponseStream",  # embeddings never stream
        {"check_embedding_ctx_length": False, **embeddings_kwargs},
    )
    model: OpenAIEmbeddings = embeddings_class(**kwargs)
    return model
