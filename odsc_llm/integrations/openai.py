"""The OpenAI SDK as a client of a model deployment, with every request OCI-signed.

``openai_client(deployment)`` returns a plain ``openai.OpenAI`` (and
``async_openai_client`` an ``openai.AsyncOpenAI``), so code written for OpenAI runs
unchanged::

    client = odsc_llm.openai_client(deployment, auth=odsc_llm.auth.api_key())
    r = client.chat.completions.create(model="odsc-llm", messages=[...])

How it reaches the deployment:

- ``base_url`` is ``{endpoint}/predict/v1``: the deployment answers the model server's
  own paths under ``/predict`` (``/predict/v1/chat/completions``...), so no ``route``
  header is needed.
- The OpenAI SDK sends its requests through an ``httpx`` client built here, whose auth
  (:class:`DeploymentAuth`) drops the SDK's placeholder ``Bearer`` key, prepares stream
  requests (``Accept: text/event-stream``, ``enable-streaming: true``, and by default
  the ``/predictWithResponseStream/v1/...`` path), refuses to sign for any other origin,
  then signs with the given :class:`odsc_llm.auth.OCIAuth`. The SDK builds a new request
  for each of its retries, so each attempt is signed afresh.
- openai 1.x sends through ``httpx``; openai 2.x and later send through ``httpx2`` by
  default but still accept an ``httpx.Client`` as ``http_client``, which is what is
  passed here (checked with openai 3.57).
- ``409`` answers (``ExternalServerIncorrectState``) are marked ``x-should-retry: false``
  so the SDK does not retry them: on a deployment a 409 is not transient.

The same ``httpx`` clients (:func:`http_client`, :func:`async_http_client`) work for any
library that takes an ``http_client`` and a ``base_url`` (LangChain's ``ChatOpenAI``...).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .. import _constants as C
from .._constants import DEFAULT_MODEL
from .._errors import AuthError, InvalidRequestError
from .._transport import AsyncHTTPTransport, HTTPTransport
from .._validation import validate_stream_endpoint
from ..deployment import Deployment

if TYPE_CHECKING:
    import openai

__all__ = [
    "DEFAULT_MODEL",
    "DeploymentAuth",
    "StreamEndpoint",
    "async_http_client",
    "async_openai_client",
    "base_url",
    "http_client",
    "openai_client",
]

#: Where stream requests go: ``/predictWithResponseStream/...`` (default) or ``/predict/...``.
StreamEndpoint = Literal["predictWithResponseStream", "predict"]

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


def base_url(deployment: Deployment | str) -> str:
    """The OpenAI-style ``base_url`` of a deployment: ``{endpoint}/predict/v1``."""
    return f"{Deployment.coerce(deployment).endpoint}/predict/v1"


def _resolve_auth(auth: httpx.Auth | None) -> httpx.Auth:
    if isinstance(auth, DeploymentAuth):
        return auth._auth
    from ..auth import resolve

    return resolve(auth)


def _check_stream_endpoint(stream_endpoint: str) -> None:
    validate_stream_endpoint(stream_endpoint)  # the clients' check: one message


class DeploymentAuth(httpx.Auth):
    """Adapts OpenAI-SDK requests to a model deployment, then signs them with ``auth``.

    Per request: refuses any URL outside the deployment (nothing is signed for another
    origin), removes a ``Bearer`` ``Authorization`` header (the SDK's placeholder key),
    and for a body with ``"stream": true`` sets ``Accept: text/event-stream`` and
    ``enable-streaming: true`` and, when ``stream_endpoint="predictWithResponseStream"``,
    moves the path from ``{endpoint}/predict/...`` to
    ``{endpoint}/predictWithResponseStream/...``. Then ``auth`` signs it.
    """

    requires_request_body = True

    def __init__(
        self,
        auth: httpx.Auth,
        deployment: Deployment | str,
        *,
        stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    ) -> None:
        _check_stream_endpoint(stream_endpoint)
        self._auth = auth
        self.deployment = Deployment.coerce(deployment)
        self.stream_endpoint = stream_endpoint
        url = httpx.URL(self.deployment.endpoint)
        self._origin = (url.scheme, url.host, url.port)
        base_path = url.raw_path.rstrip(b"/")
        self._base_path = base_path + b"/"
        self._predict_prefix = base_path + b"/predict/"
        self._stream_prefix = base_path + b"/predictWithResponseStream/"

    @property
    def signer(self) -> Any:
        """The underlying oci signer (as on :class:`odsc_llm.auth.OCIAuth`), if any."""
        return getattr(self._auth, "signer", None)

    def __repr__(self) -> str:
        return (
            f"DeploymentAuth(deployment={self.deployment.endpoint!r}, "
            f"stream_endpoint={self.stream_endpoint!r}, auth={type(self._auth).__name__})"
        )

    @staticmethod
    def _is_stream(request: httpx.Request) -> bool:
        if "text/event-stream" in request.headers.get("accept", ""):
            return True
        try:
            body = request.content
        except httpx.RequestNotRead:  # pragma: no cover - bodies are read first
            return False
        if b'"stream"' not in body:
            return False
        try:
            data = json.loads(body)
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("stream") is True

    def prepare(self, request: httpx.Request) -> None:
        """Adapt ``request`` in place (no signing); raises AuthError for another origin."""
        url = request.url
        if (url.scheme, url.host, url.port) != self._origin or not url.raw_path.startswith(
            self._base_path
        ):
            raise AuthError(
                f"Refusing to sign a request for {url.scheme}://{url.netloc.decode()}"
                f"{url.path}: it is outside the deployment {self.deployment.endpoint}. "
                "Keep the base_url that odsc_llm.openai_client set."
            )
        authorization = request.headers.get("authorization")
        if authorization is not None and authorization.lower().startswith("bearer "):
            del request.headers["authorization"]
        if self._is_stream(request):
            request.headers["accept"] = "text/event-stream"
            request.headers["enable-streaming"] = "true"
            raw_path = url.raw_path
            if self.stream_endpoint == "predictWithResponseStream" and raw_path.startswith(
                self._predict_prefix
            ):
                new_path = self._stream_prefix + raw_path[len(self._predict_prefix) :]
                request.url = url.copy_with(raw_path=new_path)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        self.prepare(request)
        yield from self._auth.sync_auth_flow(request)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        self.prepare(request)
        flow = self._auth.async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                try:
                    outgoing = await flow.asend(response)
                except StopAsyncIteration:
                    return
        finally:
            await flow.aclose()


def _mark_409_not_retryable(response: httpx.Response) -> None:
    # The OpenAI SDK retries 409 ("lock timeout"); on a deployment it is not transient.
    if response.status_code == 409:
        response.headers["x-should-retry"] = "false"


async def _amark_409_not_retryable(response: httpx.Response) -> None:
    _mark_409_not_retryable(response)


def _client_kwargs(
    deployment: Deployment | str,
    auth: httpx.Auth | None,
    stream_endpoint: StreamEndpoint,
    httpx_kwargs: dict[str, Any],
    hook: Callable[[httpx.Response], Any],
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
    return {
        **httpx_kwargs,
        "auth": DeploymentAuth(_resolve_auth(auth), deployment, stream_endpoint=stream_endpoint),
        "follow_redirects": False,
        "event_hooks": hooks,
    }


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


def http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    **httpx_kwargs: Any,
) -> httpx.Client:
    """An ``httpx.Client`` that signs and adapts OpenAI-style requests for ``deployment``.

    Pass it as ``http_client=`` to any OpenAI-compatible library, with ``base_url`` set to
    :func:`base_url` ``(deployment)``. ``auth=None`` uses :func:`odsc_llm.auth.default`.
    Other keyword arguments go to ``httpx.Client`` (``limits``, ``transport``, ``proxy``...).
    Without a ``transport=``, its pool is odsc_llm's (one connection per request, a
    linear pass; see ``Client``).
    """
    _with_transport(httpx_kwargs, HTTPTransport)
    return httpx.Client(
        **_client_kwargs(deployment, auth, stream_endpoint, httpx_kwargs, _mark_409_not_retryable)
    )


def async_http_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    **httpx_kwargs: Any,
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` twin of :func:`http_client`."""
    _with_transport(httpx_kwargs, AsyncHTTPTransport)
    return httpx.AsyncClient(
        **_client_kwargs(deployment, auth, stream_endpoint, httpx_kwargs, _amark_409_not_retryable)
    )


