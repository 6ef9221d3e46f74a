"""The emulator's control plane: the Data Science and Logging Search APIs odsc_llm calls.

Served by :class:`~odsc_llm.testing.LocalDeployment` on its own port, behind the same
signature checks as the deployment itself, so the ``oci`` SDK's real
``DataScienceClient`` and ``LogSearchClient`` (built with ``service_endpoint`` = the
emulator's ``http://127.0.0.1:PORT``) talk to it over HTTP:

- ``GET /20190101/modelDeployments/{id}``: the deployment (lifecycle state, shape,
  instance count, log ids, AI Quick Actions tags), camelCase as the service sends it
  (the field names of ``oci.data_science.models.ModelDeployment.attribute_map``);
  each GET of the emulator's own deployment takes the next state of its lifecycle
  script. An unknown OCID is a 404 ``NotAuthorizedOrNotFound``.
- ``GET /20190101/modelDeployments?compartmentId=...``: the compartment's deployments
  (the emulator's own and two neighbours), :data:`LIST_PAGE_SIZE` per page with
  ``opc-next-page`` / ``page``.
- the lifecycle (``_control_plane_lifecycle``): ``CreateModelDeployment``, ``Update``,
  ``Activate``, ``Deactivate``, ``DeleteModelDeployment`` and ``GetWorkRequest``; a
  created deployment is served by the same emulator at its URL once ACTIVE;
- the catalog (``_control_plane_catalog``): ``ListContainers``, ``GetModel`` (with its
  custom metadata), ``ListModelDeploymentShapes``;
- ``POST /20190909/search``: the predict log (a model server's start-up sequence, and
  the lines a test adds) and the access log (from the emulator's own request log), as
  ``oci.loggingsearch.models.SearchResponse``.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..control_plane import LIFECYCLE_STATES
from . import _control_plane_catalog as catalog
from . import _control_plane_routes as routes
from ._control_plane_bodies import log_record, model_deployment
from ._control_plane_lifecycle import DROP, Lifecycle
from ._control_plane_routes import Answer, etag, page
from ._faults import RecordedRequest, oci_error_body
from ._verify import PublicKeyLike, SignatureVerificationError, verify_request

__all__ = ["DROP", "LIST_PAGE_SIZE", "ControlPlane", "ControlPlaneMixin", "handles"]

#: Deployments per page of ``ListModelDeployments`` (small, so that paging is exercised).
LIST_PAGE_SIZE = 2
#: Records per page of ``SearchLogs`` when the request gives no ``limit``.
SEARCH_PAGE_SIZE = 100
# The services' API versions, written here again on purpose (not taken from the client's
# constants): the emulator checks the client, so the two must not share a mistake.
DATA_SCIENCE_API_PATH = "/20190101"  # the Data Science API (oci.data_science)
LOG_SEARCH_API_PATH = "/20190909"  # the Logging Search API (oci.loggingsearch)
_PREFIXES = (DATA_SCIENCE_API_PATH + "/", LOG_SEARCH_API_PATH + "/")
_MD_PATH = DATA_SCIENCE_API_PATH + "/modelDeployments"
_SEARCH_PATH = LOG_SEARCH_API_PATH + "/search"
_QUERY_RE = re.compile(
    r'^\s*search\s+"(?P<compartment>[^"/]*)/(?P<group>[^"/]+)/(?P<log>[^"/]+)"'
    r"(?:\s*\|\s*where\s+source\s*=\s*'\*?(?P<source>[^']*)')?"
)
_STARTUP_LOG = (
    "INFO:     Started server process [1]",
    "INFO 00-00 00:00:00 [api_server.py] vLLM API server (emulated by odsc_llm.testing)",
    "INFO 00-00 00:00:00 [model_runner.py] Loading model weights took 0.00 GiB",
    "INFO 00-00 00:00:00 [api_server.py] Starting vLLM API server on http://0.0.0.0:8080",
    "INFO:     Application startup complete.",
)


def handles(path: str) -> bool:
    """Whether ``path`` is one of the control-plane APIs (and not the deployment's)."""
    return path.startswith(_PREFIXES)


def _ocid(kind: str) -> str:
    return f"ocid1.{kind}.oc1.iad.local{secrets.token_hex(10)}"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _millis(when: float) -> datetime:
    """A time at the millisecond precision Logging keeps."""
    return datetime.fromtimestamp(int(when * 1000) / 1000, timezone.utc)


@dataclass
class _Neighbour:
    ocid: str
    name: str
    state: str
    shape: str
    aqua: bool
    logs: bool
    model_name: str = "odsc-llm"


@dataclass
class _LogLine:
    time: datetime
    message: str
    id: str


@dataclass
class ControlPlane:
    """The control-plane state of one emulated deployment (shared with the server thread)."""

    ocid: str
    compartment_id: str = field(default_factory=lambda: _ocid("compartment"))
    project_id: str = field(default_factory=lambda: _ocid("datascienceproject"))
    model_id: str = field(default_factory=lambda: _ocid("datasciencemodel"))
    log_group_id: str = field(default_factory=lambda: _ocid("loggroup"))
    predict_log_id: str = field(default_factory=lambda: _ocid("log"))
    access_log_id: str = field(default_factory=lambda: _ocid("log"))
    display_name: str = "odsc-llm-local"
    model_name: str = "odsc-llm"
    shape: str = "VM.GPU.A10.1"
    instance_count: int = 1
    lifecycle_details: str | None = None
    #: Multiple Inference Endpoints, as the deployment JSON reports them
    #: (``predictApiSpecification``; ``customHttpEndpoints`` as ``(suffix, methods)``).
    predict_api_specification: str | None = None
    custom_http_endpoints: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _state: str = "ACTIVE"
    _script: list[str] = field(default_factory=list)
    _log: list[_LogLine] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=itertools.count)
    time_created: datetime = field(default_factory=lambda: _millis(time.time()))
    neighbours: list[_Neighbour] = field(default_factory=list)
    _startup: list[_LogLine] = field(default_factory=list)
    #: Deployments created through the API, their operations and work requests.
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    #: Models ``GetModel`` knows: OCID -> (display name, deployment container family).
    models: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.neighbours = [
            _Neighbour(_ocid("datasciencemodeldeployment"), "llama-local", "CREATING",
                       "VM.GPU.A10.2", aqua=True, logs=True, model_name="Meta-Llama-3-8B-Instruct"),
            _Neighbour(_ocid("datasciencemodeldeployment"), "sklearn-local", "INACTIVE",
                       "VM.Standard.E4.Flex", aqua=False, logs=False),
        ]  # fmt: skip
        start = time.time()
        for offset, line in enumerate(_STARTUP_LOG):
            self.add_log_line(line, when=start + offset / 1000)
        self._startup = list(self._log)
        self.models[self.model_id] = (self.model_name, catalog.VLLM)

    def reset(self) -> None:
        """Back to ACTIVE, no script or details, and only the start-up lines in the log."""
        with self.lock:
            self._state = "ACTIVE"
            self._script = []
            self.lifecycle_details = None
            self._log = list(self._startup)
            self.models = {self.model_id: (self.model_name, catalog.VLLM)}
        self.lifecycle.reset()

    def add_model(self, display_name: str, container_family: str = catalog.VLLM) -> str:
        """A model ``GetModel`` knows (custom metadata ``deployment-container`` =
        ``container_family``), to create deployments of; returns its OCID."""
        ocid = _ocid("datasciencemodel")
        with self.lock:
            self.models[ocid] = (display_name, container_family)
        return ocid

    def serves(self, ocid: str) -> bool:
        """Whether predict answers at ``/<ocid>/...``: the emulator's own deployment, or a
        created one that is ACTIVE.

        A created deployment that is not ACTIVE (CREATING, INACTIVE, DELETED...) answers
        404 ``NotAuthorizedOrNotFound`` as an unknown one does: OCI's "Invoking a Model
        Deployment" page says the predict endpoint receives requests once the deployment
        is in an active lifecycleState and lists 404 NotAuthorizedOrNotFound as its
        not-found answer, and "Deactivating and Activating a Model Deployment" that the
        HTTP endpoint becomes unavailable when deactivated.
        """
        return ocid == self.ocid or self.lifecycle.serves(ocid)

    # ---- lifecycle --------------------------------------------------------------------

    @property
    def state(self) -> str:
        """The lifecycle state the next GET reports (scripted states not yet taken aside)."""
        with self.lock:
            return self._script[0] if self._script else self._state

    @state.setter
    def state(self, value: str) -> None:
        _check_state(value)
        with self.lock:
            self._state = value
            self._script = []

    def lifecycle_script(self, states: Iterable[str]) -> None:
        """Each GET of the deployment takes the next of ``states``; the last one sticks."""
        script = list(states)
        if not script:
            raise ValueError("lifecycle_script needs at least one state.")
        for value in script:
            _check_state(value)
        with self.lock:
            self._script = script

    def _next_state(self) -> str:
        with self.lock:
            if self._script:
                self._state = self._script.pop(0) if len(self._script) > 1 else self._script[0]
            return self._state

    # ---- the model server's log -------------------------------------------------------

    def add_log_line(self, message: str, *, when: float | None = None) -> None:
        """Add one line to the predict log (the model server's output), at ``when`` (now)."""
        stamp = _millis(time.time() if when is None else when)
        with self.lock:
            self._log.append(_LogLine(stamp, message, f"predict-{next(self._ids)}"))

    # ---- requests ---------------------------------------------------------------------

    def answer(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        *,
        public_keys: dict[str, PublicKeyLike],
        verify: bool,
        requests: Callable[[], list[RecordedRequest]],
    ) -> Answer:
        """``(status, JSON body, extra headers)`` for one control-plane request."""
        if verify:
            try:
                verify_request(method, target, headers, body, public_keys)
            except SignatureVerificationError as exc:
                return 401, oci_error_body(401, "NotAuthenticated", exc.message), []
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        host = headers.get("host", "127.0.0.1")
        path = parts.path.rstrip("/")
        if path == _SEARCH_PATH and method == "POST":
            return self._search(body, query, requests)
        if path == _MD_PATH and method == "GET":
            return self._list(query, host)
        lifecycle = routes.lifecycle_answer(self, method, path, query, headers, body, host)
        if lifecycle is not None:
            return lifecycle
        if path.startswith(_MD_PATH + "/") and method == "GET":
            return self._get(path[len(_MD_PATH) + 1 :], host)
        return 404, oci_error_body(404, "NotFound", f"No route for {method} {path}."), []

    def _get(self, ocid: str, host: str) -> Answer:
        if ocid == self.ocid:
            return 200, self._own_body(host, self._next_state()), etag()
        for other in self.neighbours:
            if other.ocid == ocid:
                return 200, self._neighbour_body(host, other), etag()
        return 404, oci_error_body(404), []

    def _list(self, query: dict[str, str], host: str) -> Answer:
        compartment = query.get("compartmentId")
        created = self.lifecycle.summaries(compartment)
        summaries: list[dict[str, Any]] = []
        if compartment == self.compartment_id:
            summaries = [self._own_body(host, self.state)]
            summaries += [self._neighbour_body(host, n) for n in self.neighbours]
        elif not created:
            return 404, oci_error_body(404), []
        summaries += created
        for item in summaries:
            item.pop("lifecycleDetails", None)  # not in ModelDeploymentSummary
        wanted = query.get("lifecycleState")
        if wanted:
            summaries = [s for s in summaries if s["lifecycleState"] == wanted]
        name = query.get("displayName")
        if name:
            summaries = [s for s in summaries if s.get("displayName") == name]
        return page(summaries, query, LIST_PAGE_SIZE)

    def _search(
        self, body: bytes, query: dict[str, str], requests: Callable[[], list[RecordedRequest]]
    ) -> Answer:
        try:
            details = json.loads(body)
        except ValueError:
            details = None
        if not isinstance(details, dict):
            return 400, oci_error_body(400, message="The body is not a SearchLogsDetails."), []
        start = _parse_time(details.get("timeStart"))
        end = _parse_time(details.get("timeEnd"))
        if start is None or end is None or start >= end:
            return 400, oci_error_body(400, message="timeStart must be before timeEnd."), []
        match = _QUERY_RE.match(str(details.get("searchQuery", "")))
        if match is None:
            return 400, oci_error_body(400, message="Unparsable searchQuery."), []
        if (match["compartment"], match["group"]) != (self.compartment_id, self.log_group_id):
            return 404, oci_error_body(404), []
        records: list[tuple[datetime, dict[str, Any]]] = []
        if match["source"] not in (None, self.ocid, ""):
            pass  # another deployment's records: none in this log
        elif match["log"] == self.predict_log_id:
            records = self._predict_records()
        elif match["log"] == self.access_log_id:
            records = self._access_records(requests())
        else:
            return 404, oci_error_body(404), []
        # "sort by datetime desc"; equal times newest-added first (the sort is stable)
        records.reverse()
        records.sort(key=lambda item: item[0], reverse=True)
        found = [record for when, record in records if start <= when < end]
        status, results, extra = page(found, query, SEARCH_PAGE_SIZE)
        summary = {"resultCount": len(results), "fieldCount": 0}
        return status, {"results": results, "summary": summary}, extra

    # ---- bodies -----------------------------------------------------------------------

    def _predict_records(self) -> list[tuple[datetime, dict[str, Any]]]:
        with self.lock:
            lines = list(self._log)
        return [
            (line.time, log_record(self, line.time, {"message": line.message}, line.id, "predict"))
            for line in lines
        ]

    def _access_records(
        self, requests: list[RecordedRequest]
    ) -> list[tuple[datetime, dict[str, Any]]]:
        records = []
        for index, request in enumerate(requests):
            if handles(request.path) or request.status is None:
                continue  # the access log records the deployment's own requests
            data = {
                "message": f"{request.method} {request.path} {request.status}",
                "method": request.method,
                "path": request.path,
                "status": request.status,
                "opcRequestId": request.request_id,
            }
            stamp = _millis(request.time)
            rid = f"access-{index}-{request.request_id}"
            records.append((stamp, log_record(self, stamp, data, rid, "access")))
        return records

    def _own_body(self, host: str, state: str) -> dict[str, Any]:
        body = model_deployment(
            self, self.ocid, self.display_name, state, self.shape, host, aqua=True, logs=True
        )
        environment = body["modelDeploymentConfigurationDetails"]["environmentConfigurationDetails"]
        if self.predict_api_specification is not None:
            environment["predictApiSpecification"] = self.predict_api_specification
        if self.custom_http_endpoints:
            environment["customHttpEndpoints"] = [
                {"endpointUriSuffix": suffix, "httpMethods": list(methods)}
                for suffix, methods in self.custom_http_endpoints
            ]
        if self.lifecycle_details is not None:
            body["lifecycleDetails"] = self.lifecycle_details
        return body

    def _neighbour_body(self, host: str, other: _Neighbour) -> dict[str, Any]:
        return model_deployment(self,
            other.ocid, other.name, other.state, other.shape, host,
            aqua=other.aqua, logs=other.logs, model_name=other.model_name,
        )  # fmt: skip


