"""The emulator's deployment lifecycle: create, update, activate, deactivate, delete.

The Data Science API calls that change a model deployment, answered as the service
does (camelCase bodies, the field names of the oci models' ``attribute_map``):

- ``POST /modelDeployments`` (``CreateModelDeployment``): the body is checked (a
  missing compartment, project, model id or shape is a 400 ``MissingParameter``, an
  unknown model a 404, an unknown shape a 400); the answer is the new
  ``ModelDeployment`` (CREATING) with ``etag`` and ``opc-work-request-id``. An
  ``opc-retry-token`` seen before with the same body answers the first result again
  (no second deployment); with another body it is a 409.
- ``PUT /modelDeployments/{id}``, ``POST .../actions/activate|deactivate``,
  ``DELETE /modelDeployments/{id}``: 202 with ``opc-work-request-id``; a stale
  ``if-match`` is a 412 ``NoEtagMatch``, a state the operation cannot start from a 409
  ``IncorrectState``.
- ``GET /workRequests/{id}`` (and ``/errors``, ``/logs``): the operation's progress.

Each operation moves its deployment through the interim state (CREATING, UPDATING,
DELETING) and, ``transition_seconds`` later on ``clock``, to its final state (ACTIVE,
INACTIVE, DELETED; FAILED for a create that fails). Nothing runs in the background:
every request first settles what the clock says is done.

The emulator's own deployment (``LocalDeployment.ocid``) keeps its scripted lifecycle
(``local.state``); only deployments created here are managed by these calls.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ._control_plane_bodies import iso
from ._faults import oci_error_body

__all__ = ["DEFAULT_TRANSITION_SECONDS", "DROP", "Lifecycle"]

#: Seconds an operation takes on the emulator's clock (small: tests wait for it).
DEFAULT_TRANSITION_SECONDS = 0.3
#: An answer object meaning "break the connection instead of answering".
DROP = object()

Answer = tuple[int, Any, list[tuple[bytes, bytes]]]

# (operation type, interim state, final state, work request action) by operation.
_OPERATIONS = {
    "create": ("MODEL_DEPLOYMENT_CREATE", "CREATING", "ACTIVE", "CREATED"),
    "update": ("MODEL_DEPLOYMENT_UPDATE", "UPDATING", None, "UPDATED"),
    "activate": ("MODEL_DEPLOYMENT_ACTIVATE", "UPDATING", "ACTIVE", "UPDATED"),
    "deactivate": ("MODEL_DEPLOYMENT_DEACTIVATE", "UPDATING", "INACTIVE", "UPDATED"),
    "delete": ("MODEL_DEPLOYMENT_DELETE", "DELETING", "DELETED", "DELETED"),
}
# The states each operation may start from; anything else is a 409 IncorrectState.
_STARTS = {
    "update": {"ACTIVE", "INACTIVE", "NEEDS_ATTENTION"},
    "activate": {"INACTIVE"},
    "deactivate": {"ACTIVE", "NEEDS_ATTENTION"},
    "delete": {"ACTIVE", "INACTIVE", "FAILED", "NEEDS_ATTENTION"},
}
# Update bodies replace these maps whole (the service does not merge them key by key).
_REPLACED = {
    "environmentVariables",
    "freeformTags",
    "definedTags",
    "scalingPolicy",
    "modelDeploymentInstanceShapeConfigDetails",
    "customHttpEndpoints",
}
# The fields a create must carry, as (path, name in the message).
_MDCD = "modelDeploymentConfigurationDetails"
_MCD = (_MDCD, "modelConfigurationDetails")
_REQUIRED = (
    (("compartmentId",), "compartmentId"),
    (("projectId",), "projectId"),
    ((_MDCD,), _MDCD),
    ((_MDCD, "deploymentType"), f"{_MDCD}.deploymentType"),
    ((*_MCD, "modelId"), f"{_MDCD}.modelConfigurationDetails.modelId"),
    (
        (*_MCD, "instanceConfiguration", "instanceShapeName"),
        f"{_MDCD}.modelConfigurationDetails.instanceConfiguration.instanceShapeName",
    ),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _dig(obj: Any, *path: str) -> Any:
    for name in path:
        obj = obj.get(name) if isinstance(obj, dict) else None
    return obj


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict) and key not in _REPLACED:
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


@dataclass
class WorkRequest:
    """One operation: its progress on the emulator's clock, errors and log entries."""

    id: str
    kind: str
    deployment: Managed
    start: float
    duration: float
    failure: str | None = None
    changes: dict[str, Any] | None = None
    before: str = "ACTIVE"
    accepted: datetime = field(default_factory=_now)
    finished: datetime | None = None
    status: str = "ACCEPTED"
    errors: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)

    def log(self, message: str) -> None:
        self.logs.append({"message": message, "timestamp": iso(_now())})

    def body(self, now: float) -> dict[str, Any]:
        operation, _, _, action = _OPERATIONS[self.kind]
        done = self.finished is not None
        elapsed = max(0.0, now - self.start)
        percent = 100.0 if done else min(99.0, 100.0 * elapsed / max(self.duration, 1e-9))
        resource = {
            "actionType": action if done else "IN_PROGRESS",
            "entityType": "modelDeployment",
            "identifier": self.deployment.ocid,
            "entityUri": f"/modelDeployments/{self.deployment.ocid}",
        }
        body: dict[str, Any] = {
            "id": self.id,
            "operationType": operation,
            "status": self.status,
            "compartmentId": self.deployment.body.get("compartmentId"),
            "percentComplete": round(percent, 1),
            "resources": [resource],
            "timeAccepted": iso(self.accepted),
            "timeStarted": iso(self.accepted),
        }
        if self.finished is not None:
            body["timeFinished"] = iso(self.finished)
        return body


