"""Checked by ``mypy --strict`` in .ci/run (not run by pytest): ``routing`` is typed."""

from __future__ import annotations

from typing_extensions import assert_type

import odsc_llm
from odsc_llm.control_plane import DeploymentInfo
from odsc_llm.types.params import Routing


def routing_surface(dep: odsc_llm.Deployment, info: DeploymentInfo) -> None:
    client = odsc_llm.Client(dep, routing=info.routing)
    assert_type(client.routing, Routing)
    assert_type(odsc_llm.AsyncClient(dep, routing="path").routing, Routing)
    assert_type(info.predict_api_specification, str | None)
    assert_type(info.custom_http_endpoints[0].methods, tuple[str, ...])
    odsc_llm.Client(dep, routing="paths")  # type: ignore[arg-type]
