"""Checked by ``mypy --strict`` in .ci/run (not run by pytest): the lifecycle calls take
exactly the :class:`~odsc_llm.control_plane.LifecycleOptions` keywords, typed."""

from __future__ import annotations

from typing_extensions import assert_type

import odsc_llm
from odsc_llm import control_plane as cp
from odsc_llm.control_plane import DeploymentInfo


def sync_lifecycle(dep: odsc_llm.Deployment, seen: list[DeploymentInfo]) -> None:
    assert_type(cp.activate(dep, wait=True, timeout=60.0, callback=seen.append), DeploymentInfo)
    assert_type(cp.delete(dep, poll_interval=1.0, max_retries=0), DeploymentInfo)
    assert_type(cp.update_deployment(dep, instance_count=2, request_timeout=5.0), DeploymentInfo)
    assert_type(dep.deactivate(wait=True, timeout=10.0), DeploymentInfo)
    assert_type(dep.scale(2, request_timeout=(3.0, 30.0)), DeploymentInfo)
    cp.activate(dep, timout=5)  # type: ignore[call-arg]
    cp.deactivate(dep, timeout="soon")  # type: ignore[arg-type]
    dep.delete(max_retry=1)  # type: ignore[call-arg]


async def async_lifecycle(dep: odsc_llm.Deployment) -> None:
    assert_type(await cp.aactivate(dep, wait=True, timeout=60.0), DeploymentInfo)
    assert_type(await dep.ascale(3, poll_interval=2.0), DeploymentInfo)
    assert_type(
        await cp.acreate_deployment(
            "ocid1.datasciencemodel.oc1.iad.x", compartment_id="c", project_id="p", shape="s"
        ),
        DeploymentInfo,
    )
    await cp.adelete(dep, timout=5)  # type: ignore[call-arg]
    await cp.acreate_deployment("m", compartment_id="c", project_id="p", shap="s")  # type: ignore[call-arg]
