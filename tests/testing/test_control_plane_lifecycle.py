"""The emulator's lifecycle and catalog calls, through the real oci DataScienceClient.

States follow each other on the emulator's clock (a fake one here, moved by the test);
a created deployment answers predict at its URL once ACTIVE, and 404 otherwise.
"""

from __future__ import annotations

from typing import Any

import oci
import pytest

import odsc_llm
from odsc_llm.errors import NotFoundError
from odsc_llm.testing import LocalDeployment
from tests.support.lifecycle import create_details, raw_client


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(emulator: LocalDeployment) -> Clock:
    fake = Clock()
    emulator.lifecycle.clock = fake
    emulator.lifecycle.transition_seconds = 10.0
    return fake


def _refusal(call: Any) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as info:
        call()
    return info.value


def _chat(local: LocalDeployment, url: str) -> str:
    dep = odsc_llm.Deployment.from_url(url)
    with odsc_llm.Client(dep, auth=local.auth, max_retries=0) as client:
        answer = client.chat.completions.create(
            model="odsc-llm", messages=[{"role": "user", "content": "hi"}]
        )
    return answer.choices[0].message.content or ""


def test_create_moves_from_creating_to_active_and_is_served(
    emulator: LocalDeployment, clock: Clock
) -> None:
    client = raw_client(emulator)
    created = client.create_model_deployment(create_details(emulator))
    md = created.data
    assert md.lifecycle_state == "CREATING"
    assert md.model_deployment_configuration_details.model_configuration_details.model_id == (
        emulator.model_id
    )
    work = client.get_work_request(created.headers["opc-work-request-id"]).data
    assert (work.operation_type, work.resources[0].identifier) == (
        "MODEL_DEPLOYMENT_CREATE",
        md.id,
    )
    with pytest.raises(NotFoundError):  # not ACTIVE yet: the endpoint is not there
        _chat(emulator, md.model_deployment_url)
    clock.now += 10
    assert client.get_model_deployment(md.id).data.lifecycle_state == "ACTIVE"
    work = client.get_work_request(created.headers["opc-work-request-id"]).data
    assert (work.status, work.percent_complete) == ("SUCCEEDED", 100.0)
    assert client.list_work_request_logs(work.id).data
    assert "hi" in _chat(emulator, md.model_deployment_url)
    listed = oci.pagination.list_call_get_all_results(
        client.list_model_deployments, compartment_id=emulator.compartment_id
    ).data
    assert md.id in {s.id for s in listed}


def test_deactivate_refuses_predict_and_activate_serves_again(
    emulator: LocalDeployment, clock: Clock
) -> None:
    client = raw_client(emulator)
    md = client.create_model_deployment(create_details(emulator)).data
    clock.now += 10
    etag = client.get_model_deployment(md.id).headers["etag"]
    assert client.deactivate_model_deployment(md.id, if_match=etag).status == 202
    assert client.get_model_deployment(md.id).data.lifecycle_state == "UPDATING"
    clock.now += 10
    assert client.get_model_deployment(md.id).data.lifecycle_state == "INACTIVE"
    with pytest.raises(NotFoundError):
        _chat(emulator, md.model_deployment_url)
    stale = _refusal(lambda: client.activate_model_deployment(md.id, if_match=etag))
    assert (stale.status, stale.code) == (412, "NoEtagMatch")
    again = _refusal(lambda: client.deactivate_model_deployment(md.id))
    assert (again.status, again.code) == (409, "IncorrectState")
    assert "INACTIVE" in again.message
    client.activate_model_deployment(md.id)
    clock.now += 10
    assert "hi" in _chat(emulator, md.model_deployment_url)
    client.delete_model_deployment(md.id)
    assert client.get_model_deployment(md.id).data.lifecycle_state == "DELETING"
    clock.now += 10
    assert client.get_model_deployment(md.id).data.lifecycle_state == "DELETED"
    with pytest.raises(NotFoundError):
        _chat(emulator, md.model_deployment_url)


def test_update_merges_and_keeps_serving_while_scaling(
    emulator: LocalDeployment, clock: Clock
) -> None:
    from oci.data_science import models as m

    client = raw_client(emulator)
    md = client.create_model_deployment(create_details(emulator)).data
    clock.now += 10
    update = m.UpdateModelDeploymentDetails(
        model_deployment_configuration_details=m.UpdateSingleModelDeploymentConfigurationDetails(
            deployment_type="SINGLE_MODEL",
            model_configuration_details=m.UpdateModelConfigurationDetails(
                scaling_policy=m.FixedSizeScalingPolicy(instance_count=2)
            ),
        )
    )
    client.update_model_deployment(md.id, update)
    assert "hi" in _chat(emulator, md.model_deployment_url)  # UPDATING, still serving
    clock.now += 10
    got = client.get_model_deployment(md.id).data
    config = got.model_deployment_configuration_details.model_configuration_details
    assert (got.lifecycle_state, config.scaling_policy.instance_count) == ("ACTIVE", 2)
    assert config.instance_configuration.instance_shape_name == "VM.GPU.A10.1"


