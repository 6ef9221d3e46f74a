"""The OpenAI SDK as a client of a model deployment, with every request OCI-signed.

``openai_client(deployment)`` returns a plain ``openai.OpenAI`` (and
``async_openai_client`` an ``openai.AsyncOpenAI``), so code written for OpenAI runs
unchanged::

    client = odsc_llm.openai_client(deployment, auth=odsc_llm.auth.api_key())
    r = client.chat.completions.create(model="odsc-llm", messages=[...])

How it reaches the deployment:

- The SDK's ``base_url`` is ``{endpoint}/predict/v1``. With ``routing="header"`` (the
  default) each request goes to ``{endpoint}/predict`` with the path after it in the
  ``route`` header (``route: /v1/chat/completions``), which every deployment routes;
  ``routing="path"`` sends ``{endpoint}/predict/v1/...`` as is, which only deployments
  with Multiple Inference Endpoints route (a classic one answers 404).
- The OpenAI SDK sends its requests through an HTTP client built here, whose auth
  (:class:`DeploymentAuth`) drops the SDK's placeholder ``Bearer`` key, routes the
  request, prepares streams (``Accept: text/event-stream``, ``enable-streaming: true``,
  and by default ``{endpoint}/predictWithResponseStream``), sends a body-less request
  with ``content-length: 0``, refuses to sign for any other origin, then signs what is
  sent with the given :class:`odsc_llm.auth.OCIAuth`. The SDK builds a new request for
  each of its retries, so each attempt is signed afresh.
- openai 1.x sends through ``httpx``, openai 2.x and later through ``httpx2``: the
  client built here is of the flavor the installed openai uses (``flavor=`` of
  :func:`http_client` chooses another; openai 3 still converts an ``httpx.Client``).
  Signing is the same code for both (httpx2 through :func:`odsc_llm.auth.for_httpx2`).
- ``409`` answers (``ExternalServerIncorrectState``) are marked ``x-should-retry: false``
  so the SDK does not retry them: on a deployment a 409 is not transient.

The same HTTP clients (:func:`http_client`, :func:`async_http_client`) work for any
library that takes an ``http_client`` and a ``base_url`` (LangChain's ``ChatOpenAI``...).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ..._constants import DEFAULT_MODEL
from ..._errors import InvalidRequestError
from ..._validation import validate_routing
from ...deployment import Deployment
from ...types.params import Routing
from ._auth import DeploymentAuth, StreamEndpoint
from ._http import async_http_client, http_client
from ._options import ClientKind, Flavor

if TYPE_CHECKING:
    import httpx2
    import openai

__all__ = [
    "DEFAULT_MODEL",
    "DeploymentAuth",
    "Flavor",
    "StreamEndpoint",
    "async_http_client",
    "async_openai_client",
    "base_url",
    "http_client",
    "openai_client",
]

# The OpenAI SDK insists on an API key; it never leaves the process (DeploymentAuth
# removes the Bearer header before signing).
_PLACEHOLDER_API_KEY = "unused-requests-are-oci-signed"


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise ImportError(
            "odsc_llm.openai_client needs the `openai` package, which is not installed. "
            "Install the extra: pip install 'odsc-llm[openai]'"
        ) from exc
    return openai


def base_url(deployment: Deployment | str, *, routing: Routing = "header") -> str:
    """The OpenAI-style ``base_url`` of a deployment: ``{endpoint}/predict/v1``.

    The same for both ``routing`` values: with ``"header"`` the HTTP clients of this
    module move the path after ``/predict`` into the ``route`` header; a plain HTTP
    client sends the path form, which only Multiple Inference Endpoints deployments route.
    """
    validate_routing(routing)
    return f"{Deployment.coerce(deployment).endpoint}/predict/v1"


def _check_openai_kwargs(openai_kwargs: Mapping[str, Any]) -> None:
    for name, why in (
        ("base_url", "it is derived from the deployment ({endpoint}/predict/v1)"),
        ("api_key", "requests are signed with OCI credentials (pass auth=)"),
    ):
        if name in openai_kwargs:
            raise InvalidRequestError(f"Do not pass {name}=: {why}.")


def _deployment_auth_of(client: object, kind: str) -> DeploymentAuth | None:
    """The :class:`DeploymentAuth` of an ``httpx`` or ``httpx2`` client of class ``kind``
    (``"Client"``/``"AsyncClient"``) made by this module, else ``None``."""
    classes: list[type[Any]] = [getattr(httpx, kind)]
    flavor2 = sys.modules.get("httpx2")  # loaded if the client could be an httpx2 one
    if flavor2 is not None:
        classes.append(getattr(flavor2, kind))
    if not isinstance(client, tuple(classes)):
        return None
    auth = getattr(client, "auth", None)
    adapter = sys.modules.get("odsc_llm.auth._httpx2_auth")
    if adapter is not None and isinstance(auth, adapter.HTTPX2Auth):
        auth = auth.auth
    return auth if isinstance(auth, DeploymentAuth) else None


def _check_http_client(client: object, kind: str, builder: str, routing: str) -> None:
    auth = _deployment_auth_of(client, kind)
    if auth is None:
        raise InvalidRequestError(
            f"http_client must come from odsc_llm.integrations.openai.{builder}(deployment, "
            "auth, **httpx_options), so that its requests are OCI-signed."
        )
    if auth.routing != routing:
        raise InvalidRequestError(
            f"http_client was built with routing={auth.routing!r} but routing={routing!r} "
            f"was passed: build it with {builder}(deployment, auth, routing={routing!r}) "
            "or pass the same routing to both."
        )


#: What each builder is called and is, by the class of client it makes.
_BUILDERS: dict[ClientKind, tuple[str, Callable[..., Any]]] = {
    "Client": ("http_client", http_client),
    "AsyncClient": ("async_http_client", async_http_client),
}


def _openai_options(
    kind: ClientKind,
    deployment: Deployment | str,
    auth: httpx.Auth | None,
    routing: Routing,
    stream_endpoint: StreamEndpoint,
    http_client: object,
    openai_kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """The body of :func:`openai_client` and :func:`async_openai_client`: the options of
    the SDK's client, all checked, with an HTTP client of class ``kind``."""
    _check_openai_kwargs(openai_kwargs)
    validate_routing(routing)
    dep = Deployment.coerce(deployment)
    name, builder = _BUILDERS[kind]
    if http_client is None:
        http_client = builder(dep, auth, routing=routing, stream_endpoint=stream_endpoint)
    else:
        _check_http_client(http_client, kind, name, routing)
    return {
        "base_url": base_url(dep),
        "api_key": _PLACEHOLDER_API_KEY,
        "http_client": http_client,
        **openai_kwargs,
    }


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
def openai_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = "header",
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    http_client: httpx.Client | httpx2.Client | None = None,
    **openai_kwargs: Any,
) -> openai.OpenAI:
    """An ``openai.OpenAI`` that talks to ``deployment`` with OCI-signed requests.

    ``deployment`` is a :class:`~odsc_llm.Deployment`, a URL or an OCID; ``auth`` an
    :class:`odsc_llm.auth.OCIAuth` (``None``: :func:`odsc_llm.auth.default`).
    ``routing="header"`` (the default) works on every deployment; ``routing="path"``
    only on deployments with Multiple Inference Endpoints (see :class:`DeploymentAuth`).
    Other keyword arguments go to ``openai.OpenAI`` (``max_retries``, ``timeout``,
    ``default_headers``...); ``base_url`` and ``api_key`` are set here. To tune the HTTP
    layer, pass ``http_client=odsc_llm.integrations.openai.http_client(dep, ...)``.
    Use ``model="odsc-llm"`` in calls (:data:`DEFAULT_MODEL`).
    """
    openai_module = _import_openai()
    options = _openai_options(
        "Client", deployment, auth, routing, stream_endpoint, http_client, openai_kwargs
    )
    client: openai.OpenAI = openai_module.OpenAI(**options)
    return client


