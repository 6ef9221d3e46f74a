"""The control plane against the emulator's: the real oci clients over HTTP on 127.0.0.1.

Every function runs through ``oci.data_science.DataScienceClient`` and
``oci.loggingsearch.LogSearchClient`` (built with the emulator's ``service_endpoint``),
signed, verified by the emulator and deserialised by oci itself. Sync and async twins
run through the same test bodies (the ``twin`` fixture).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import odsc_llm
from odsc_llm import control_plane as cp
from odsc_llm.control_plane import DeploymentInfo, LogRecord
from odsc_llm.errors import (
    APIStatusError,
    ControlPlaneError,
    DeploymentStateError,
    DeploymentWaitTimeout,
)
from odsc_llm.testing import LocalDeployment
from odsc_llm.testing._control_plane import LIST_PAGE_SIZE, SEARCH_PAGE_SIZE
from tests.support.clients import FakeTime

#: A poll interval that keeps waiting tests well under a second per poll.
FAST = 0.02
#: The generous upper bound on anything that could hang (follow, wait).
BOUND = 10.0
REGION = "us-ashburn-1"

_ASYNC = {
    "fetch": cp.afetch,
    "deployment_state": cp.adeployment_state,
    "list_deployments": cp.alist_deployments,
    "wait_until_active": cp.await_until_active,
    "logs": cp.alogs,
}


class Twin:
    """Calls the sync function or its async twin (in a fresh event loop) by name."""

    def __init__(self, is_async: bool) -> None:
        self.is_async = is_async

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if not self.is_async:
            return getattr(cp, name)(*args, **kwargs)
        return asyncio.run(_ASYNC[name](*args, **kwargs))

    def follow(
        self, local: LocalDeployment, first: int, then: Callable[[], None], **kw: Any
    ) -> list[LogRecord]:
        """``first`` records of follow_logs, then ``then()``, then one more record (bounded)."""
        if self.is_async:
            return asyncio.run(_afollow(local, first, then, **kw))
        records = cp.follow_logs(local.deployment, local.auth, poll_interval=FAST, **kw)
        got = _bounded(lambda: list(itertools.islice(records, first)))
        then()
        return got + _bounded(lambda: [next(records)])


def _bounded(func: Callable[[], list[LogRecord]]) -> list[LogRecord]:
    result: list[list[LogRecord]] = []
    thread = threading.Thread(target=lambda: result.append(func()), daemon=True)
    thread.start()
    thread.join(BOUND)
    assert result, f"follow_logs yielded nothing within {BOUND} s"
    return result[0]


async def _afollow(
    local: LocalDeployment, first: int, then: Callable[[], None], **kw: Any
) -> list[LogRecord]:
    records: AsyncIterator[LogRecord] = cp.afollow_logs(
        local.deployment, local.auth, poll_interval=FAST, **kw
    )

    async def take(n: int) -> list[LogRecord]:
        return [await records.__anext__() for _ in range(n)]

    got = await asyncio.wait_for(take(first), BOUND)
    then()
    return got + await asyncio.wait_for(take(1), BOUND)


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def twin(request: pytest.FixtureRequest) -> Twin:
    return Twin(request.param)


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


def _other_key_signer(local: LocalDeployment) -> Any:
    """A signer with the emulator's key id but another private key (a bad signature)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return oci.signer.Signer(
        local.tenancy, local.user, local.fingerprint, None, private_key_content=pem.decode()
    )


# -- where the calls go -----------------------------------------------------------------------


def test_a_loopback_deployment_is_its_own_control_plane(local: LocalDeployment) -> None:
    assert local.deployment.control_plane_url == local.base_url
    remote = odsc_llm.Deployment.from_ocid(local.ocid)
    assert remote.control_plane_url is None  # the region's public endpoints


def test_control_plane_endpoint_sends_any_deployment_there(local: LocalDeployment) -> None:
    public = f"https://modeldeployment.{REGION}.oci.customer-oci.com/{local.ocid}"
    dep = odsc_llm.Deployment.from_url(public, control_plane_endpoint=local.base_url + "/")
    assert dep.control_plane_url == local.base_url
    assert dep.fetch(local.auth).ocid == local.ocid
    assert local.requests[-1].path == f"/20190101/modelDeployments/{local.ocid}"
    by_ocid = odsc_llm.Deployment.from_ocid(local.ocid, control_plane_endpoint=local.base_url)
    assert by_ocid.fetch(local.auth).is_active


# -- fetch ------------------------------------------------------------------------------------