def test_retry_token_replays_the_first_answer_and_conflicts_on_another_body(
    emulator: LocalDeployment, clock: Clock
) -> None:
    client = raw_client(emulator)
    first = client.create_model_deployment(create_details(emulator), opc_retry_token="t-1")
    again = client.create_model_deployment(create_details(emulator), opc_retry_token="t-1")
    assert again.data.id == first.data.id
    assert len(emulator.lifecycle.deployments) == 1
    other = create_details(emulator, display_name="other")
    error = _refusal(lambda: client.create_model_deployment(other, opc_retry_token="t-1"))
    assert (error.status, error.code) == (409, "InvalidatedRetryToken")


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ("compartment_id", "compartmentId"),
        ("project_id", "projectId"),
        ("model_id", "modelConfigurationDetails.modelId"),
        ("shape", "instanceConfiguration.instanceShapeName"),
    ],
)
def test_create_without_a_required_field_is_a_400_naming_it(
    emulator: LocalDeployment, field: str, named: str
) -> None:
    details = create_details(emulator)
    config = details.model_deployment_configuration_details.model_configuration_details
    if field == "model_id":
        config.model_id = None
    elif field == "shape":
        config.instance_configuration.instance_shape_name = None
    else:
        setattr(details, field, None)
    error = _refusal(lambda: raw_client(emulator).create_model_deployment(details))
    assert (error.status, error.code) == (400, "MissingParameter")
    assert named in error.message
    assert not emulator.lifecycle.deployments


def test_create_refuses_an_unknown_shape_or_model(emulator: LocalDeployment) -> None:
    client = raw_client(emulator)
    details = create_details(emulator)
    config = details.model_deployment_configuration_details.model_configuration_details
    config.instance_configuration.instance_shape_name = "VM.GPU.Nope.1"
    assert _refusal(lambda: client.create_model_deployment(details)).status == 400
    config.instance_configuration.instance_shape_name = "VM.GPU.A10.1"
    config.model_id = "ocid1.datasciencemodel.oc1.iad.unknown"
    error = _refusal(lambda: client.create_model_deployment(details))
    assert (error.status, error.code) == (404, "RelatedResourceNotAuthorizedOrNotFound")


def test_a_failed_operation_has_errors_and_the_deployment_is_failed(
    emulator: LocalDeployment, clock: Clock
) -> None:
    client = raw_client(emulator)
    emulator.lifecycle.fail_next_operation("Out of capacity for shape VM.GPU.A10.1.")
    created = client.create_model_deployment(create_details(emulator))
    clock.now += 10
    work_id = created.headers["opc-work-request-id"]
    assert client.get_work_request(work_id).data.status == "FAILED"
    errors = client.list_work_request_errors(work_id).data
    assert [e.message for e in errors] == ["Out of capacity for shape VM.GPU.A10.1."]
    md = client.get_model_deployment(created.data.id).data
    assert (md.lifecycle_state, md.lifecycle_details) == (
        "FAILED",
        "Out of capacity for shape VM.GPU.A10.1.",
    )


def test_catalog_containers_models_and_shapes(emulator: LocalDeployment) -> None:
    client = raw_client(emulator)
    containers = client.list_containers().data
    latest = {c.family_name: c for c in containers if c.is_latest}
    assert set(latest) == {"odsc-vllm-serving", "odsc-llama-cpp-serving", "odsc-tei-serving"}
    workload = latest["odsc-vllm-serving"].workload_configuration_details_list[0]
    assert "--served-model-name" in workload.cmd
    assert "restrictedParams" in workload.additional_configurations
    model = client.get_model(emulator.model_id).data
    metadata = {item.key: item.value for item in model.custom_metadata_list}
    assert metadata["deployment-container"] == "odsc-vllm-serving"
    llama = emulator.add_model("tiny-gguf", "odsc-llama-cpp-serving")
    metadata = {i.key: i.value for i in client.get_model(llama).data.custom_metadata_list}
    assert metadata["deployment-container"] == "odsc-llama-cpp-serving"
    shapes = client.list_model_deployment_shapes(emulator.compartment_id).data
    assert {"VM.GPU.A10.1", "VM.Standard.E4.Flex"} <= {s.name for s in shapes}


def test_the_emulators_own_deployment_is_not_managed_by_these_calls(
    emulator: LocalDeployment,
) -> None:
    error = _refusal(lambda: raw_client(emulator).deactivate_model_deployment(emulator.ocid))
    assert (error.status, error.code) == (409, "IncorrectState")
    assert "local.state" in error.message
