"""The deployment lifecycle (create, update/scale, activate, deactivate, delete, wait)
through ``odsc_llm.control_plane`` and the real ``oci`` DataScienceClient, against the
emulator's control plane. Sync and async twins share each test body."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import odsc_llm
from odsc_llm import control_plane as cp
from odsc_llm.control_plane import DeploymentInfo
from odsc_llm.errors import (
    ControlPlaneError,
    DeploymentStateError,
    DeploymentWaitTimeout,
    InvalidRequestError,
    NotFoundError,
)
from odsc_llm.testing import LocalDeployment

FAST = 0.02
#: The Deployment a DeploymentInfo describes.
at = odsc_llm.Deployment.from_info
REGION = "us-ashburn-1"


class Life:
    """One lifecycle call by name: the sync function, or its ``a``-twin on a fresh loop."""

    def __init__(self, local: LocalDeployment, is_async: bool) -> None:
        self.local = local
        self.is_async = is_async

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name in ("create_deployment", "list_containers"):
            kwargs.setdefault("auth", self.local.auth)
            kwargs.setdefault("region", REGION)
            kwargs.setdefault("control_plane_endpoint", self.local.base_url)
        else:
            args = (*args, self.local.auth)
        if name not in ("list_containers",):
            kwargs.setdefault("poll_interval", FAST)
        if not self.is_async:
            return getattr(cp, name)(*args, **kwargs)
        twin = getattr(cp, "await_until_done" if name == "wait_until_done" else f"a{name}")
        return asyncio.run(twin(*args, **kwargs))

    def create(self, **kwargs: Any) -> DeploymentInfo:
        kwargs.setdefault("compartment_id", self.local.compartment_id)
        kwargs.setdefault("project_id", self.local.project_id)
        kwargs.setdefault("shape", "VM.GPU.A10.1")
        return self("create_deployment", self.local.model_id, **kwargs)  # type: ignore[no-any-return]


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def life(request: pytest.FixtureRequest, emulator: LocalDeployment) -> Life:
    emulator.lifecycle.transition_seconds = 0.1
    return Life(emulator, request.param)


def _stream_chat(local: LocalDeployment, info: DeploymentInfo) -> str:
    with odsc_llm.Client(at(info), auth=local.auth, max_retries=0) as client:
        stream = client.chat.completions.create(
            model="odsc-llm", messages=[{"role": "user", "content": "hello"}], stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def _env(local: LocalDeployment, info: DeploymentInfo) -> dict[str, str]:
    body = local.lifecycle.deployments[info.ocid].body
    details = body["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]
    return dict(details["environmentVariables"])


def test_the_whole_life(life: Life, emulator: LocalDeployment) -> None:
    seen: list[str] = []
    info = life.create(display_name="life", wait=True, callback=lambda i: seen.append(i.state))
    assert info.state == "ACTIVE" and seen[-1] == "ACTIVE"
    assert info.container == "dsmc://odsc-vllm-serving:0.9.1.2"
    assert info.endpoint is not None and info.ocid in info.endpoint
    assert "hello" in _stream_chat(emulator, info)

    scaled = life("update_deployment", at(info), instance_count=2, wait=True)
    assert (scaled.state, scaled.instance_count) == ("ACTIVE", 2)
    stopped = life("deactivate", at(info), wait=True)
    assert stopped.state == "INACTIVE"
    with pytest.raises(NotFoundError):
        _stream_chat(emulator, info)
    assert life("activate", at(info), wait=True).state == "ACTIVE"
    assert "hello" in _stream_chat(emulator, info)
    assert life("delete", at(info), wait=True).state == "DELETED"


def test_create_without_wait_answers_creating_with_its_work_request(life: Life) -> None:
    info = life.create()
    assert info.state == "CREATING" and info.work_request_id
    done = life("wait_until_done", at(info), work_request_id=info.work_request_id)
    assert done.state == "ACTIVE"


def test_params_are_the_containers_then_the_users(life: Life, emulator: LocalDeployment) -> None:
    info = life.create(params="--max-model-len 8192", served_model_name="my-llm",
                       env={"EXTRA": "1"})  # fmt: skip
    env = _env(emulator, info)
    assert env["PARAMS"] == "--served-model-name my-llm --seed 42 --max-model-len 8192"
    assert env["EXTRA"] == "1" and env["PORT"] == "8080"
    life("wait_until_done", at(info), work_request_id=info.work_request_id)
    life("update_deployment", at(info), params=["--max-model-len", "4096"],
         env={"EXTRA": None, "NEW": "x"}, wait=True)  # fmt: skip
    env = _env(emulator, info)
    assert env["PARAMS"] == "--served-model-name my-llm --seed 42 --max-model-len 4096"
    assert "EXTRA" not in env and env["NEW"] == "x" and env["PORT"] == "8080"


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"params": "--port 9000"}, "--port"),
        ({"params": "--served-model-name x"}, "served_model_name="),
        ({"shape": "VM.GPU.Nope.9"}, "VM.Standard.E4.Flex"),
        ({"shape": "VM.Standard.E4.Flex"}, "ocpus= and memory_gb="),
        ({"params_billion": 70}, "does not fit VM.GPU.A10.1"),
        ({"project_id": "ocid1.compartment.oc1..x"}, "project_id"),
        ({"compartment_id": "ocid1.datascienceproject.oc1..x"}, "compartment_id"),
        ({"env": {"PARAMS": "--x"}}, "params="),
        ({"container_family": "odsc-nope"}, "odsc-tei-serving"),
    ],
)
def test_checks_before_any_change(
    life: Life, emulator: LocalDeployment, changes: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        life.create(**changes)
    assert named in str(info.value)
    assert not emulator.lifecycle.deployments


def test_a_shape_the_service_lists_and_force_pass(life: Life) -> None:
    flex = life.create(shape="VM.Standard.E4.Flex", ocpus=4, memory_gb=64)
    assert flex.shape == "VM.Standard.E4.Flex"
    forced = life.create(params_billion=70, force=True)
    assert forced.state == "CREATING"


def test_a_create_whose_answer_is_lost_is_retried_with_the_same_token(
    life: Life, emulator: LocalDeployment
) -> None:
    emulator.lifecycle.drop_next_create_answer()
    info = life.create(max_retries=2)
    assert list(emulator.lifecycle.deployments) == [info.ocid]


def test_a_failed_work_request_raises_with_its_messages(
    life: Life, emulator: LocalDeployment
) -> None:
    emulator.lifecycle.fail_next_operation("Out of host capacity for VM.GPU.A10.1.")
    with pytest.raises(DeploymentStateError) as info:
        life.create(wait=True)
    assert "Out of host capacity" in str(info.value)
    assert "MODEL_DEPLOYMENT_CREATE" in str(info.value)
    assert info.value.state == "FAILED"


def test_waiting_past_the_timeout_says_how_to_keep_waiting(
    life: Life, emulator: LocalDeployment
) -> None:
    emulator.lifecycle.transition_seconds = 0.5
    with pytest.raises(DeploymentWaitTimeout) as info:
        life.create(wait=True, timeout=0.05)
    text = str(info.value)
    assert "goes on" in text and "wait_until_done(" in text and "odsc-llm wait" in text
    (ocid,) = emulator.lifecycle.deployments
    resumed = life("wait_until_done", ocid_deployment(emulator, ocid), timeout=10)
    assert resumed.state == "ACTIVE"


def ocid_deployment(local: LocalDeployment, ocid: str) -> odsc_llm.Deployment:
    return odsc_llm.Deployment.from_url(f"{local.base_url}/{ocid}")


def test_a_409_says_the_state_and_what_to_do(life: Life) -> None:
    info = life.create(wait=True)
    with pytest.raises(ControlPlaneError) as error:
        life("activate", at(info))
    assert error.value.status_code == 409 and error.value.code == "IncorrectState"
    assert "already ACTIVE: nothing to do" in str(error.value)


def test_update_needs_something_to_change(life: Life) -> None:
    info = life.create()
    with pytest.raises(InvalidRequestError, match="needs something to change"):
        life("update_deployment", at(info))


def test_list_containers_is_typed(life: Life) -> None:
    containers = life("list_containers")
    latest = {c.family: c for c in containers if c.is_latest}
    assert latest["odsc-vllm-serving"].image == "dsmc://odsc-vllm-serving:0.9.1.2"
    assert "--served-model-name" in latest["odsc-vllm-serving"].restricted_params
    assert {"odsc-llama-cpp-serving", "odsc-tei-serving"} <= set(latest)


def test_list_deployments_filters_by_state_and_name(life: Life, emulator: LocalDeployment) -> None:
    info = life.create(display_name="filtered", wait=True)
    found = cp.list_deployments(emulator.compartment_id, emulator.auth, aqua_only=False,
                                region=REGION, control_plane_endpoint=emulator.base_url,
                                state="ACTIVE", display_name="filtered")  # fmt: skip
    assert [d.ocid for d in found] == [info.ocid]


def test_deployment_methods_are_the_control_plane_calls(
    life: Life, emulator: LocalDeployment
) -> None:
    dep = at(life.create(wait=True))
    auth = emulator.auth

    def run(method: str, *args: Any) -> DeploymentInfo:
        if life.is_async:
            return asyncio.run(getattr(dep, f"a{method}")(*args, auth, wait=True,
                                                          poll_interval=FAST))  # fmt: skip
        return getattr(dep, method)(*args, auth, wait=True, poll_interval=FAST)  # type: ignore[no-any-return]

    assert run("scale", 3).instance_count == 3
    assert run("deactivate").state == "INACTIVE"
    assert run("activate").state == "ACTIVE"
    assert run("delete").state == "DELETED"


def test_update_checks_a_new_shape_before_sending(life: Life, emulator: LocalDeployment) -> None:
    info = life.create(wait=True)
    with pytest.raises(InvalidRequestError, match=r"VM\.GPU\.Nope\.1"):
        life("update_deployment", at(info), shape="VM.GPU.Nope.1")
    assert emulator.lifecycle.deployments[info.ocid].state == "ACTIVE"
    flex = life("update_deployment", at(info), shape="VM.Standard.E4.Flex", ocpus=2,
                memory_gb=32, wait=True)  # fmt: skip
    assert flex.shape == "VM.Standard.E4.Flex"


def test_the_first_polls_come_quickly_then_every_poll_interval(
    life: Life, emulator: LocalDeployment
) -> None:
    now = [0.0]
    emulator.lifecycle.clock = lambda: now[0]
    emulator.lifecycle.transition_seconds = 50.0
    slept: list[float] = []

    def advance(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def aadvance(seconds: float) -> None:
        advance(seconds)

    info = life.create()
    life("wait_until_done", at(info), work_request_id=info.work_request_id,
         poll_interval=15.0, sleep=aadvance if life.is_async else advance)  # fmt: skip
    assert slept == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
