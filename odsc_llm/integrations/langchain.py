"""LangChain: ``langchain_openai.ChatOpenAI`` talking to a model deployment.

No new chat model class: LangChain's own ``ChatOpenAI`` already speaks the deployment's
OpenAI-compatible API; it only needs the deployment's ``base_url`` and HTTP clients that
sign each request the OCI way (see :mod:`odsc_llm.integrations.openai`)::

    from odsc_llm.integrations.langchain import chat_model

    llm = chat_model(deployment, auth=odsc_llm.auth.api_key(), temperature=0.2)
    llm.invoke("What is OCI?").content
    for chunk in llm.stream("Tell me a story"):
        print(chunk.content, end="")

Needs ``pip install 'odsc-llm[langchain]'`` (``langchain-openai``).
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
    from langchain_openai import ChatOpenAI

__all__ = ["chat_model"]


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
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "odsc_llm.integrations.langchain needs `langchain-openai`, which is not "
            "installed. Install the extra: pip install 'odsc-llm[langchain]'"
        ) from exc
    for name in ("base_url", "openai_api_base", "api_key", "openai_api_key"):
        if name in chat_openai_kwargs:
            raise InvalidRequestError(
                f"Do not pass {name}=: the base URL comes from the deployment and requests "
                "are signed with OCI credentials (pass auth=)."
            )
    for name in ("http_client", "http_async_client"):
        if name in chat_openai_kwargs:
            raise InvalidRequestError(
                f"Do not pass {name}=: chat_model builds OCI-signing clients itself. Build "
                "ChatOpenAI yourself with odsc_llm.integrations.openai.http_client() / "
                "async_http_client() to customise them."
            )
    validate_routing(routing)
    dep = Deployment.coerce(deployment)
    signing = _resolve_auth(auth)
    options: dict[str, Any] = {"routing": routing, "stream_endpoint": stream_endpoint}
    kwargs: dict[str, Any] = {
        "model": DEFAULT_MODEL,
        "use_responses_api": False,
        **chat_openai_kwargs,
        "base_url": base_url(dep),
        "api_key": _PLACEHOLDER_API_KEY,
        "http_client": http_client(dep, signing, **options),
        "http_async_client": async_http_client(dep, signing, **options),
    }
    model: ChatOpenAI = ChatOpenAI(**kwargs)
    return model
