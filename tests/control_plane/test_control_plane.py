"""Control plane: fetch, list, wait, logs, against fake oci clients.

The end-to-end tests (real oci clients over HTTP, against the emulator's control plane)
are in ``test_control_plane_emulator.py``. These fakes stay for what the emulator does
not do: service errors it cannot produce (a 400 from Logging Search), the exact request
details (query string, time windows, page tokens), and an injected clock, so timeouts
and follow windows are checked to the second without waiting.

The fakes stand at the oci clients' Python boundary (``get_model_deployment``,
``list_model_deployments``, ``search_logs``) and answer with real oci model objects,
deserialized by oci itself from JSON bodies shaped like the real API's.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import oci
import pytest

import odsc_llm
from odsc_llm import control_plane as cp
from odsc_llm.control_plane import DeploymentInfo, LogRecord
from odsc_llm.control_plane._clients import _service_config
from odsc_llm.errors import (
    AuthError,
    ControlPlaneError,
    DeploymentStateError,
    DeploymentWaitTimeout,
)
from tests.support.clients import FakeTime

REGION = "us-ashburn-1"
MD_OCID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaaexample"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaacompartment"
PROJECT = "ocid1.datascienceproject.oc1.iad.aaaaaaaproject"
MODEL = "ocid1.datasciencemodel.oc1.iad.amaaaaaamodel"
LOG_GROUP = "ocid1.loggroup.oc1.iad.amaaaaaaloggroup"
PREDICT_LOG = "ocid1.log.oc1.iad.amaaaaaapredict"
ACCESS_LOG = "ocid1.log.oc1.iad.amaaaaaaaccess"
ENDPOINT = f"https://modeldeployment.{REGION}.oci.customer-oci.com/{MD_OCID}"
DEP = odsc_llm.Deployment.from_url(ENDPOINT)

# Real oci clients, used only to deserialize JSON bodies into oci model objects.
_DESERIALIZERS = {
    "data_science": oci.data_science.DataScienceClient(_service_config(REGION), signer=object()),
    "log_search": oci.loggingsearch.LogSearchClient(_service_config(REGION), signer=object()),
}


def _oci(body: Any, type_name: str) -> Any:
    client = _DESERIALIZERS["log_search" if type_name == "SearchResponse" else "data_science"]
    data = client.base_client.deserialize_response_data(json.dumps(body).encode(), type_name)
    assert not isinstance(data, dict), f"oci did not know {type_name}"
    return data


def _response(data: Any, next_page: str | None = None) -> oci.response.Response:
    headers = {"opc-request-id": "req-123"}
    if next_page:
        headers["opc-next-page"] = next_page
    return oci.response.Response(200, headers, data, None)


def md_body(
    state: str = "ACTIVE",
    details: str | None = None,
    *,
    ocid: str = MD_OCID,
    name: str = "mistral-7b-md",
    aqua: bool = True,
    logs: bool = True,
) -> dict[str, Any]:
    """A GetModelDeployment body as the Data Science API sends it (camelCase)."""
    body: dict[str, Any] = {
        "id": ocid,
        "timeCreated": "2025-03-01T10:15:30.123Z",
        "displayName": name,
        "description": "Mistral 7B by AI Quick Actions",
        "projectId": PROJECT,
        "createdBy": "ocid1.user.oc1..aaaaaaaauser",
        "compartmentId": COMPARTMENT,
        "modelDeploymentConfigurationDetails": {
            "deploymentType": "SINGLE_MODEL",
            "modelConfigurationDetails": {
                "modelId": MODEL,
                "instanceConfiguration": {"instanceShapeName": "VM.GPU.A10.2"},
                "scalingPolicy": {"policyType": "FIXED_SIZE", "instanceCount": 1},
                "bandwidthMbps": 10,
            },
            "environmentConfigurationDetails": {
                "environmentConfigurationType": "OCIR_CONTAINER",
                "image": "dsmc://odsc-vllm-serving:0.6.4.post1.2",
                "serverPort": 8080,
                "healthCheckPort": 8080,
                "environmentVariables": {"MODEL_DEPLOY_PREDICT_ENDPOINT": "/v1/completions"},
            },
        },
        "modelDeploymentUrl": f"https://modeldeployment.{REGION}.oci.customer-oci.com/{ocid}",
        "lifecycleState": state,
        "freeformTags": {},
        "definedTags": {},
    }
    if details is not None:
        body["lifecycleDetails"] = details
    if aqua:
        body["freeformTags"] = {
            "OCI_AQUA": "active",
            "aqua_service_model": f"{MODEL}#Mistral-7B-Instruct-v0.3",
            "aqua_model_name": "Mistral-7B-Instruct-v0.3",
        }
    if logs:
        body["categoryLogDetails"] = {
            "access": {"logId": ACCESS_LOG, "logGroupId": LOG_GROUP},
            "predict": {"logId": PREDICT_LOG, "logGroupId": LOG_GROUP},
        }
    return body


def log_result(
    message: str | None,
    when: datetime,
    *,
    rid: str | None = None,
    kind: str = "predict",
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One Logging Search result as the API sends it."""
    return {
        "data": {
            "datetime": int(when.timestamp() * 1000),
            "logContent": {
                "data": data if data is not None else {"message": message},
                "id": rid or f"id-{when.timestamp()}-{message}",
                "oracle": {
                    "compartmentid": COMPARTMENT,
                    "ingestedtime": when.isoformat(),
                    "loggroupid": LOG_GROUP,
                    "logid": PREDICT_LOG,
                    "tenantid": "ocid1.tenancy.oc1..aaaaaaaatenancy",
                },
                "source": MD_OCID,
                "specversion": "1.0",
                "subject": "",
                "time": when.isoformat().replace("+00:00", "Z"),
                "type": f"com.oraclecloud.datascience.modeldeployment.{kind}",
            },
        }
    }


