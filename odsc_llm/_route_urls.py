"""Where each call of a client goes: the deployment's ``/predict`` (or its stream
endpoint), and with ``routing="path"`` the container path after it
(``{endpoint}/predict/v1/...``), each URL parsed once."""

from __future__ import annotations

import httpx

from . import _constants as C
from .deployment import Deployment
from .types.params import Routing

__all__ = ["RouteURLs"]


class RouteURLs:
    """A client's call URLs: ``url(route, streamed)``; ``len()`` is how many path-mode
    URLs are kept parsed (at most ``MAX_CACHED_ROUTE_URLS``)."""

    __slots__ = ("_cache", "_path", "_predict", "_stream")

    def __init__(self, deployment: Deployment, stream_endpoint: str, routing: Routing) -> None:
        # Parsed once: httpx re-parses a str URL on every request.
        self._predict = httpx.URL(deployment.predict_url)
        self._stream = httpx.URL(
            deployment.stream_url
            if stream_endpoint == C.DEFAULT_STREAM_ENDPOINT
            else deployment.predict_url
        )
        self._path = routing == "path"
        #: Path mode: ``(streamed, route)`` -> ``{base}{route}``.
        self._cache: dict[tuple[bool, str], httpx.URL] = {}

    def url(self, route: str, streamed: bool) -> httpx.URL:
        """The URL a call on ``route`` goes to (header mode: the base; the route is in
        the ``route`` header then)."""
        base = self._stream if streamed else self._predict
        if not self._path:
            return base
        url = self._cache.get((streamed, route))
        if url is None:
            url = httpx.URL(str(base) + route)
            # Bounded: a route may carry an id (/v1/responses/{id}), one per response.
            if len(self._cache) < C.MAX_CACHED_ROUTE_URLS:
                self._cache[(streamed, route)] = url
        return url

    def __len__(self) -> int:
        return len(self._cache)
