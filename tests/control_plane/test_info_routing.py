"""``DeploymentInfo``'s Multiple Inference Endpoints fields and the routing that fits.

Through the real ``oci`` client against the emulator's control plane (the deployment
JSON in the service's field names, deserialised by oci), and from oci model objects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import oci.data_science.models as m
import pytest

import odsc_llm
from odsc_llm import control_plane as cp
from odsc_llm.control_plane import CustomHttpEndpoint, DeploymentInfo
from odsc_llm.testing import LocalDeployment

SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
REGION = "us-ashburn-1"


def _fetch(local: LocalDeployment, sync: bool) -> DeploymentInfo:
    if sync:
        return cp.fetch(local.deployment, local.auth)
    return asyncio.run(cp.afetch(local.deployment, local.auth))


@pytest.fixture
def mie(odsc_llm_local: LocalDeployment) -> Iterator[LocalDeployment]:
    """The emulator reporting Multiple Inference Endpoints (set back afterwards)."""
    plane = odsc_llm_local.control_plane
    plane.predict_api_specification = "openai"
    plane.custom_http_endpoints = [("/v1/score", ["POST"]), ("/v1/items/{}", ["GET", "POST"])]
    try:
        yield odsc_llm_local
    finally:
        plane.predict_api_specification = None
        plane.custom_http_endpoints = []


@SYNC
def test_a_classic_deployment_fits_header_routing(
    odsc_llm_local: LocalDeployment, sync: bool
) -> None:
    info = _fetch(odsc_llm_local, sync)
    assert info.predict_api_specification is None
    assert info.custom_http_endpoints == ()
    assert info.routing == "header"


@SYNC
def test_an_mie_deployment_reports_its_endpoints_and_fits_path_routing(
    mie: LocalDeployment, sync: bool
) -> None:
    info = _fetch(mie, sync)
    assert info.predict_api_specification == "openai"
    assert info.custom_http_endpoints == (
        CustomHttpEndpoint(suffix="/v1/score", methods=("POST",)),
        CustomHttpEndpoint(suffix="/v1/items/{}", methods=("GET", "POST")),
    )
    assert info.routing == "path"
    # What a user does with it: a client with the routing that fits.
    with odsc_llm.Client(mie.deployment, auth=mie.auth, routing=info.routing) as client:
        assert client.models.list().ids == ["odsc-llm"]
    assert mie.requests[-1].path == f"/{mie.ocid}/predict/v1/models"


def test_custom_endpoints_alone_fit_header_routing(mie: LocalDeployment) -> None:
    """Custom endpoints route only their own suffixes, not every call a client makes."""
    mie.control_plane.predict_api_specification = None
    info = _fetch(mie, True)
    assert info.predict_api_specification is None and len(info.custom_http_endpoints) == 2
    assert info.routing == "header"


def _oci_deployment(environment: Any) -> m.ModelDeployment:
    return m.ModelDeployment(
        id="ocid1.datasciencemodeldeployment.oc1.iad.x",
        lifecycle_state="ACTIVE",
        model_deployment_configuration_details=m.SingleModelDeploymentConfigurationDetails(
            deployment_type="SINGLE_MODEL", environment_configuration_details=environment
        ),
    )


@pytest.mark.parametrize(
    ("environment", "spec", "endpoints", "routing"),
    [
        (None, None, (), "header"),
        (m.DefaultModelDeploymentEnvironmentConfigurationDetails(), None, (), "header"),
        (m.OcirModelDeploymentEnvironmentConfigurationDetails(image="i"), None, (), "header"),
        (
            m.OcirModelDeploymentEnvironmentConfigurationDetails(
                predict_api_specification="OpenAI",
                custom_http_endpoints=[
                    m.InferenceHttpEndpoint(endpoint_uri_suffix="/x", http_methods=["GET"])
                ],
            ),
            "OpenAI",
            (CustomHttpEndpoint(suffix="/x", methods=("GET",)),),
            "path",
        ),
    ],
)
def test_from_oci_reads_the_environment_configuration(
    environment: Any, spec: str | None, endpoints: tuple[CustomHttpEndpoint, ...], routing: str
) -> None:
    info = DeploymentInfo.from_oci(_oci_deployment(environment), REGION)
    assert info.predict_api_specification == spec
    assert info.custom_http_endpoints == endpoints
    assert info.routing == routing
    assert f"<code>{routing}</code>" in info._repr_html_()