def search_page(results: list[dict[str, Any]]) -> Any:
    return _oci(
        {
            "results": results,
            "summary": {"resultCount": len(results), "fieldCount": 0},
        },
        "SearchResponse",
    )


class FakeDataScience:
    def __init__(self, states: list[dict[str, Any]] | None = None) -> None:
        self.states = list(states or [])
        self.get_calls: list[str] = []
        self.list_pages: list[tuple[list[dict[str, Any]], str | None]] = []
        self.list_calls: list[dict[str, Any]] = []
        self.error: Exception | None = None

    def get_model_deployment(self, model_deployment_id: str, **kwargs: Any) -> Any:
        self.get_calls.append(model_deployment_id)
        if self.error is not None:
            raise self.error
        body = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return _response(_oci(body, "ModelDeployment"))

    def list_model_deployments(self, compartment_id: str, **kwargs: Any) -> Any:
        self.list_calls.append({"compartment_id": compartment_id, **kwargs})
        index = len(self.list_calls) - 1
        bodies, next_page = self.list_pages[index]
        return _response(_oci(bodies, "list[ModelDeploymentSummary]"), next_page)


class FakeLogSearch:
    def __init__(self, pages: list[tuple[list[dict[str, Any]], str | None]] | None = None):
        self.pages = list(pages or [])
        self.calls: list[dict[str, Any]] = []
        self.error: Exception | None = None

    def search_logs(self, search_logs_details: Any, **kwargs: Any) -> Any:
        self.calls.append({"details": search_logs_details, **kwargs})
        if self.error is not None:
            raise self.error
        results, next_page = self.pages.pop(0) if self.pages else ([], None)
        return _response(search_page(results), next_page)