# unasync: end generated


# unasync: begin source rename=async_openai_client:openai_client,async_http_client:http_client
def async_openai_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = "header",
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    http_client: httpx.AsyncClient | httpx2.AsyncClient | None = None,
    **openai_kwargs: Any,
) -> openai.AsyncOpenAI:
    """An ``openai.AsyncOpenAI`` that talks to ``deployment`` with OCI-signed requests.

    ``deployment`` is a :class:`~odsc_llm.Deployment`, a URL or an OCID; ``auth`` an
    :class:`odsc_llm.auth.OCIAuth` (``None``: :func:`odsc_llm.auth.default`).
    ``routing="header"`` (the default) works on every deployment; ``routing="path"``
    only on deployments with Multiple Inference Endpoints (see :class:`DeploymentAuth`).
    Other keyword arguments go to ``openai.AsyncOpenAI`` (``max_retries``, ``timeout``,
    ``default_headers``...); ``base_url`` and ``api_key`` are set here. To tune the HTTP
    layer, pass ``http_client=odsc_llm.integrations.openai.async_http_client(dep, ...)``.
    Use ``model="odsc-llm"`` in calls (:data:`DEFAULT_MODEL`).
    """
    openai_module = _import_openai()
    options = _openai_options(
        "AsyncClient", deployment, auth, routing, stream_endpoint, http_client, openai_kwargs
    )
    client: openai.AsyncOpenAI = openai_module.AsyncOpenAI(**options)
    return client


# unasync: end source
