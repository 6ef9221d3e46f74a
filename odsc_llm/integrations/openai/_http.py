"""The HTTP clients the OpenAI SDK (and any OpenAI-compatible library) sends through.

Each is a plain ``httpx`` client whose auth is a :class:`DeploymentAuth` (routing, stream
preparation, no Bearer key, no other origin, then OCI signing), with a response hook that
marks ``409`` not retryable, no redirects, and odsc_llm's connection pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ... import _constants as C
from ..._errors import InvalidRequestError
from ..._transport import AsyncHTTPTransport, HTTPTransport
from ...deployment import Deployment
from ...types.params import Routing
from ._auth import DeploymentAuth, StreamEndpoint, _resolve_auth

__all__ = ["async_http_client", "http_client"]


def _mark_409_not_retryable(response: Any) -> None:
    # The OpenAI SDK retries 409 ("lock timeout"); on a deployment it is not transient.
    if response.status_code == 409:
        response.headers["x-should-retry"] = "false"


async def _amark_409_not_retryable(response: Any) -> None:
    _mark_409_not_retryable(response)


def _client_kwargs(
    auth: DeploymentAuth,
    httpx_kwargs: dict[str, Any],
    hook: Callable[[Any], Any],
) -> dict[str, Any]:
    if "auth" in httpx_kwargs:
        raise InvalidRequestError("Pass auth= as the second argument, not among the httpx options.")
    if httpx_kwargs.get("follow_redirects"):
        raise InvalidRequestError(
            "follow_redirects=True is not supported: httpx does not re-sign a redirected "
            "request, and a deployment does not redirect."
        )
    hooks: dict[str, list[Callable[..., Any]]] = {
        key: list(value) for key, value in dict(httpx_kwargs.pop("event_hooks", None) or {}).items()
    }
    hooks.setdefault("response", []).insert(0, hook)
    return {**httpx_kwargs, "auth": auth, "follow_redirects": False, "event_hooks": hooks}


#: httpx options that choose another transport than a plain HTTP/1.1 one: with any of
#: them, httpx builds its own (a caller's ``transport=``, a proxy, HTTP/2, a socket file).
_OWN_TRANSPORT_OPTIONS = ("transport", "proxy", "proxies", "mounts", "http2", "uds", "app")


def _with_transport(
    httpx_kwargs: dict[str, Any], transport: type[HTTPTransport | AsyncHTTPTransport]
) -> None:
    """Give the httpx client odsc_llm's transport (its pool), built from the same
    options httpx would use, unless the options ask for another transport."""
    if any(httpx_kwargs.get(name) for name in _OWN_TRANSPORT_OPTIONS):
        return
    httpx_kwargs["transport"] = transport(
        verify=httpx_kwargs.pop("verify", True),
        cert=httpx_kwargs.pop("cert", None),
        trust_env=httpx_kwargs.get("trust_env", True),
        limits=httpx_kwargs.pop("limits", C.DEFAULT_LIMITS),  # as the clients' pools
    )


def _deployment_auth(
    deployment: Deployment | str,
    auth: httpx.Auth | None,
    routing: Routing,
    stream_endpoint: StreamEndpoint,
) -> DeploymentAuth:
    return DeploymentAuth(
        _resolve_auth(auth), deployment, routing=routing, stream_endpoint=stream_endpoint
    )


def http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = "header",
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    **httpx_kwargs: Any,
) -> httpx.Client:
    """An ``httpx.Client`` that signs and adapts OpenAI-style requests for ``deployment``.

    Pass it as ``http_client=`` to any OpenAI-compatible library, with ``base_url`` set to
    :func:`base_url` ``(deployment)``. ``auth=None`` uses :func:`odsc_llm.auth.default`.
    ``routing="header"`` (the default) sends ``{endpoint}/predict/v1/...`` to
    ``{endpoint}/predict`` with a ``route: /v1/...`` header, which every deployment
    routes; ``routing="path"`` keeps the path form (deployments with Multiple Inference
    Endpoints only). Other keyword arguments go to ``httpx.Client`` (``limits``,
    ``transport``, ``proxy``...). Without a ``transport=``, its pool is odsc_llm's (one
    connection per request, a linear pass; see ``Client``).
    """
    signing = _deployment_auth(deployment, auth, routing, stream_endpoint)
    _with_transport(httpx_kwargs, HTTPTransport)
    return httpx.Client(**_client_kwargs(signing, httpx_kwargs, _mark_409_not_retryable))


def async_http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = "header",
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    **httpx_kwargs: Any,
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` twin of :func:`http_client`."""
    signing = _deployment_auth(deployment, auth, routing, stream_endpoint)
    _with_transport(httpx_kwargs, AsyncHTTPTransport)
    return httpx.AsyncClient(**_client_kwargs(signing, httpx_kwargs, _amark_409_not_retryable))