class Factory:
    def __init__(self, ds: FakeDataScience, search: FakeLogSearch | None = None) -> None:
        self.ds = ds
        self.clients: dict[str, Any] = {"data_science": ds, "log_search": search or FakeLogSearch()}
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(self, service: str, region: str, signer: Any) -> Any:
        self.calls.append((service, region, signer))
        return self.clients[service]


class FakeSigner:
    """Stands in for an oci signer (the fakes never sign); ``region`` like a principal's."""

    def __init__(self, region: str | None = None) -> None:
        self.region = region

    def __call__(self, request: Any) -> Any:
        return request


SIGNER = FakeSigner()
AUTH = odsc_llm.auth.from_signer(SIGNER)


def no_sleep(seconds: float) -> None:
    pytest.fail(f"unexpected sleep({seconds})")


def service_error(status: int, code: str, message: str) -> oci.exceptions.ServiceError:
    return oci.exceptions.ServiceError(
        status, code, {"opc-request-id": "req-404"}, message, operation_name="op"
    )


# -- fetch ---------------------------------------------------------------------------------


def test_fetch_accepts_ocid_string_and_raw_signer() -> None:
    # A bare OCID goes to the region's public endpoint: a fake client stands in for it.
    def raw_signer(request: Any) -> Any:  # oci signers are callables
        return request

    factory = Factory(FakeDataScience([md_body()]))
    info = cp.fetch(MD_OCID, raw_signer, client_factory=factory)
    assert info.is_active
    assert factory.calls[0] == ("data_science", REGION, raw_signer)


def test_bad_auth_is_a_typed_error() -> None:
    factory = Factory(FakeDataScience([md_body()]))
    with pytest.raises(AuthError, match="OCIAuth"):
        cp.fetch(DEP, "my-password", client_factory=factory)
    assert factory.calls == []


def test_info_repr_and_html_are_readable() -> None:
    info = DeploymentInfo.from_oci(_oci(md_body(name="<b>x</b>"), "ModelDeployment"), REGION)
    text = repr(info)
    assert text.startswith("DeploymentInfo(") and "state='ACTIVE'" in text
    assert "VM.GPU.A10.2" in text and "freeform_tags" not in text
    page = info._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page


# -- list ----------------------------------------------------------------------------------


def test_list_deployments_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCI_REGION", raising=False)
    monkeypatch.delenv("OCI_RESOURCE_PRINCIPAL_REGION", raising=False)
    factory = Factory(FakeDataScience())
    with pytest.raises(ValueError, match="compartment OCID"):
        cp.list_deployments("my-compartment", AUTH, region=REGION, client_factory=factory)
    with pytest.raises(ValueError, match="region="):
        cp.list_deployments(COMPARTMENT, AUTH, client_factory=factory)
    with pytest.raises(ValueError, match="lifecycle_state"):
        cp.list_deployments(
            COMPARTMENT, AUTH, region=REGION, lifecycle_state="RUNNING", client_factory=factory
        )


def test_list_deployments_is_exported_lazily() -> None:
    assert odsc_llm.list_deployments is cp.list_deployments
    assert odsc_llm.DeploymentInfo is DeploymentInfo


# -- wait ----------------------------------------------------------------------------------


def test_wait_failed_raises_with_details_and_log_lines() -> None:
    ds = FakeDataScience([md_body("CREATING"), md_body("FAILED", "Container exited with 1")])
    t0 = datetime(2025, 3, 1, 10, 20, tzinfo=timezone.utc)
    search = FakeLogSearch(
        [
            (
                [
                    log_result(
                        "torch.OutOfMemoryError: CUDA out of memory", t0 + timedelta(seconds=2)
                    ),
                    log_result("INFO 03-01 10:20:00 Loading weights", t0),
                ],
                None,
            )
        ]
    )
    fake = FakeTime()
    with pytest.raises(DeploymentStateError) as caught:
        cp.wait_until_active(
            DEP,
            AUTH,
            poll_interval=10,
            client_factory=Factory(ds, search),
            sleep=fake.sleep,
            clock=fake.clock,
        )
    err = caught.value
    assert not isinstance(err, DeploymentWaitTimeout)
    assert err.state == "FAILED"
    assert err.lifecycle_details == "Container exited with 1"
    assert len(err.log_lines) == 2
    assert "Loading weights" in err.log_lines[0]  # oldest first
    assert "ERROR" in err.log_lines[1] and "CUDA out of memory" in err.log_lines[1]
    text = str(err)
    assert "FAILED" in text and "Container exited with 1" in text and "CUDA out of memory" in text
    assert fake.sleeps == [10]


