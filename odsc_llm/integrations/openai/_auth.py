"""``DeploymentAuth``: an OpenAI-SDK request made fit for a model deployment, then signed.

The SDK builds ``{endpoint}/predict/v1/<path>`` from its ``base_url``. What the
deployment routes depends on how it was created (see ``routing`` in
:mod:`odsc_llm._constants`): a *classic* deployment (AI Quick Actions, oracle-ads)
serves only ``{endpoint}/predict`` and ``{endpoint}/predictWithResponseStream`` and picks
the container path from the ``route`` header; a Multiple Inference Endpoints deployment
also serves the path form. So by default (``routing="header"``) the path after
``/predict`` moves into ``route``, as oracle-ads' own OpenAI client does
(``ads/aqua/client/openai_client.py``: ``_patch_route`` / ``_patch_url_path``; unlike it
we keep the query string, in the route).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator
from typing import Any, Literal

import httpx

from ..._errors import AuthError
from ..._validation import validate_routing, validate_stream_endpoint
from ...deployment import Deployment
from ...types.params import Routing

__all__ = ["DeploymentAuth", "StreamEndpoint"]

#: Where stream requests go: ``/predictWithResponseStream`` (default) or ``/predict``.
StreamEndpoint = Literal["predictWithResponseStream", "predict"]

_STREAM = b"predictWithResponseStream"
_PREDICT = b"predict"
# Methods whose request has a body; any other method is sent with ``content-length: 0``
# when it has none: the service answers a GET without a length 411 (the emulator too).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _resolve_auth(auth: httpx.Auth | None) -> httpx.Auth:
    if isinstance(auth, DeploymentAuth):
        return auth._auth
    from ...auth import resolve

    return resolve(auth)


class DeploymentAuth(httpx.Auth):
    """Adapts OpenAI-SDK requests to a model deployment, then signs them with ``auth``.

    Per request: refuses any URL outside the deployment (nothing is signed for another
    origin), removes a ``Bearer`` ``Authorization`` header (the SDK's placeholder key),
    sends a body-less request (``GET /v1/models``) with ``content-length: 0``, and for a
    body with ``"stream": true`` sets ``Accept: text/event-stream`` and
    ``enable-streaming: true`` and, when ``stream_endpoint="predictWithResponseStream"``,
    sends it to ``{endpoint}/predictWithResponseStream``.

    ``routing="header"`` (the default; every deployment routes it) sends
    ``{endpoint}/predict/<suffix>?<query>`` to ``{endpoint}/predict`` with the header
    ``route: <suffix>?<query>``; ``routing="path"`` keeps the path form, which only
    deployments with Multiple Inference Endpoints route. Then ``auth`` signs the request
    as it is sent.
    """

    requires_request_body = True

    def __init__(
        self,
        auth: httpx.Auth,
        deployment: Deployment | str,
        *,
        routing: Routing = "header",
        stream_endpoint: StreamEndpoint = "predictWithResponseStream",
    ) -> None:
        validate_stream_endpoint(stream_endpoint)  # the clients' checks: one message each
        validate_routing(routing)
        self._auth = auth
        self.deployment = Deployment.coerce(deployment)
        self.routing: Routing = routing
        self.stream_endpoint: StreamEndpoint = stream_endpoint
        url = httpx.URL(self.deployment.endpoint)
        self._origin = (url.scheme, url.host, url.port)
        self._base_path = url.raw_path.rstrip(b"/") + b"/"

    @property
    def signer(self) -> Any:
        """The underlying oci signer (as on :class:`odsc_llm.auth.OCIAuth`), if any."""
        return getattr(self._auth, "signer", None)

    def __repr__(self) -> str:
        return (
            f"DeploymentAuth(deployment={self.deployment.endpoint!r}, "
            f"routing={self.routing!r}, stream_endpoint={self.stream_endpoint!r}, "
            f"auth={type(self._auth).__name__})"
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

    def _split(self, path: bytes) -> tuple[bytes, bytes] | None:
        """(``predict`` or ``predictWithResponseStream``, the suffix after it) of a path
        under the deployment, or ``None`` for any other path (left as it is)."""
        for endpoint in (_STREAM, _PREDICT):
            head = self._base_path + endpoint
            if path == head or path.startswith(head + b"/"):
                suffix = path[len(head) :]
                return endpoint, b"" if suffix == b"/" else suffix
        return None

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
        headers = request.headers
        authorization = headers.get("authorization")
        if authorization is not None and authorization.lower().startswith("bearer "):
            del headers["authorization"]
        if (
            request.method not in _BODY_METHODS
            and not request.content
            and "transfer-encoding" not in headers
        ):
            headers["content-length"] = "0"
        stream = self._is_stream(request)
        if stream:
            headers["accept"] = "text/event-stream"
            headers["enable-streaming"] = "true"
        path, question, query = url.raw_path.partition(b"?")
        split = self._split(path)
        if split is None:
            return
        endpoint, suffix = split
        if stream and self.stream_endpoint == "predictWithResponseStream":
            endpoint = _STREAM
        if self.routing == "header" and suffix:
            headers["route"] = (suffix + question + query).decode("ascii")
            new_path = self._base_path + endpoint
        else:
            new_path = self._base_path + endpoint + suffix + question + query
        if new_path != url.raw_path:
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