def test_fetch_through_the_real_oci_client(twin: Twin, local: LocalDeployment) -> None:
    info = twin("fetch", local.deployment, local.auth)
    assert isinstance(info, DeploymentInfo)
    assert info.ocid == local.ocid and info.region == REGION
    assert info.state == "ACTIVE" and info.is_active
    assert info.shape == "VM.GPU.A10.1" and info.instance_count == 1
    assert info.is_aqua and info.model_name == "odsc-llm"
    assert info.compartment_id == local.compartment_id
    assert info.endpoint == local.url
    assert odsc_llm.Deployment.from_info(info) == local.deployment
    assert info.log_ids("predict") is not None and info.log_ids("access") is not None
    assert twin("deployment_state", local.deployment, local.auth) == "ACTIVE"
    plane = local.control_plane
    assert info.lifecycle_state == "ACTIVE" and info.lifecycle_details is None
    assert info.display_name == "odsc-llm-local" and info.project_id == plane.project_id
    assert info.model_id == plane.model_id and info.time_created == plane.time_created
    assert info.predict_log_id == plane.predict_log_id
    assert info.access_log_id == plane.access_log_id
    assert info.predict_log_group_id == info.access_log_group_id == plane.log_group_id
    assert info.log_ids("predict") == (plane.log_group_id, plane.predict_log_id)
    request = local.requests[0]
    assert (request.method, request.status) == ("GET", 200)
    assert request.headers["authorization"].startswith("Signature ")
    # What oci sends on a body-less GET: the emulator must not demand content-length here.
    assert "content-length" not in request.headers
    assert {"date", "host", "opc-request-id", "user-agent"} <= set(request.headers)


def test_fetch_unknown_ocid_is_404_through_oci(twin: Twin, local: LocalDeployment) -> None:
    unknown = f"{local.base_url}/ocid1.datasciencemodeldeployment.oc1.iad.nosuchdeployment"
    with pytest.raises(ControlPlaneError) as caught:
        twin("fetch", unknown, local.auth)
    err = caught.value
    assert (err.status_code, err.code, err.operation) == (
        404,
        "NotAuthorizedOrNotFound",
        "GetModelDeployment",
    )
    assert err.request_id and err.request_id == local.requests[-1].request_id
    text = str(err)
    assert "nosuchdeployment" in text and "Authorization failed or requested resource" in text
    assert "does not exist" in text and "read data-science-model-deployments" in text
    assert isinstance(err.__cause__, oci.exceptions.ServiceError)


def test_bad_signature_is_401_through_oci(twin: Twin, local: LocalDeployment) -> None:
    with pytest.raises(ControlPlaneError) as caught:
        twin("fetch", local.deployment, _other_key_signer(local))  # a raw oci signer
    err = caught.value
    assert (err.status_code, err.code) == (401, "NotAuthenticated")
    assert "not authenticated" in str(err)
    assert isinstance(err.__cause__, oci.exceptions.ServiceError)
    assert local.requests[-1].status == 401


def test_fetch_accepts_a_url_string_and_a_raw_signer(local: LocalDeployment) -> None:
    local.state = "FAILED"
    local.lifecycle_details = "Model server failed to start"
    info = cp.fetch(local.url + "/predict", local.signer())
    assert info.state == info.lifecycle_state == "FAILED" and not info.is_active
    assert info.lifecycle_details == "Model server failed to start"