def test_wait_failed_when_logs_fail_still_reports_the_state() -> None:
    ds = FakeDataScience([md_body("FAILED", "Out of host capacity")])
    search = FakeLogSearch()
    search.error = service_error(404, "NotAuthorizedOrNotFound", "no log")
    with pytest.raises(DeploymentStateError) as caught:
        cp.wait_until_active(DEP, AUTH, client_factory=Factory(ds, search), sleep=no_sleep)
    err = caught.value
    assert err.state == "FAILED" and err.log_lines == []
    assert "Out of host capacity" in str(err) and "could not read its logs" in str(err)


def test_wait_failed_without_predict_log() -> None:
    ds = FakeDataScience([md_body("DELETED", logs=False)])
    with pytest.raises(DeploymentStateError, match="no predict log is configured"):
        cp.wait_until_active(DEP, AUTH, client_factory=Factory(ds), sleep=no_sleep)


def test_wait_rejects_bad_arguments() -> None:
    factory = Factory(FakeDataScience([md_body()]))
    with pytest.raises(ValueError, match="poll_interval"):
        cp.wait_until_active(DEP, AUTH, poll_interval=0, client_factory=factory)
    with pytest.raises(ValueError, match="timeout"):
        cp.wait_until_active(DEP, AUTH, timeout=-1, client_factory=factory)


# -- logs ----------------------------------------------------------------------------------

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_logs_query_window_pages_and_order() -> None:
    t = [NOW - timedelta(minutes=m) for m in range(6)]  # newest first, as sorted desc
    search = FakeLogSearch(
        [
            ([log_result(f"INFO line {i}", t[i]) for i in range(3)], "p2"),
            ([log_result(f"INFO line {i}", t[i]) for i in range(3, 6)], None),
        ]
    )
    factory = Factory(FakeDataScience([md_body()]), search)
    records = cp.logs(
        DEP, AUTH, since=timedelta(hours=2), limit=5, client_factory=factory, now=lambda: NOW
    )
    assert [r.message for r in records] == [f"INFO line {i}" for i in (4, 3, 2, 1, 0)]
    assert all(isinstance(r, LogRecord) and r.kind == "predict" for r in records)
    assert records[-1].time == NOW and records[-1].level == "INFO"
    assert [c.get("page") for c in search.calls] == [None, "p2"]  # stopped at the limit
    details = search.calls[0]["details"]
    assert isinstance(details, oci.loggingsearch.models.SearchLogsDetails)
    assert details.search_query == (
        f'search "{COMPARTMENT}/{LOG_GROUP}/{PREDICT_LOG}" '
        f"| where source = '*{MD_OCID}' | sort by datetime desc"
    )
    assert details.time_start == NOW - timedelta(hours=2)
    assert details.time_end == NOW
    assert search.calls[0]["limit"] == 5


def test_logs_since_datetime_is_capped_at_14_days() -> None:
    search = FakeLogSearch()
    factory = Factory(FakeDataScience([md_body()]), search)
    records = cp.logs(
        DEP,
        AUTH,
        kind="access",
        since=datetime(2020, 1, 1),
        client_factory=factory,
        now=lambda: NOW,
    )
    assert records == []
    details = search.calls[0]["details"]
    assert details.time_start == NOW - timedelta(days=14)
    assert f'/{ACCESS_LOG}"' in details.search_query


