"""What the adapter's HTTP clients share, whatever their flavor (``httpx`` or ``httpx2``):
the checks of their options, the 409 hook, no redirects, and which flavor to build."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any, Literal

import httpx

from ... import _constants as C
from ..._errors import InvalidRequestError
from ...deployment import Deployment
from ...types.params import Routing
from ._auth import DeploymentAuth, StreamEndpoint, _resolve_auth

__all__ = [
    "ClientKind",
    "Flavor",
    "client_kwargs",
    "default_flavor",
    "deployment_auth",
    "resolve_flavor",
    "response_hook",
]

#: The HTTP library a client is built with: ``httpx``, or its fork ``httpx2``.
Flavor = Literal["httpx", "httpx2"]
_FLAVORS = ("httpx", "httpx2")
#: The class a builder makes, by its name in ``httpx`` and ``httpx2`` alike: the sync and
#: async builders differ only in this (one body builds both).
ClientKind = Literal["Client", "AsyncClient"]


def default_flavor() -> Flavor:
    """The flavor the installed ``openai`` sends through: ``"httpx2"`` for openai >= 2,
    ``"httpx"`` for openai 1.x or without openai. Reads the package's version only
    (importing openai takes a while)."""
    try:
        version = metadata.version("openai")
    except metadata.PackageNotFoundError:
        return "httpx"
    major = version.split(".", 1)[0]
    return "httpx2" if major.isdigit() and int(major) >= C.OPENAI_HTTPX2_FROM_MAJOR else "httpx"


def resolve_flavor(flavor: object) -> Flavor:
    """``flavor``, or :func:`default_flavor` for ``None``; anything else is refused."""
    if flavor is None:
        return default_flavor()
    if flavor == "httpx":
        return "httpx"
    if flavor == "httpx2":
        return "httpx2"
    raise InvalidRequestError(
        f"flavor must be 'httpx', 'httpx2' or None (what the installed openai sends "
        f"through), not {flavor!r}."
    )


def mark_409_not_retryable(response: Any) -> None:
    """Response hook: the OpenAI SDK retries 409 ("lock timeout"); on a deployment it is
    not transient, so the answer says ``x-should-retry: false``."""
    if response.status_code == 409:
        response.headers["x-should-retry"] = "false"


async def amark_409_not_retryable(response: Any) -> None:
    """The async twin of :func:`mark_409_not_retryable`."""
    mark_409_not_retryable(response)


def response_hook(kind: ClientKind) -> Callable[[Any], Any]:
    """The 409 hook a client of class ``kind`` calls (an async client awaits its hooks)."""
    return amark_409_not_retryable if kind == "AsyncClient" else mark_409_not_retryable


def deployment_auth(
    deployment: Deployment | str,
    auth: httpx.Auth | None,
    routing: Routing,
    stream_endpoint: StreamEndpoint,
) -> DeploymentAuth:
    """The :class:`DeploymentAuth` of a client: ``auth`` resolved, the options checked."""
    return DeploymentAuth(
        _resolve_auth(auth), deployment, routing=routing, stream_endpoint=stream_endpoint
    )


def client_kwargs(auth: Any, options: dict[str, Any], hook: Callable[[Any], Any]) -> dict[str, Any]:
    """The client's keyword arguments: the caller's ``options`` checked, ``auth``, no
    redirects (a redirected request would go unsigned), and ``hook`` first."""
    if "auth" in options:
        raise InvalidRequestError("Pass auth= as the second argument, not among the httpx options.")
    if options.get("follow_redirects"):
        raise InvalidRequestError(
            "follow_redirects=True is not supported: httpx does not re-sign a redirected "
            "request, and a deployment does not redirect."
        )
    hooks: dict[str, list[Callable[..., Any]]] = {
        key: list(value) for key, value in dict(options.pop("event_hooks", None) or {}).items()
    }
    hooks.setdefault("response", []).insert(0, hook)
    return {**options, "auth": auth, "follow_redirects": False, "event_hooks": hooks}
