"""The kinds of deployment the suite runs against, and the request each routing sends.

A *classic* deployment (what AI Quick Actions and oracle-ads create) routes only
``/predict`` and ``/predictWithResponseStream``, the container path in the ``route``
header; an *MIE* one (Multiple Inference Endpoints, ``predictApiSpecification="openai"``)
also routes ``/predict/v1/...``. The ``deployment_kind`` fixture (tests/conftest.py)
runs a test once against an emulator of each, with the client routing that fits:
``"header"`` on classic, ``"path"`` on MIE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # the emulator loads when a fixture starts one, not at collection
    from odsc_llm.testing import LocalDeployment

#: Kind name -> the LocalDeployment arguments that make it.
DEPLOYMENT_KINDS: dict[str, dict[str, Any]] = {
    "classic": {},
    "mie": {"api_specification": "openai"},
}


@dataclass(frozen=True)
class DeploymentKind:
    """One running emulator of a kind, and the client routing that fits it."""

    name: str
    local: LocalDeployment

    @property
    def routing(self) -> str:
        """``"header"`` on classic, ``"path"`` on MIE (``LocalDeployment.routing``)."""
        return self.local.routing

    @property
    def client_kwargs(self) -> dict[str, Any]:
        """``deployment``, ``auth`` and the fitting ``routing``: the arguments of
        ``Client``/``AsyncClient``/``openai_client``/``http_client`` for this kind."""
        return {
            "deployment": self.local.deployment,
            "auth": self.local.auth,
            "routing": self.routing,
        }

    def request(
        self,
        method: str,
        route: str,
        *,
        json: Any = None,
        stream: bool = False,
        routing: str | None = None,
    ) -> httpx.Request:
        """The request a client in ``routing`` mode (default: the one that fits) sends
        for the container path ``route`` (``/v1/chat/completions``, ``/v1/models``...)."""
        return routed_request(self.local, routing or self.routing, method, route, json, stream)


def routed_request(
    local: LocalDeployment,
    routing: str,
    method: str,
    route: str,
    json: Any = None,
    stream: bool = False,
) -> httpx.Request:
    """``header``: ``{endpoint}/predict`` (or the stream endpoint) with ``route: ROUTE``;
    ``path``: ``{endpoint}/predict[WithResponseStream]ROUTE``. A body-less request says
    ``content-length: 0``, as the service requires."""
    base = local.deployment.stream_url if stream else local.deployment.predict_url
    headers: dict[str, str] = {}
    if routing == "header":
        url, headers["route"] = base, route
    else:
        url = base + route
    if json is None:
        headers["content-length"] = "0"
    return httpx.Request(method, url, json=json, headers=headers)