def test_log_levels_and_messages() -> None:
    results = [
        log_result("(APIServer pid=1) WARNING 03-01 12:00:00 [config.py:1] slow", NOW),
        log_result("Traceback (most recent call last):", NOW),
        log_result('INFO:     10.0.0.1:5000 - "POST /v1/completions" 200 OK', NOW),
        log_result("plain text", NOW),
        log_result(None, NOW, data={"status": 503, "path": "/predict"}, kind="access"),
        log_result(None, NOW, data={"message": "x", "level": "debug"}),
    ]
    records = [LogRecord.from_search_result(r) for r in search_page(results).results]
    assert [r.level for r in records] == ["WARNING", "ERROR", "INFO", None, "ERROR", "DEBUG"]
    assert json.loads(records[4].message) == {"status": 503, "path": "/predict"}
    assert str(records[3]) == "2025-03-01 12:00:00 -        plain text"


def test_logs_bad_input() -> None:
    factory = Factory(FakeDataScience([md_body(logs=False)]))
    with pytest.raises(ValueError, match="kind"):
        cp.logs(DEP, AUTH, kind="stdout", client_factory=factory)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="limit"):
        cp.logs(DEP, AUTH, limit=0, client_factory=factory)
    with pytest.raises(ValueError, match="since"):
        cp.logs(DEP, AUTH, since="yesterday", client_factory=factory)  # type: ignore[call-overload]
    with pytest.raises(DeploymentStateError, match="no predict log configured"):
        cp.logs(DEP, AUTH, client_factory=factory)


def test_logs_search_error_is_typed() -> None:
    search = FakeLogSearch()
    search.error = service_error(400, "InvalidParameter", "search result is too large")
    factory = Factory(FakeDataScience([md_body()]), search)
    with pytest.raises(ControlPlaneError, match="SearchLogs for the predict log") as caught:
        cp.logs(DEP, AUTH, client_factory=factory)
    assert caught.value.status_code == 400


def test_logs_follow_yields_new_records_once() -> None:
    clock = {"now": NOW}
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock["now"] += timedelta(seconds=seconds)

    first = log_result("INFO a", NOW - timedelta(seconds=30), rid="a")
    second = log_result("INFO b", NOW + timedelta(seconds=1), rid="b")
    third = log_result("INFO c", NOW + timedelta(seconds=4), rid="c")
    search = FakeLogSearch(
        [
            ([first], None),  # the initial tail
            ([], None),  # first poll: nothing new yet
            ([second, first], None),  # late arrival + a duplicate
            ([third, second], None),
        ]
    )
    factory = Factory(FakeDataScience([md_body()]), search)
    stream = cp.follow_logs(
        DEP,
        AUTH,
        poll_interval=2,
        client_factory=factory,
        sleep=sleep,
        now=lambda: clock["now"],
    )
    got = [r.message for r in itertools.islice(stream, 3)]
    assert got == ["INFO a", "INFO b", "INFO c"]
    assert sleeps == [2, 2, 2]
    # Each poll looks back from the newest record seen (late records are not missed).
    poll = search.calls[3]["details"]
    assert poll.time_start == NOW + timedelta(seconds=1) - timedelta(seconds=60)
    assert poll.time_end == NOW + timedelta(seconds=6)


# -- async ---------------------------------------------------------------------------------


async def test_async_twins() -> None:
    ds = FakeDataScience([md_body("CREATING"), md_body("ACTIVE"), md_body("ACTIVE")])
    search = FakeLogSearch(
        [
            ([log_result("INFO first", NOW, rid="1")], None),
            ([log_result("INFO second", NOW + timedelta(seconds=3), rid="2")], None),
        ]
    )
    factory = Factory(ds, search)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    assert (await cp.afetch(DEP, AUTH, client_factory=factory)).state == "CREATING"
    info = await cp.await_until_active(
        DEP, AUTH, poll_interval=7, client_factory=factory, sleep=fake_sleep
    )
    assert info.is_active and slept == []
    stream = cp.afollow_logs(DEP, AUTH, poll_interval=3, client_factory=factory, sleep=fake_sleep)
    got = []
    async for record in stream:
        got.append(record.message)
        if len(got) == 2:
            break
    assert got == ["INFO first", "INFO second"] and slept == [3]
    assert await cp.adeployment_state(DEP, AUTH, client_factory=factory) == "ACTIVE"