def _check_state(value: str) -> None:
    if value not in LIFECYCLE_STATES:
        raise ValueError(
            f"Unknown lifecycle state {value!r}: one of {', '.join(LIFECYCLE_STATES)}."
        )


class ControlPlaneMixin:
    """``LocalDeployment``'s control-plane surface: lifecycle state and the model log."""

    control_plane: ControlPlane

    @property
    def state(self) -> str:
        """The lifecycle state the control plane reports (settable: ``local.state = "FAILED"``)."""
        return self.control_plane.state

    @state.setter
    def state(self, value: str) -> None:
        self.control_plane.state = value

    def lifecycle_script(self, states: Iterable[str]) -> None:
        """``GetModelDeployment`` takes the next of ``states`` on each call; the last sticks.

        ``local.lifecycle_script(["CREATING", "CREATING", "ACTIVE"])``.
        """
        self.control_plane.lifecycle_script(states)

    @property
    def lifecycle_details(self) -> str | None:
        """The ``lifecycleDetails`` the control plane reports (settable)."""
        return self.control_plane.lifecycle_details

    @lifecycle_details.setter
    def lifecycle_details(self, value: str | None) -> None:
        self.control_plane.lifecycle_details = value

    @property
    def compartment_id(self) -> str:
        """The compartment the emulated deployment is in (for ``list_deployments``)."""
        return self.control_plane.compartment_id

    def add_log_line(self, message: str) -> None:
        """Add a line to the model server's (predict) log, e.g. an error it printed."""
        self.control_plane.add_log_line(message)

    @property
    def lifecycle(self) -> Lifecycle:
        """The deployments created through the control plane: ``transition_seconds`` (how
        long each operation takes), ``clock``, ``fail_next_operation(message)``,
        ``drop_next_create_answer()``, and ``deployments`` / ``work_requests``."""
        return self.control_plane.lifecycle

    def add_model(self, display_name: str, container_family: str = catalog.VLLM) -> str:
        """A model to create deployments of (``GetModel`` knows it); returns its OCID.
        The emulator's own ``model_id`` is one already (family ``odsc-vllm-serving``)."""
        return self.control_plane.add_model(display_name, container_family)

    @property
    def model_id(self) -> str:
        """The OCID of the emulated deployment's model (``GetModel`` knows it)."""
        return self.control_plane.model_id

    @property
    def project_id(self) -> str:
        """The project the emulated deployment is in."""
        return self.control_plane.project_id