def test_fetch_without_auth_uses_auth_default(
    local: LocalDeployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    import odsc_llm.auth

    monkeypatch.setattr(odsc_llm.auth, "default", lambda: local.auth)
    assert cp.fetch(local.deployment).is_active


def test_deployment_state_and_hint(local: LocalDeployment) -> None:
    local.state = "CREATING"
    assert cp.deployment_state(local.deployment, local.auth) == "CREATING"
    hint = cp.state_hint("CREATING")
    assert "CREATING" in hint and "wait_until_active" in hint
    assert "capacity" in cp.state_hint("FAILED", "Out of host capacity")


def test_deployment_methods_delegate(local: LocalDeployment) -> None:
    dep = local.deployment
    assert dep.fetch(local.auth).state == "ACTIVE"
    assert dep.wait_until_active(local.auth, timeout=5).is_active
    records = dep.logs(local.auth, limit=3)
    assert len(records) == 3
    assert [r.message for r in records][-1] == "INFO:     Application startup complete."


async def test_deployment_async_methods_delegate(local: LocalDeployment) -> None:
    dep = local.deployment
    local.lifecycle_script(["CREATING", "ACTIVE"])
    assert (await dep.afetch(local.auth)).state == "CREATING"
    assert (await dep.await_until_active(local.auth, poll_interval=FAST)).is_active
    assert len(await dep.alogs(local.auth, limit=2)) == 2


# -- wait -------------------------------------------------------------------------------------


def test_wait_follows_the_lifecycle_script(twin: Twin, local: LocalDeployment) -> None:
    local.lifecycle_script(["CREATING", "CREATING", "UPDATING", "ACTIVE"])
    assert local.state == "CREATING"
    seen: list[str] = []
    started = time.monotonic()
    info = twin(
        "wait_until_active",
        local.deployment,
        local.auth,
        poll_interval=FAST,
        callback=lambda i: seen.append(i.state),
    )
    assert info.is_active and seen == ["CREATING", "CREATING", "UPDATING", "ACTIVE"]
    assert time.monotonic() - started < BOUND
    assert local.state == "ACTIVE"  # the last state sticks
    assert twin("fetch", local.deployment, local.auth).state == "ACTIVE"


def _gets(local: LocalDeployment) -> int:
    return sum(r.path.startswith("/20190101/modelDeployments/") for r in local.requests)


def test_wait_sleeps_poll_interval_between_polls(local: LocalDeployment) -> None:
    local.lifecycle_script(["CREATING", "CREATING", "ACTIVE"])
    fake = FakeTime()
    seen: list[str] = []
    info = cp.wait_until_active(
        local.deployment,
        local.auth,
        timeout=600,
        poll_interval=20,
        callback=lambda i: seen.append(i.state),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert info.is_active
    assert seen == ["CREATING", "CREATING", "ACTIVE"]
    assert fake.sleeps == [20, 20]
    assert _gets(local) == 3


def test_wait_timeout_stops_at_the_deadline(local: LocalDeployment) -> None:
    local.state = "CREATING"
    local.lifecycle_details = "Provisioning compute"
    fake = FakeTime()
    with pytest.raises(DeploymentWaitTimeout) as caught:
        cp.wait_until_active(
            local.deployment,
            local.auth,
            timeout=50,
            poll_interval=20,
            sleep=fake.sleep,
            clock=fake.clock,
        )
    err = caught.value
    assert isinstance(err, DeploymentStateError)
    assert err.state == "CREATING" and err.lifecycle_details == "Provisioning compute"
    assert fake.sleeps == [20, 20, 10]  # the last sleep stops at the deadline
    assert "still CREATING after 50 s" in str(err) and "Application startup complete" in str(err)


def test_wait_inactive_gets_one_grace_poll(local: LocalDeployment) -> None:
    fake = FakeTime()
    local.lifecycle_script(["INACTIVE", "UPDATING", "ACTIVE"])
    info = cp.wait_until_active(local.deployment, local.auth, sleep=fake.sleep, clock=fake.clock)
    assert info.is_active
    local.state = "INACTIVE"
    with pytest.raises(DeploymentStateError, match="activate it"):
        cp.wait_until_active(local.deployment, local.auth, sleep=fake.sleep, clock=fake.clock)


def test_wait_failed_carries_details_and_model_server_errors(
    twin: Twin, local: LocalDeployment
) -> None:
    local.lifecycle_script(["CREATING", "FAILED"])
    local.lifecycle_details = "Container exited with 1"
    local.add_log_line("torch.OutOfMemoryError: CUDA out of memory")
    with pytest.raises(DeploymentStateError) as caught:
        twin("wait_until_active", local.deployment, local.auth, poll_interval=FAST)
    err = caught.value
    assert not isinstance(err, DeploymentWaitTimeout)
    assert err.state == "FAILED" and err.lifecycle_details == "Container exited with 1"
    assert "Application startup complete" in err.log_lines[-2]  # oldest first
    assert "ERROR" in err.log_lines[-1] and "CUDA out of memory" in err.log_lines[-1]
    assert "Container exited with 1" in str(err) and "CUDA out of memory" in str(err)


def test_wait_timeout_on_a_deployment_that_stays_creating(
    twin: Twin, local: LocalDeployment
) -> None:
    local.state = "CREATING"
    local.lifecycle_details = "Provisioning compute"
    started = time.monotonic()
    with pytest.raises(DeploymentWaitTimeout) as caught:
        twin("wait_until_active", local.deployment, local.auth, timeout=0.2, poll_interval=FAST)
    assert time.monotonic() - started < 0.2 + BOUND
    err = caught.value
    assert err.state == "CREATING" and "still CREATING after 0.2 s" in str(err)
    assert "Provisioning compute" in str(err) and err.log_lines


def test_lifecycle_state_is_checked_and_setting_it_drops_the_script(
    local: LocalDeployment,
) -> None:
    with pytest.raises(ValueError, match="RUNNING"):
        local.state = "RUNNING"
    with pytest.raises(ValueError, match="RUNNING"):
        local.lifecycle_script(["CREATING", "RUNNING"])
    with pytest.raises(ValueError, match="at least one"):
        local.lifecycle_script([])
    local.lifecycle_script(["CREATING", "ACTIVE"])
    local.state = "INACTIVE"
    assert local.deployment.fetch(local.auth).state == "INACTIVE"
    local.reset()
    assert local.state == "ACTIVE" and local.lifecycle_details is None


# -- logs -------------------------------------------------------------------------------------


def test_logs_predict_is_the_model_servers_start_up(twin: Twin, local: LocalDeployment) -> None:
    records = twin("logs", local.deployment, local.auth)
    assert all(isinstance(r, LogRecord) and r.kind == "predict" for r in records)
    assert records[0].message == "INFO:     Started server process [1]"
    assert records[-1].message == "INFO:     Application startup complete."
    assert [r.time for r in records] == sorted(r.time for r in records)
    assert {r.level for r in records} == {"INFO"}
    tail = twin("logs", local.deployment, local.auth, limit=2)
    assert [r.message for r in tail] == [r.message for r in records[-2:]]
    search = [r for r in local.requests if r.path.startswith("/20190909/search")]
    assert search and all(r.method == "POST" and r.status == 200 for r in search)
    assert "content-length" in search[0].headers  # a body: signed with its length


def test_logs_access_records_the_emulators_requests(twin: Twin, local: LocalDeployment) -> None:
    client = local.client(max_retries=0)
    client.completions.create(prompt="hello", max_tokens=2)
    local.faults.push(status=503)
    with pytest.raises(APIStatusError):
        client.completions.create(prompt="again", max_tokens=2)
    records = twin("logs", local.deployment, local.auth, kind="access", since=timedelta(minutes=5))
    assert [r.data["status"] for r in records] == [200, 503]
    assert [r.level for r in records] == ["INFO", "ERROR"]
    assert all(r.message.startswith(f"POST /{local.ocid}/predict") for r in records)
    assert records[1].data["opcRequestId"] == local.requests[1].request_id


def test_logs_follow_every_page(local: LocalDeployment) -> None:
    for i in range(SEARCH_PAGE_SIZE + 20):
        local.add_log_line(f"INFO line {i}")
    records = local.deployment.logs(local.auth, limit=SEARCH_PAGE_SIZE + 10)
    assert len(records) == SEARCH_PAGE_SIZE + 10
    assert records[-1].message == f"INFO line {SEARCH_PAGE_SIZE + 19}"
    pages = [r for r in local.requests if r.path.startswith("/20190909/search")]
    assert len(pages) == 2 and "page=" in pages[1].path


def test_follow_logs_yields_new_lines_once(twin: Twin, local: LocalDeployment) -> None:
    first = len(local.deployment.logs(local.auth))
    got = twin.follow(local, first, lambda: local.add_log_line("ERROR the model server broke"))
    messages = [r.message for r in got]
    assert messages[-1] == "ERROR the model server broke"
    assert len(set(messages)) == len(messages) == first + 1  # nothing twice
    assert got[-1].level == "ERROR"


def test_logs_follow_true_is_deprecated(local: LocalDeployment) -> None:
    with pytest.warns(DeprecationWarning, match=r"follow_logs\(\)"):
        records = cp.logs(local.deployment, local.auth, follow=True, poll_interval=FAST)
    assert isinstance(next(iter(records)), LogRecord)
    with pytest.warns(DeprecationWarning, match=r"Deployment.follow_logs\(\)"):
        from_method = local.deployment.logs(local.auth, follow=True, poll_interval=FAST)
    assert isinstance(next(iter(from_method)), LogRecord)


async def test_alogs_follow_true_is_deprecated(local: LocalDeployment) -> None:
    with pytest.warns(DeprecationWarning, match=r"afollow_logs\(\)"):
        records: Any = await cp.alogs(local.deployment, local.auth, follow=True)
    first = await asyncio.wait_for(records.__anext__(), BOUND)
    assert isinstance(first, LogRecord)
    await records.aclose()
    with pytest.warns(DeprecationWarning, match=r"Deployment.afollow_logs\(\)"):
        from_method: Any = await local.deployment.alogs(local.auth, follow=True, poll_interval=1)
    assert isinstance(await asyncio.wait_for(from_method.__anext__(), BOUND), LogRecord)
    await from_method.aclose()


def test_follow_logs_checks_its_arguments_before_any_call(local: LocalDeployment) -> None:
    before = len(local.requests)
    with pytest.raises(ValueError, match="poll_interval"):
        cp.follow_logs(local.deployment, local.auth, poll_interval=0)
    with pytest.raises(ValueError, match="limit"):
        cp.afollow_logs(local.deployment, local.auth, limit=0)
    with pytest.raises(ValueError, match="kind"):
        local.deployment.follow_logs(local.auth, kind="stdout")  # type: ignore[arg-type]
    assert len(local.requests) == before


# -- list -------------------------------------------------------------------------------------


def test_list_deployments_pages_and_filters(twin: Twin, local: LocalDeployment) -> None:
    kw: dict[str, Any] = {"region": REGION, "control_plane_endpoint": local.base_url}
    everything = twin("list_deployments", local.compartment_id, local.auth, aqua_only=False, **kw)
    assert len(everything) == 3 > LIST_PAGE_SIZE
    assert all(isinstance(i, DeploymentInfo) and i.region == REGION for i in everything)
    pages = [r.path for r in local.requests if r.path.startswith("/20190101/modelDeployments?")]
    assert len(pages) == 2 and "page=" in pages[1]
    assert everything[0].ocid == local.ocid and everything[0].shape == "VM.GPU.A10.1"
    aqua = twin("list_deployments", local.compartment_id, local.auth, **kw)
    assert [i.display_name for i in aqua] == ["odsc-llm-local", "llama-local"]
    assert aqua[1].model_name == "Meta-Llama-3-8B-Instruct" and aqua[1].state == "CREATING"
    creating = twin(
        "list_deployments", local.compartment_id, local.auth, lifecycle_state="CREATING", **kw
    )
    assert [i.display_name for i in creating] == ["llama-local"]
    neighbour = odsc_llm.Deployment.from_url(aqua[1].endpoint or "")
    assert neighbour.fetch(local.auth).state == "CREATING"


def test_list_deployments_region_from_the_signer_or_env(
    local: LocalDeployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCI_REGION", raising=False)
    monkeypatch.delenv("OCI_RESOURCE_PRINCIPAL_REGION", raising=False)
    signer = local.signer()
    signer.region = "ap-tokyo-1"  # as resource and instance principal signers carry it
    where = {"control_plane_endpoint": local.base_url}
    infos = cp.list_deployments(local.compartment_id, signer, **where)
    assert {i.region for i in infos} == {"ap-tokyo-1"}
    monkeypatch.setenv("OCI_REGION", "sa-saopaulo-1")
    infos = cp.list_deployments(local.compartment_id, local.auth, **where)
    assert {i.region for i in infos} == {"sa-saopaulo-1"}


def test_list_deployments_of_an_unknown_compartment_is_404(
    twin: Twin, local: LocalDeployment
) -> None:
    with pytest.raises(ControlPlaneError) as caught:
        twin(
            "list_deployments",
            "ocid1.compartment.oc1..someoneelse",
            local.auth,
            region=REGION,
            control_plane_endpoint=local.base_url,
        )
    assert caught.value.status_code == 404 and caught.value.operation == "ListModelDeployments"


def test_list_deployments_refuses_an_insecure_endpoint(local: LocalDeployment) -> None:
    with pytest.raises(odsc_llm.InvalidDeploymentError, match="allow_insecure"):
        cp.list_deployments(
            local.compartment_id,
            local.auth,
            region=REGION,
            control_plane_endpoint="http://10.1.1.1",
        )


# -- the clients' state hint ------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_client_state_hint_asks_the_emulator(is_async: bool, local: LocalDeployment) -> None:
    local.state = "CREATING"
    local.faults.push(status=503)
    with pytest.raises(APIStatusError) as caught:
        if is_async:

            async def call() -> None:
                async with local.async_client(state_hint=True, max_retries=0) as client:
                    await client.completions.create(prompt="hi")

            asyncio.run(call())
        else:
            with local.client(state_hint=True, max_retries=0) as client:
                client.completions.create(prompt="hi")
    assert caught.value.status_code == 503
    assert "CREATING" in str(caught.value)
    assert any(r.path.startswith("/20190101/modelDeployments/") for r in local.requests)


def test_control_plane_requests_are_not_faulted(local: LocalDeployment) -> None:
    local.faults.push(status=500)
    assert local.deployment.fetch(local.auth).is_active  # the fault waits for a predict call
    assert len(local.faults) == 1
