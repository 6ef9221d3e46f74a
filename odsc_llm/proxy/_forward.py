"""Sending one request upstream: the address, the signature, the choice and the failover.

One ``httpx.AsyncClient`` on odsc_llm's transport carries every upstream request; each
is signed by its deployment's auth (``client.send(request, auth=...)``), so the proxy
never signs anything itself. Routing as the SDK's clients do it (DESIGN.md, routing):

* ``header`` (every deployment): ``POST {endpoint}/predict`` with ``route: /v1/...``, or
  ``{endpoint}/predictWithResponseStream`` for a body with ``"stream": true`` (with
  ``enable-streaming: true`` and ``Accept: text/event-stream``); GETs carry
  ``content-length: 0`` (the service answers 411 without it).
* ``path`` (deployments with Multiple Inference Endpoints): ``{endpoint}/predict/v1/...``
  for the suffixes such a deployment routes (``MIE_OPENAI_SUFFIXES``); any other route
  still goes by the header form, which every deployment routes.

The upstream leg runs on odsc_llm's aiohttp transport when aiohttp is installed (the
``proxy`` extra brings it): its C parser (llhttp) reads the deployment's answer, and it
sends a request's head and body in one write by itself (``http_writer``: headers are held
for the first body bytes). Without aiohttp, httpx's own transport with the
:mod:`._gather` streams, which do that write-gathering for httpcore.

Several deployments for one name: the one with the fewest requests in flight goes first
(ties rotate, so idle deployments share the load); a connection error or a 429, 502,
503 or 504 moves the request to the next, until one answers. An answer is never moved
once its first byte has arrived.
"""

from __future__ import annotations

import functools
import http.cookiejar
import importlib.util
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .. import _constants as C
from ..types.params import Transport
from ._config import Target
from ._gather import GatheringTransport

__all__ = ["Attempted", "Upstream", "UpstreamUnavailable", "default_transport"]


class UpstreamUnavailable(Exception):
    """No deployment answered (connection errors only); ``tried`` says what happened."""

    def __init__(self, tried: list[str]) -> None:
        super().__init__("; ".join(tried))
        self.tried = tried


@dataclass
class Attempted:
    """The answer that will be passed on, and the deployment that gave it."""

    response: httpx.Response
    target: Target
    #: Why earlier deployments were passed over (for the log).
    passed_over: list[str] = field(default_factory=list)


def _uses_path(target: Target, api_route: str) -> bool:
    if target.routing != "path":
        return False
    return api_route in C.MIE_OPENAI_SUFFIXES or api_route.startswith(
        tuple(prefix + "/" for prefix in C.MIE_PREFIX_SUFFIXES)
    )


def build_request(
    client: httpx.AsyncClient,
    target: Target,
    method: str,
    api_route: str,
    body: bytes,
    content_type: str | None,
    stream: bool,
) -> httpx.Request:
    """The upstream request (unsigned: ``client.send(..., auth=target.auth)`` signs it)."""
    length = len(body) if method == "GET" or not body else None
    url, headers = _address(
        target.deployment.endpoint,
        _uses_path(target, api_route),
        api_route,
        content_type,
        stream,
        length,
    )
    return client.build_request(method, url, content=body, headers=headers)


@functools.lru_cache(maxsize=C.PROXY_URL_CACHE)
def _address(
    endpoint: str,
    path_form: bool,
    api_route: str,
    content_type: str | None,
    stream: bool,
    length: int | None,
) -> tuple[httpx.URL, httpx.Headers]:
    # Kept parsed: parsing the URL and the headers was most of the cost of building a
    # request (about 0.1 ms of the time to first token), and a proxy sends to a handful
    # of addresses. Both are copied, never changed, by httpx's build_request.
    base = f"{endpoint}/predictWithResponseStream" if stream else f"{endpoint}/predict"
    # The clients' own headers only: the caller's Authorization / x-api-key stay here.
    headers = {"accept-encoding": "identity"}
    if path_form:
        url = base + api_route
    else:
        url = base
        headers["route"] = api_route
    if content_type:
        headers["content-type"] = content_type
    if stream:
        headers["accept"] = "text/event-stream"
        headers["enable-streaming"] = "true"
    if length is not None:
        headers["content-length"] = str(length)
    return httpx.URL(url), httpx.Headers(headers)


class _NoCookies(http.cookiejar.CookieJar):
    """A jar that keeps nothing."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def default_transport() -> Transport:
    """``"aiohttp"`` when aiohttp is importable, else ``"httpx"``."""
    return "aiohttp" if importlib.util.find_spec("aiohttp") is not None else "httpx"


class Upstream:
    """The shared upstream client and the deployments' load.

    ``transport``: ``"aiohttp"`` or ``"httpx"``; ``None``, :func:`default_transport`.
    """

    def __init__(self, transport: Transport | None = None) -> None:
        self.transport: Transport = transport or default_transport()
        self._client: httpx.AsyncClient | None = None
        self._turn = itertools.count()

    @property
    def client(self) -> httpx.AsyncClient:
        """Made on first use, so the app can be built outside an event loop."""
        if self._client is None:
            transport: httpx.AsyncBaseTransport
            if self.transport == "aiohttp":
                from .._transport._aiohttp import AiohttpTransport

                transport = AiohttpTransport(limits=C.PROXY_LIMITS)
            else:
                transport = GatheringTransport(limits=C.PROXY_LIMITS)
            self._client = httpx.AsyncClient(
                transport=transport,
                timeout=C.PROXY_TIMEOUT,
                follow_redirects=False,  # a deployment does not redirect; nothing re-signed
                # One client serves every caller: a cookie a deployment sets must not go
                # back with another caller's requests (and reading Set-Cookie into a jar
                # is work on every answer).
                cookies=_NoCookies(),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def order(self, targets: list[Target]) -> list[Target]:
        """Least in flight first; ties rotate with each request."""
        if len(targets) == 1:
            return targets
        start = next(self._turn) % len(targets)
        rotated = targets[start:] + targets[:start]
        return sorted(rotated, key=lambda t: t.in_flight)

    async def send(
        self,
        targets: list[Target],
        method: str,
        api_route: str,
        body_for: Callable[[Target], bytes],
        content_type: str | None,
        stream: bool,
    ) -> Attempted:
        """Send to the first deployment that answers; the caller must ``release()``.

        ``body_for(target)`` is the body for that deployment (its served model name).
        """
        tried: list[str] = []
        ordered = self.order(targets)
        for index, target in enumerate(ordered):
            last = index == len(ordered) - 1
            content = body_for(target)
            request = build_request(
                self.client, target, method, api_route, content, content_type, stream
            )
            target.in_flight += 1
            try:
                response = await self.client.send(request, auth=target.auth, stream=True)
            except httpx.TransportError as exc:
                target.in_flight -= 1
                tried.append(f"{target.name}: {type(exc).__name__}")
                continue
            except BaseException:
                target.in_flight -= 1
                raise
            if response.status_code in C.PROXY_FAILOVER_STATUSES and not last:
                tried.append(f"{target.name}: {response.status_code}")
                await response.aclose()
                target.in_flight -= 1
                continue
            return Attempted(response, target, tried)
        raise UpstreamUnavailable(tried)

    @staticmethod
    async def release(attempted: Attempted) -> None:
        """Close the answer (cancelling it upstream if unfinished) and count it done."""
        try:
            await attempted.response.aclose()
        finally:
            attempted.target.in_flight -= 1
