"""The HTTP clients the OpenAI SDK (and any OpenAI-compatible library) sends through.

Each is a plain ``httpx`` or ``httpx2`` client (``flavor``; by default what the installed
openai sends through) whose auth is a :class:`DeploymentAuth` (routing, stream
preparation, no Bearer key, no other origin, then OCI signing; for httpx2 through
:func:`odsc_llm.auth.for_httpx2`'s adapter), with a response hook that marks ``409`` not
retryable and no redirects. An httpx client gets odsc_llm's connection pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

import httpx

from ... import _constants as C
from ..._transport import AsyncHTTPTransport, HTTPTransport
from ...deployment import Deployment
from ...types.params import Routing
from ._auth import StreamEndpoint
from ._options import (
    ClientKind,
    Flavor,
    client_kwargs,
    deployment_auth,
    resolve_flavor,
    response_hook,
)

if TYPE_CHECKING:
    import httpx2

__all__ = ["async_http_client", "http_client"]

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


def _httpx2_module() -> Any:
    try:
        from . import _httpx2
    except ImportError as exc:
        raise ImportError(
            "flavor='httpx2' needs the `httpx2` package, which is not installed. Install "
            "the extra: pip install 'odsc-llm[httpx2]' (or pass flavor='httpx')."
        ) from exc
    return _httpx2


_TRANSPORTS: dict[ClientKind, type[HTTPTransport | AsyncHTTPTransport]] = {
    "Client": HTTPTransport,
    "AsyncClient": AsyncHTTPTransport,
}


def _build(
    kind: ClientKind,
    deployment: Deployment | str,
    auth: httpx.Auth | None,
    routing: Routing,
    stream_endpoint: StreamEndpoint,
    flavor: Flavor | None,
    httpx_kwargs: dict[str, Any],
) -> Any:
    """The body of :func:`http_client` and :func:`async_http_client`: a client of class
    ``kind`` (``Client``/``AsyncClient``) of the flavor's library."""
    signing = deployment_auth(deployment, auth, routing, stream_endpoint)
    if resolve_flavor(flavor) == "httpx2":
        return _httpx2_module().client(kind, signing, httpx_kwargs)
    _with_transport(httpx_kwargs, _TRANSPORTS[kind])
    return getattr(httpx, kind)(**client_kwargs(signing, httpx_kwargs, response_hook(kind)))


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
@overload
def http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = ...,
    *,
    routing: Routing = ...,
    stream_endpoint: StreamEndpoint = ...,
    flavor: Literal["httpx"],
    **httpx_kwargs: Any,
) -> httpx.Client: ...
@overload
def http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = ...,
    *,
    routing: Routing = ...,
    stream_endpoint: StreamEndpoint = ...,
    flavor: Literal["httpx2"],
    **httpx_kwargs: Any,
) -> httpx2.Client: ...
@overload
def http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = ...,
    *,
    routing: Routing = ...,
    stream_endpoint: StreamEndpoint = ...,
    flavor: None = ...,
    **httpx_kwargs: Any,
) -> httpx.Client | httpx2.Client: ...
def http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = "header",
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    flavor: Flavor | None = None,
    **httpx_kwargs: Any,
) -> httpx.Client | httpx2.Client:
    """An HTTP client that signs and adapts OpenAI-style requests for ``deployment``.

    Pass it as ``http_client=`` to any OpenAI-compatible library, with ``base_url`` set to
    :func:`base_url` ``(deployment)``. ``auth=None`` uses :func:`odsc_llm.auth.default`.
    ``routing="header"`` (the default) sends ``{endpoint}/predict/v1/...`` to
    ``{endpoint}/predict`` with a ``route: /v1/...`` header, which every deployment
    routes; ``routing="path"`` keeps the path form (deployments with Multiple Inference
    Endpoints only).

    ``flavor`` picks the library: ``"httpx"`` (an ``httpx.Client``), ``"httpx2"`` (an
    ``httpx2.Client``; ``pip install 'odsc-llm[httpx2]'``), or ``None`` (the default):
    what the installed ``openai`` sends through, httpx2 for openai >= 2, httpx for 1.x.
    Other keyword arguments go to the client (``limits``, ``timeout``, ``transport``,
    ``proxy``...). An httpx client without ``transport=`` gets odsc_llm's pool (one
    connection per request, a linear pass; see ``Client``); an httpx2 client keeps
    httpx2's pool, with the same limits.
    """
    client: httpx.Client | httpx2.Client = _build(
        "Client", deployment, auth, routing, stream_endpoint, flavor, httpx_kwargs
    )
    return client


# unasync: end generated


# unasync: begin source rename=async_http_client:http_client
@overload
def async_http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = ...,
    *,
    routing: Routing = ...,
    stream_endpoint: StreamEndpoint = ...,
    flavor: Literal["httpx"],
    **httpx_kwargs: Any,
) -> httpx.AsyncClient: ...
@overload
def async_http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = ...,
    *,
    routing: Routing = ...,
    stream_endpoint: StreamEndpoint = ...,
    flavor: Literal["httpx2"],
    **httpx_kwargs: Any,
) -> httpx2.AsyncClient: ...
@overload
def async_http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = ...,
    *,
    routing: Routing = ...,
    stream_endpoint: StreamEndpoint = ...,
    flavor: None = ...,
    **httpx_kwargs: Any,
) -> httpx.AsyncClient | httpx2.AsyncClient: ...
def async_http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = "header",
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    flavor: Flavor | None = None,
    **httpx_kwargs: Any,
) -> httpx.AsyncClient | httpx2.AsyncClient:
    """An HTTP client that signs and adapts OpenAI-style requests for ``deployment``.

    Pass it as ``http_client=`` to any OpenAI-compatible library, with ``base_url`` set to
    :func:`base_url` ``(deployment)``. ``auth=None`` uses :func:`odsc_llm.auth.default`.
    ``routing="header"`` (the default) sends ``{endpoint}/predict/v1/...`` to
    ``{endpoint}/predict`` with a ``route: /v1/...`` header, which every deployment
    routes; ``routing="path"`` keeps the path form (deployments with Multiple Inference
    Endpoints only).

    ``flavor`` picks the library: ``"httpx"`` (an ``httpx.AsyncClient``), ``"httpx2"`` (an
    ``httpx2.AsyncClient``; ``pip install 'odsc-llm[httpx2]'``), or ``None`` (the default):
    what the installed ``openai`` sends through, httpx2 for openai >= 2, httpx for 1.x.
    Other keyword arguments go to the client (``limits``, ``timeout``, ``transport``,
    ``proxy``...). An httpx client without ``transport=`` gets odsc_llm's pool (one
    connection per request, a linear pass; see ``AsyncClient``); an httpx2 client keeps
    httpx2's pool, with the same limits.
    """
    client: httpx.AsyncClient | httpx2.AsyncClient = _build(
        "AsyncClient", deployment, auth, routing, stream_endpoint, flavor, httpx_kwargs
    )
    return client


# unasync: end source