@dataclass
class Managed:
    """A deployment created through the emulator's control plane."""

    ocid: str
    body: dict[str, Any]
    state: str = "CREATING"
    version: int = 1
    pending: WorkRequest | None = None

    @property
    def etag(self) -> str:
        return f"{self.ocid[-12:]}-v{self.version}"

    def view(self) -> dict[str, Any]:
        """The ``ModelDeployment`` as ``GetModelDeployment`` sends it."""
        return {**copy.deepcopy(self.body), "lifecycleState": self.state}

    @property
    def serving(self) -> bool:
        """Whether predict answers: ACTIVE, or being updated (scaled) while it was ACTIVE."""
        if self.state == "ACTIVE":
            return True
        op = self.pending
        return (
            self.state == "UPDATING"
            and op is not None
            and op.before == "ACTIVE"
            and (op.kind == "update")
        )


class Lifecycle:
    """Created deployments, their operations and work requests (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        #: The emulator's clock (seconds; settable, e.g. a fake one in tests).
        self.clock = clock
        #: How long each operation takes on ``clock``.
        self.transition_seconds = DEFAULT_TRANSITION_SECONDS
        self.deployments: dict[str, Managed] = {}
        self.work_requests: dict[str, WorkRequest] = {}
        self._tokens: dict[str, tuple[Any, Answer]] = {}
        self._failures: list[str] = []
        self._drops = 0
        self.lock = threading.RLock()

    def reset(self) -> None:
        """Forget every created deployment, work request, retry token and armed failure;
        the default clock and ``transition_seconds`` again."""
        with self.lock:
            self.clock = time.monotonic
            self.transition_seconds = DEFAULT_TRANSITION_SECONDS
            self.deployments.clear()
            self.work_requests.clear()
            self._tokens.clear()
            self._failures.clear()
            self._drops = 0

    def fail_next_operation(self, message: str) -> None:
        """The next operation's work request fails with ``message`` (a create ends FAILED,
        another operation leaves the deployment in the state it had)."""
        with self.lock:
            self._failures.append(message)

    def drop_next_create_answer(self) -> None:
        """The next create is carried out, but its connection breaks before the answer."""
        with self.lock:
            self._drops += 1

    # ---- the clock ----------------------------------------------------------------------

    def settle(self) -> None:
        """Finish every operation whose time has come (called before each answer)."""
        now = self.clock()
        with self.lock:
            for op in self.work_requests.values():
                if op.finished is not None:
                    continue
                if now - op.start >= op.duration:
                    self._finish(op)
                elif now > op.start:
                    op.status = "IN_PROGRESS"

    def _finish(self, op: WorkRequest) -> None:
        dep = op.deployment
        op.finished = _now()
        dep.pending = None
        dep.version += 1
        if op.failure is not None:
            op.status = "FAILED"
            op.errors.append(
                {"code": "InternalError", "message": op.failure, "timestamp": iso(op.finished)}
            )
            op.log(f"Failed: {op.failure}")
            dep.state = "FAILED" if op.kind == "create" else op.before
            dep.body["lifecycleDetails"] = op.failure
            return
        if op.changes:
            _merge(dep.body, op.changes)
        final = _OPERATIONS[op.kind][2]
        dep.state = final or op.before
        dep.body.pop("lifecycleDetails", None)
        op.status = "SUCCEEDED"
        op.log(f"The model deployment is {dep.state}.")

    def _start(self, dep: Managed, kind: str, changes: dict[str, Any] | None = None) -> str:
        wr_id = f"ocid1.datascienceworkrequest.oc1.iad.local{secrets.token_hex(10)}"
        failure = self._failures.pop(0) if self._failures else None
        op = WorkRequest(wr_id, kind, dep, self.clock(), self.transition_seconds, failure,
                         changes, before=dep.state)  # fmt: skip
        op.log(f"{_OPERATIONS[kind][0]} accepted for {dep.ocid}.")
        self.work_requests[wr_id] = op
        dep.pending = op
        dep.state = _OPERATIONS[kind][1]
        dep.version += 1
        return wr_id

    # ---- requests -----------------------------------------------------------------------

    def get(self, ocid: str) -> Answer | None:
        """``GetModelDeployment`` of a created deployment, or None when it is not one."""
        self.settle()
        with self.lock:
            dep = self.deployments.get(ocid)
            if dep is None:
                return None
            return 200, dep.view(), [(b"etag", dep.etag.encode())]

    def summaries(self, compartment_id: str | None) -> list[dict[str, Any]]:
        """The created deployments of a compartment, as ``ModelDeploymentSummary``."""
        self.settle()
        with self.lock:
            views = [d.view() for d in self.deployments.values()]
        return [v for v in views if v.get("compartmentId") == compartment_id]

    def serves(self, ocid: str) -> bool:
        """Whether predict answers at this created deployment's URL now."""
        self.settle()
        with self.lock:
            dep = self.deployments.get(ocid)
            return dep is not None and dep.serving

    def create(
        self,
        details: Any,
        headers: dict[str, str],
        host: str,
        check: Callable[[dict[str, Any]], Answer | None],
    ) -> Answer:
        """``CreateModelDeployment``; ``check`` refuses bodies the catalog cannot serve."""
        if not isinstance(details, dict):
            message = "The body is not a CreateModelDeploymentDetails object."
            return 400, oci_error_body(400, "CannotParseRequest", message), []
        token = headers.get("opc-retry-token")
        with self.lock:
            if token and token in self._tokens:
                first, earlier = self._tokens[token]
                if first == details:
                    return earlier
                # OCI API errors: a retry token is bound to the request it first came with.
                message = (
                    "The opc-retry-token was used by an earlier request with different "
                    "parameters; use a new retry token."
                )
                return 409, oci_error_body(409, "InvalidatedRetryToken", message), []
            missing = [name for path, name in _REQUIRED if _dig(details, *path) in (None, "")]
            if missing:
                # The service names the missing fields of the body (400 MissingParameter).
                message = f"Missing required parameter(s): {', '.join(missing)}."
                return 400, oci_error_body(400, "MissingParameter", message), []
            refusal = check(details)
            if refusal is not None:
                return refusal
            ocid = f"ocid1.datasciencemodeldeployment.oc1.iad.local{secrets.token_hex(10)}"
            body = copy.deepcopy(details)
            body.update(
                id=ocid,
                timeCreated=iso(_now()),
                createdBy="ocid1.user.oc1..local",
                modelDeploymentUrl=f"http://{host}/{ocid}",
            )
            body.setdefault("displayName", f"modeldeployment{datetime.now():%Y%m%d%H%M%S}")
            body.setdefault("freeformTags", {})
            body.setdefault("definedTags", {})
            dep = Managed(ocid, body)
            self.deployments[ocid] = dep
            wr_id = self._start(dep, "create")
            dep.state = "CREATING"
            extra = [(b"etag", dep.etag.encode()), (b"opc-work-request-id", wr_id.encode())]
            answer: Answer = (200, dep.view(), extra)
            if token:
                self._tokens[token] = (copy.deepcopy(details), answer)
            if self._drops:
                self._drops -= 1
                return 200, DROP, []
            return answer

    def change(
        self, ocid: str, kind: str, headers: dict[str, str], details: Any = None
    ) -> Answer | None:
        """Update, activate, deactivate or delete; None when ``ocid`` is not a created one."""
        self.settle()
        with self.lock:
            dep = self.deployments.get(ocid)
            if dep is None:
                return None
            if_match = headers.get("if-match")
            if if_match and if_match != dep.etag:
                message = (
                    f"The if-match etag {if_match!r} does not match the model deployment's "
                    f"current etag: it changed since it was read. Read it again."
                )
                return 412, oci_error_body(412, "NoEtagMatch", message), []
            if dep.state not in _STARTS[kind]:
                message = (
                    f"The model deployment is {dep.state}: it cannot be "
                    f"{kind}d now (allowed from {', '.join(sorted(_STARTS[kind]))})."
                )
                return 409, oci_error_body(409, "IncorrectState", message), []
            if kind == "update" and not isinstance(details, dict):
                message = "The body is not an UpdateModelDeploymentDetails object."
                return 400, oci_error_body(400, "CannotParseRequest", message), []
            wr_id = self._start(dep, kind, details if kind == "update" else None)
            return 202, {}, [(b"opc-work-request-id", wr_id.encode())]

    def work_request(self, wr_id: str, part: str) -> Answer:
        """``GetWorkRequest`` and its ``errors`` / ``logs`` lists."""
        self.settle()
        with self.lock:
            op = self.work_requests.get(wr_id)
            if op is None:
                return 404, oci_error_body(404), []
            if part == "errors":
                return 200, list(op.errors), []
            if part == "logs":
                return 200, list(op.logs), []
            return 200, op.body(self.clock()), []