async def test_async_wait_failure() -> None:
    ds = FakeDataScience([md_body("CREATING"), md_body("FAILED", "bad image")])
    search = FakeLogSearch([([log_result("ERROR boom", NOW)], None)])
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.raises(DeploymentStateError) as caught:
        await cp.await_until_active(
            DEP, AUTH, poll_interval=1, client_factory=Factory(ds, search), sleep=fake_sleep
        )
    assert caught.value.lifecycle_details == "bad image"
    assert caught.value.log_lines and "boom" in caught.value.log_lines[0]
    assert slept == [1]


# -- real oci clients, no network ------------------------------------------------------------


def test_default_factory_builds_real_clients_with_an_api_key_signer(tmp_path: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "key.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = oci.signer.Signer(
        "ocid1.tenancy.oc1..aaaa", "ocid1.user.oc1..aaaa", ":".join(["ab"] * 16), str(pem)
    )
    ds = cp.default_client_factory("data_science", "eu-frankfurt-1", signer)
    search = cp.default_client_factory("log_search", "eu-frankfurt-1", signer)
    assert isinstance(ds, oci.data_science.DataScienceClient)
    assert ds.base_client.endpoint.startswith("https://datascience.eu-frankfurt-1.")
    assert isinstance(search, oci.loggingsearch.LogSearchClient)
    assert ds.base_client.signer is signer
    with pytest.raises(ValueError, match="service"):
        cp.default_client_factory("compute", REGION, signer)


def test_importing_does_not_import_oci() -> None:
    code = (
        "import sys, odsc_llm, odsc_llm.control_plane, odsc_llm.shapes;"
        "assert 'oci' not in sys.modules, 'oci imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_search_times_have_millisecond_precision() -> None:
    search = FakeLogSearch()
    factory = Factory(FakeDataScience([md_body()]), search)
    now = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    cp.logs(DEP, AUTH, since=timedelta(minutes=5), client_factory=factory, now=lambda: now)
    details = search.calls[0]["details"]
    assert details.time_start == datetime(2025, 3, 1, 11, 55, 0, 123000, tzinfo=timezone.utc)
    assert details.time_end == datetime(2025, 3, 1, 12, 0, 0, 124000, tzinfo=timezone.utc)


def test_everything_importable_before_the_split_still_is() -> None:
    before = [
        "ACTIVE", "FAILURE_STATES", "LIFECYCLE_STATES", "AuthArg", "ClientFactory",
        "DeploymentInfo", "LogKind", "LogRecord", "adeployment_state", "afetch",
        "alist_deployments", "alogs", "await_until_active", "default_client_factory",
        "deployment_state", "fetch", "list_deployments", "logs", "state_hint",
        "wait_until_active", "DEFAULT_WAIT_TIMEOUT", "DEFAULT_POLL_INTERVAL",
        "DEFAULT_LOG_LIMIT", "DEFAULT_LOG_SINCE", "DEFAULT_FOLLOW_INTERVAL",
    ]  # fmt: skip
    for name in before:
        assert getattr(cp, name) is not None, name
    new = ["follow_logs", "afollow_logs", "LogOptions", "FollowOptions", "FOLLOW_LOOKBACK"]
    assert set(before + new) <= set(cp.__all__)
    assert cp.DEFAULT_LOG_SINCE.total_seconds() == 24 * 3600  # the CLI's --since help shows it