# openai_client's parameter is also called http_client.
_sync_http_client = http_client


def _check_openai_kwargs(openai_kwargs: Mapping[str, Any]) -> None:
    for name, why in (
        ("base_url", "it is derived from the deployment ({endpoint}/predict/v1)"),
        ("api_key", "requests are signed with OCI credentials (pass auth=)"),
    ):
        if name in openai_kwargs:
            raise InvalidRequestError(f"Do not pass {name}=: {why}.")


def _check_http_client(client: object, expected: type[Any], builder: str) -> None:
    if not isinstance(client, expected) or not isinstance(client.auth, DeploymentAuth):
        raise InvalidRequestError(
            f"http_client must come from odsc_llm.integrations.openai.{builder}(deployment, "
            "auth, **httpx_options), so that its requests are OCI-signed."
        )


def openai_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    http_client: httpx.Client | None = None,
    **openai_kwargs: Any,
) -> openai.OpenAI:
    """An ``openai.OpenAI`` that talks to ``deployment`` with OCI-signed requests.

    ``deployment`` is a :class:`~odsc_llm.Deployment`, a URL or an OCID; ``auth`` an
    :class:`odsc_llm.auth.OCIAuth` (``None``: :func:`odsc_llm.auth.default`). Other
    keyword arguments go to ``openai.OpenAI`` (``max_retries``, ``timeout``,
    ``default_headers``...); ``base_url`` and ``api_key`` are set here. To tune the HTTP
    layer, pass ``http_client=odsc_llm.integrations.openai.http_client(dep, auth, ...)``.
    Use ``model="odsc-llm"`` in calls (:data:`DEFAULT_MODEL`).
    """
    openai_module = _import_openai()
    _check_openai_kwargs(openai_kwargs)
    dep = Deployment.coerce(deployment)
    if http_client is None:
        http_client = _sync_http_client(dep, auth, stream_endpoint=stream_endpoint)
    else:
        _check_http_client(http_client, httpx.Client, "http_client")
    client: openai.OpenAI = openai_module.OpenAI(
        base_url=base_url(dep),
        api_key=_PLACEHOLDER_API_KEY,
        http_client=http_client,
        **openai_kwargs,
    )
    return client


def async_openai_client(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    http_client: httpx.AsyncClient | None = None,
    **openai_kwargs: Any,
) -> openai.AsyncOpenAI:
    """The ``openai.AsyncOpenAI`` twin of :func:`openai_client`."""
    openai_module = _import_openai()
    _check_openai_kwargs(openai_kwargs)
    dep = Deployment.coerce(deployment)
    if http_client is None:
        http_client = async_http_client(dep, auth, stream_endpoint=stream_endpoint)
    else:
        _check_http_client(http_client, httpx.AsyncClient, "async_http_client")
    client: openai.AsyncOpenAI = openai_module.AsyncOpenAI(
        base_url=base_url(dep),
        api_key=_PLACEHOLDER_API_KEY,
        http_client=http_client,
        **openai_kwargs,
    )
    return client
