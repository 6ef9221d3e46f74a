"""The control plane: what OCI says about a deployment, waiting for it, and its logs.

Everything here goes through the ``oci`` SDK's own clients
(``oci.data_science.DataScienceClient`` and ``oci.loggingsearch.LogSearchClient``),
built for the deployment's region with the signer of an :class:`odsc_llm.auth.OCIAuth`.
``oci`` is imported on first use, never when this module is imported.

.. code-block:: python

    import odsc_llm

    dep = odsc_llm.Deployment.from_ocid("ocid1.datasciencemodeldeployment.oc1.iad.xxx")
    info = dep.fetch()                      # DeploymentInfo: state, shape, model, log ids
    dep.wait_until_active(timeout=1800)     # DeploymentStateError on FAILED / timeout
    for record in dep.logs(kind="predict", limit=50):
        print(record)
    odsc_llm.list_deployments("ocid1.compartment.oc1..xxx", region="us-ashburn-1")

The async twins (``afetch``, ``await_until_active``, ``alogs``...) run the blocking
``oci`` calls in a worker thread, never on the event loop.

Testing: every function takes ``client_factory`` (``(service, region, signer) -> client``)
to substitute fake ``oci`` clients; ``sleep``, ``clock`` and ``now`` are injectable too.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ._errors import (
    AuthError,
    ControlPlaneError,
    DeploymentStateError,
    DeploymentWaitTimeout,
    InvalidDeploymentError,
)
from .deployment import Deployment

__all__ = [
    "ACTIVE",
    "FAILURE_STATES",
    "LIFECYCLE_STATES",
    "AuthArg",
    "ClientFactory",
    "DeploymentInfo",
    "LogKind",
    "LogRecord",
    "adeployment_state",
    "afetch",
    "alist_deployments",
    "alogs",
    "await_until_active",
    "default_client_factory",
    "deployment_state",
    "fetch",
    "list_deployments",
    "logs",
    "state_hint",
    "wait_until_active",
]

logger = logging.getLogger("odsc_llm.control_plane")

#: ``auth`` arguments: an :class:`odsc_llm.auth.OCIAuth`, a raw ``oci`` signer, or
#: ``None`` for :func:`odsc_llm.auth.default`.
AuthArg = Any
#: ``(service, region, signer) -> oci client``; ``service`` is ``"data_science"`` or
#: ``"log_search"``.
ClientFactory = Callable[[str, str, Any], Any]
LogKind = Literal["predict", "access"]

ACTIVE = "ACTIVE"
#: Every lifecycle state of a model deployment.
LIFECYCLE_STATES = (
    "CREATING",
    "ACTIVE",
    "INACTIVE",
    "UPDATING",
    "DELETING",
    "DELETED",
    "FAILED",
    "NEEDS_ATTENTION",
)
#: States from which a deployment will not become ACTIVE on its own.
FAILURE_STATES = frozenset({"FAILED", "DELETING", "DELETED"})

DEFAULT_WAIT_TIMEOUT = 1800.0
DEFAULT_POLL_INTERVAL = 15.0
DEFAULT_LOG_LIMIT = 100
DEFAULT_LOG_SINCE = timedelta(hours=24)
DEFAULT_FOLLOW_INTERVAL = 5.0
#: Logging Search answers at most this many records per page.
_SEARCH_PAGE_MAX = 1000
#: One search may span at most 14 days.
_SEARCH_MAX_SPAN = timedelta(days=14)
#: Logging Search refuses a window shorter than its time resolution.
_MIN_SEARCH_SPAN = timedelta(milliseconds=1)
#: Records reach Logging Search late: each follow poll looks back this far again.
_FOLLOW_LOOKBACK = timedelta(seconds=60)
#: Log lines attached to a DeploymentStateError.
_ERROR_LOG_LINES = 20
# oci validates a config's user/tenancy/fingerprint/key_file even when a signer is
# given (except for its own token signers); these values satisfy the validation and
# are never read, the signer does all the signing.
_SIGNER_CONFIG = {
    "user": "ocid1.user.oc1..signer-supplied",
    "tenancy": "ocid1.tenancy.oc1..signer-supplied",
    "fingerprint": ":".join(["00"] * 16),
    "key_file": "(held by the signer)",
}
_SERVICE_HINTS = {
    401: "The request was not authenticated: check the credentials (expired session "
    "token? `oci session refresh`) and that this machine's clock is right.",
    404: "Either it does not exist (check the OCID and the region) or your principal may "
    "not read it (IAM: `allow group <g> to read data-science-model-deployments in "
    "compartment <c>`; for logs: `read log-content`); OCI does not say which.",
    429: "The control plane throttled the calls: poll less often.",
}

_DATETIME = TypeAdapter(datetime)


# -- auth and clients -------------------------------------------------------------------


def _resolve_signer(auth: AuthArg) -> Any:
    """The oci signer behind ``auth`` (OCIAuth, raw signer, or None for the default)."""
    if auth is None:
        from . import auth as auth_module

        auth = auth_module.default()
    signer = getattr(auth, "signer", None)
    if signer is not None:
        return signer
    if callable(auth) or hasattr(auth, "do_request_sign"):
        return auth
    raise AuthError(
        "auth must be an odsc_llm.auth.OCIAuth (e.g. odsc_llm.auth.api_key()), an oci "
        f"signer, or None for odsc_llm.auth.default(); got {type(auth).__name__}."
    )


def _service_config(region: str) -> dict[str, Any]:
    return {**_SIGNER_CONFIG, "region": region}


def default_client_factory(service: str, region: str, signer: Any) -> Any:
    """Build the real ``oci`` client for ``service`` in ``region``, signing with ``signer``."""
    import oci

    config = _service_config(region)
    if service == "data_science":
        return oci.data_science.DataScienceClient(config, signer=signer)
    if service == "log_search":
        return oci.loggingsearch.LogSearchClient(config, signer=signer)
    raise ValueError(f"Unknown control-plane service {service!r}.")


def _make_client(
    service: str, region: str, auth: AuthArg, client_factory: ClientFactory | None
) -> Any:
    signer = _resolve_signer(auth)
    factory = client_factory or default_client_factory
    return factory(service, region, signer)


def _is_service_error(exc: BaseException) -> bool:
    """An error raised by oci (or the requests library it vendors) while calling OCI."""
    roots = ("oci", "requests", "urllib3")
    return any(cls.__module__.split(".")[0] in roots for cls in type(exc).__mro__)


def _wrap_oci_error(exc: Exception, operation: str, subject: str) -> ControlPlaneError:
    """A readable ControlPlaneError from an oci ServiceError (or connection error)."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    request_id = getattr(exc, "request_id", None)
    raw = getattr(exc, "message", None)
    message = str(raw) if raw else f"{type(exc).__name__}: {exc}"
    if isinstance(status, int):
        head = f"{operation} for {subject} failed: {status} {code or ''}".rstrip()
        text = f"{head}: {message}"
    else:
        text = f"{operation} for {subject} failed: {message}"
    if request_id:
        text += f" (opc-request-id: {request_id})"
    hint = _SERVICE_HINTS.get(status) if isinstance(status, int) else None
    if hint:
        text += f" Hint: {hint}"
    return ControlPlaneError(
        text,
        status=status if isinstance(status, int) else None,
        code=str(code) if code else None,
        request_id=str(request_id) if request_id else None,
        operation=operation,
    )


def _call(operation: str, subject: str, func: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    try:
        return func(*args, **kw)
    except ControlPlaneError:
        raise
    except Exception as exc:
        if _is_service_error(exc):
            raise _wrap_oci_error(exc, operation, subject) from exc
        raise


# -- DeploymentInfo -----------------------------------------------------------------------


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = getattr(obj, name, None)
    return obj


def _instance_count(scaling_policy: Any) -> int | None:
    count = _get(scaling_policy, "instance_count")  # FixedSizeScalingPolicy
    if isinstance(count, int):
        return count
    for policy in _get(scaling_policy, "auto_scaling_policies") or ():
        initial = _get(policy, "initial_instance_count")  # threshold-based autoscaling
        if isinstance(initial, int):
            return initial
    return None


class DeploymentInfo(BaseModel):
    """What the control plane says of a model deployment (``Deployment.fetch``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    #: The deployment's OCID.
    ocid: str
    #: Its region, e.g. ``us-ashburn-1``.
    region: str
    display_name: str | None = None
    #: The lifecycle state: CREATING, ACTIVE, INACTIVE, UPDATING, DELETING, DELETED,
    #: FAILED or NEEDS_ATTENTION (see :data:`LIFECYCLE_STATES`).
    state: str
    #: Why it is in that state (set by the service on failures and updates).
    lifecycle_details: str | None = None
    compartment_id: str | None = None
    project_id: str | None = None
    description: str | None = None
    created_by: str | None = None
    time_created: datetime | None = None
    #: The compute shape, e.g. ``VM.GPU.A10.1``.
    shape: str | None = None
    instance_count: int | None = None
    #: The OCID of the deployed model.
    model_id: str | None = None
    #: The model's name from AI Quick Actions' ``aqua_model_name`` tag, if any.
    model_name: str | None = None
    #: Whether AI Quick Actions created it (``OCI_AQUA`` tag).
    is_aqua: bool = False
    #: The deployment's URL (``modelDeploymentUrl``).
    endpoint: str | None = None
    access_log_id: str | None = None
    access_log_group_id: str | None = None
    predict_log_id: str | None = None
    predict_log_group_id: str | None = None
    freeform_tags: dict[str, str] = Field(default_factory=dict)

    @property
    def lifecycle_state(self) -> str:
        """Same as :attr:`state` (the oci field's name)."""
        return self.state

    @property
    def is_active(self) -> bool:
        """Whether the deployment is ACTIVE (ready to answer)."""
        return self.state == ACTIVE

    @property
    def deployment(self) -> Deployment:
        """The :class:`~odsc_llm.Deployment` to give a client (from the URL or the OCID)."""
        if self.endpoint:
            try:
                return Deployment.from_url(self.endpoint, region=self.region)
            except InvalidDeploymentError:
                pass
        return Deployment.from_ocid(self.ocid, region=self.region)

    @classmethod
    def from_oci(cls, md: Any, region: str) -> DeploymentInfo:
        """Build from an ``oci.data_science.models.ModelDeployment`` (or its Summary)."""
        config = _get(md, "model_deployment_configuration_details")
        model_config = _get(config, "model_configuration_details")
        # MODEL_GROUP deployments keep the shape under infrastructure_configuration_details
        instance_config = _get(model_config, "instance_configuration") or _get(
            config, "infrastructure_configuration_details", "instance_configuration"
        )
        scaling = _get(model_config, "scaling_policy") or _get(
            config, "infrastructure_configuration_details", "scaling_policy"
        )
        tags = dict(_get(md, "freeform_tags") or {})
        logs = _get(md, "category_log_details")
        return cls(
            ocid=str(_get(md, "id")),
            region=region,
            display_name=_get(md, "display_name"),
            state=str(_get(md, "lifecycle_state") or "UNKNOWN"),
            lifecycle_details=_get(md, "lifecycle_details"),
            compartment_id=_get(md, "compartment_id"),
            project_id=_get(md, "project_id"),
            description=_get(md, "description"),
            created_by=_get(md, "created_by"),
            time_created=_get(md, "time_created"),
            shape=_get(instance_config, "instance_shape_name"),
            instance_count=_instance_count(scaling),
            model_id=_get(model_config, "model_id"),
            model_name=tags.get("aqua_model_name"),
            is_aqua="OCI_AQUA" in tags or "oci_aqua" in tags,
            endpoint=_get(md, "model_deployment_url"),
            access_log_id=_get(logs, "access", "log_id"),
            access_log_group_id=_get(logs, "access", "log_group_id"),
            predict_log_id=_get(logs, "predict", "log_id"),
            predict_log_group_id=_get(logs, "predict", "log_group_id"),
            freeform_tags={str(k): str(v) for k, v in tags.items()},
        )

    def log_ids(self, kind: LogKind) -> tuple[str, str] | None:
        """``(log_group_id, log_id)`` of the ``"predict"`` or ``"access"`` log, if set up."""
        _check_kind(kind)
        group = self.predict_log_group_id if kind == "predict" else self.access_log_group_id
        log = self.predict_log_id if kind == "predict" else self.access_log_id
        return (group, log) if group and log else None

    def __repr__(self) -> str:
        fields = {
            "display_name": self.display_name,
            "state": self.state,
            "shape": self.shape,
            "model_name": self.model_name,
            "ocid": self.ocid,
        }
        inner = ", ".join(f"{k}={v!r}" for k, v in fields.items() if v is not None)
        return f"DeploymentInfo({inner})"

    def _repr_html_(self) -> str:
        rows = [
            (
                "state",
                self.state + (f" ({self.lifecycle_details})" if self.lifecycle_details else ""),
            ),
            ("shape", f"{self.shape or '-'} x {self.instance_count or '-'}"),
            ("model", self.model_name or self.model_id or "-"),
            ("ocid", self.ocid),
            ("region", self.region),
            ("endpoint", self.endpoint or "-"),
            ("created", self.time_created.isoformat() if self.time_created else "-"),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td><code>{html.escape(str(v))}</code></td></tr>"
            for k, v in rows
        )
        title = html.escape(self.display_name or self.ocid)
        return f"<b>odsc_llm.DeploymentInfo</b> {title}<table>{body}</table>"


def state_hint(state: str, lifecycle_details: str | None = None) -> str:
    """A one-line hint for an error message: what the deployment's state means.

    For the clients' 404/409/503 errors, e.g. ``"the deployment is CREATING: it is not
    ready yet; wait with Deployment.wait_until_active()"``.
    """
    advice = {
        "ACTIVE": "it is running, so the failure is not its lifecycle state",
        "CREATING": "it is not ready yet; wait with Deployment.wait_until_active()",
        "UPDATING": "it is being updated; wait with Deployment.wait_until_active()",
        "INACTIVE": "it is stopped; activate it in the console or with "
        "`oci data-science model-deployment activate`",
        "FAILED": "it failed; read Deployment.logs() and its lifecycle details",
        "NEEDS_ATTENTION": "some of its instances failed; read Deployment.logs()",
        "DELETING": "it is being deleted",
        "DELETED": "it was deleted",
    }.get(state, "unexpected state")
    text = f"the deployment is {state}: {advice}"
    if lifecycle_details:
        text += f" ({lifecycle_details})"
    return text


# -- fetch, list, state ------------------------------------------------------------------


def _fetch_with(client: Any, dep: Deployment) -> DeploymentInfo:
    response = _call("GetModelDeployment", dep.ocid, client.get_model_deployment, dep.ocid)
    return DeploymentInfo.from_oci(response.data, dep.region)


def fetch(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """The control plane's view of a deployment (``GetModelDeployment``).

    ``deployment`` is a :class:`~odsc_llm.Deployment`, a URL or an OCID; the region
    is the deployment's. Raises :class:`~odsc_llm.errors.ControlPlaneError` when the
    service refuses (404: no such deployment, or not allowed to read it).
    """
    dep = Deployment.coerce(deployment)
    client = _make_client("data_science", dep.region, auth, client_factory)
    return _fetch_with(client, dep)


def deployment_state(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    client_factory: ClientFactory | None = None,
) -> str:
    """The deployment's lifecycle state (``"ACTIVE"``, ``"CREATING"``, ``"FAILED"``...).

    One ``GetModelDeployment`` call. Clients use it to say "the deployment is <state>"
    when a call fails with 404/409/503 (see :func:`state_hint`).
    """
    return fetch(deployment, auth, client_factory=client_factory).state


def _default_region(auth: AuthArg, signer: Any) -> str | None:
    for candidate in (getattr(auth, "region", None), getattr(signer, "region", None)):
        if isinstance(candidate, str) and candidate:
            return candidate
    for var in ("OCI_REGION", "OCI_RESOURCE_PRINCIPAL_REGION"):
        value = os.environ.get(var)
        if value:
            return value
    return None


def list_deployments(
    compartment_id: str,
    auth: AuthArg = None,
    aqua_only: bool = True,
    region: str | None = None,
    *,
    lifecycle_state: str | None = None,
    client_factory: ClientFactory | None = None,
) -> list[DeploymentInfo]:
    """All model deployments of a compartment (every page), as :class:`DeploymentInfo`.

    ``aqua_only`` keeps those created by AI Quick Actions (tagged ``OCI_AQUA``).
    ``region`` defaults to the signer's region (resource and instance principals), then
    ``OCI_REGION`` / ``OCI_RESOURCE_PRINCIPAL_REGION``. ``lifecycle_state`` (e.g.
    ``"ACTIVE"``) filters on the service side.
    """
    if not isinstance(compartment_id, str) or not compartment_id.strip().startswith("ocid1."):
        raise ValueError(
            f"compartment_id must be a compartment OCID ('ocid1.compartment.oc1..xxx' or a "
            f"tenancy OCID), got {compartment_id!r}."
        )
    compartment_id = compartment_id.strip()
    signer = _resolve_signer(auth)
    region = region or _default_region(auth, signer)
    if not region:
        raise ValueError(
            "list_deployments needs a region: pass region='us-ashburn-1' (or set OCI_REGION)."
        )
    if lifecycle_state is not None and lifecycle_state not in LIFECYCLE_STATES:
        raise ValueError(
            f"Unknown lifecycle_state {lifecycle_state!r}; one of {', '.join(LIFECYCLE_STATES)}."
        )
    factory = client_factory or default_client_factory
    client = factory("data_science", region, signer)
    kwargs: dict[str, Any] = {"compartment_id": compartment_id}
    if lifecycle_state is not None:
        kwargs["lifecycle_state"] = lifecycle_state

    def all_pages() -> list[Any]:
        import oci.pagination

        result = oci.pagination.list_call_get_all_results(client.list_model_deployments, **kwargs)
        return list(result.data)

    summaries = _call("ListModelDeployments", compartment_id, all_pages)
    infos = [DeploymentInfo.from_oci(md, region) for md in summaries]
    return [i for i in infos if i.is_aqua] if aqua_only else infos


# -- wait ------------------------------------------------------------------------------------


class _Waiter:
    """The no-I/O part of waiting: deadline, state decisions, messages."""

    def __init__(self, dep: Deployment, timeout: float, poll_interval: float, now: float):
        if timeout is None or timeout < 0:
            raise ValueError(f"timeout must be a number of seconds >= 0, got {timeout!r}.")
        if poll_interval is None or poll_interval <= 0:
            raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval!r}.")
        self.dep = dep
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)
        self.deadline = now + self.timeout
        self.inactive_polls = 0

    def failure(self, info: DeploymentInfo) -> str | None:
        """Why waiting is hopeless, or None to keep waiting."""
        if info.state in FAILURE_STATES:
            return "will not become ACTIVE"
        if info.state == "INACTIVE":
            # Right after an activate call the state may still read INACTIVE once.
            self.inactive_polls += 1
            if self.inactive_polls >= 2:
                return "is stopped: activate it first"
        else:
            self.inactive_polls = 0
        return None

    def next_sleep(self, now: float) -> float | None:
        """Seconds to sleep before the next poll, or None when time is up."""
        remaining = self.deadline - now
        if remaining <= 0:
            return None
        return min(self.poll_interval, remaining)

    def error(
        self, info: DeploymentInfo, why: str | None, log_lines: list[str], log_note: str | None
    ) -> DeploymentStateError:
        name = f"{info.display_name!r} ({info.ocid})" if info.display_name else info.ocid
        if why is None:
            text = (
                f"Deployment {name} is still {info.state} after {self.timeout:g} s "
                "(wait_until_active timeout)."
            )
        else:
            text = f"Deployment {name} is {info.state} and {why}."
        if info.lifecycle_details:
            text += f" Lifecycle details: {info.lifecycle_details}"
        if log_lines:
            text += "\nLast predict log lines:\n" + "\n".join(f"  {line}" for line in log_lines)
        elif log_note:
            text += f" ({log_note})"
        error_class = DeploymentWaitTimeout if why is None else DeploymentStateError
        return error_class(
            text,
            state=info.state,
            lifecycle_details=info.lifecycle_details,
            log_lines=log_lines,
        )


def _last_log_lines(
    dep: Deployment, info: DeploymentInfo, auth: AuthArg, client_factory: ClientFactory | None
) -> tuple[list[str], str | None]:
    """Best effort: the deployment's last predict log lines, never raising."""
    if info.log_ids("predict") is None:
        return [], "no predict log is configured on this deployment, so no log lines"
    try:
        records = logs(
            dep,
            auth,
            kind="predict",
            limit=_ERROR_LOG_LINES,
            info=info,
            client_factory=client_factory,
        )
    except Exception as exc:  # a logs failure must not hide the state error
        logger.debug("could not read the logs of %s", info.ocid, exc_info=True)
        return [], f"could not read its logs: {type(exc).__name__}"
    return [str(r) for r in records], None


def wait_until_active(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeploymentInfo:
    """Poll until the deployment is ACTIVE and return its :class:`DeploymentInfo`.

    Raises :class:`~odsc_llm.DeploymentStateError` when it is (or turns) FAILED,
    DELETING or DELETED, or stays INACTIVE for two polls, and
    :class:`~odsc_llm.errors.DeploymentWaitTimeout` (a subclass) after ``timeout``
    seconds. The error carries ``state``, ``lifecycle_details`` and the last predict
    log lines (``log_lines``, best effort). ``callback`` is called with each poll's info.
    """
    dep = Deployment.coerce(deployment)
    waiter = _Waiter(dep, timeout, poll_interval, clock())
    client = _make_client("data_science", dep.region, auth, client_factory)
    while True:
        info = _fetch_with(client, dep)
        if callback is not None:
            callback(info)
        if info.state == ACTIVE:
            return info
        why = waiter.failure(info)
        delay = None if why else waiter.next_sleep(clock())
        if why is not None or delay is None:
            lines, note = _last_log_lines(dep, info, auth, client_factory)
            raise waiter.error(info, why, lines, note)
        logger.debug("%s is %s; next poll in %.1f s", dep.ocid, info.state, delay)
        sleep(delay)


# -- logs ------------------------------------------------------------------------------------


_LEVELS = {
    "TRACE": "DEBUG",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "NOTICE": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERROR": "ERROR",
    "CRITICAL": "CRITICAL",
    "FATAL": "CRITICAL",
}
# vLLM "INFO 11-27 12:00:00 [...]", "(APIServer pid=1) INFO ...", uvicorn "INFO:     ...",
# "[ERROR] ...", "2024-01-01 12:00:00,000 - WARNING - ..." (within the first ~40 chars).
_LEVEL_RE = re.compile(
    r"^.{0,40}?(?<![A-Za-z])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL)(?![A-Za-z])"
)
_ERROR_RE = re.compile(r"^Traceback \(most recent call last\)|^[\w.]*(Error|Exception):")


def _level_of(data: dict[str, Any], message: str) -> str | None:
    for key in ("level", "levelname", "severity", "log_level"):
        value = data.get(key)
        if isinstance(value, str) and value.upper() in _LEVELS:
            return _LEVELS[value.upper()]
    for key in ("status", "statusCode", "status_code", "responseCode"):
        value = data.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and 100 <= value <= 599:
            return "ERROR" if value >= 500 else "WARNING" if value >= 400 else "INFO"
    match = _LEVEL_RE.match(message)
    if match:
        return _LEVELS[match.group(1)]
    if _ERROR_RE.match(message.lstrip()):
        return "ERROR"
    return None


class LogRecord(BaseModel):
    """One log record of a deployment, from the Logging Search API."""

    model_config = ConfigDict(frozen=True)

    #: When the record was emitted (UTC).
    time: datetime
    #: DEBUG, INFO, WARNING, ERROR or CRITICAL when known (from the record or its text).
    level: str | None = None
    #: The text: the log line of the model server (predict log) or the request (access).
    message: str
    #: ``"predict"`` or ``"access"``.
    kind: str | None = None
    #: The record's unique id in OCI Logging.
    id: str | None = None
    #: The record's ``data`` object as sent by the service.
    data: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def from_search_result(cls, result: Any, kind: str | None = None) -> LogRecord:
        """Build from an ``oci.loggingsearch.models.SearchResult`` (its ``data`` dict)."""
        raw = getattr(result, "data", result)
        raw = raw if isinstance(raw, dict) else {}
        content = raw.get("logContent") or {}
        data = content.get("data")
        if isinstance(data, dict):
            text = data.get("message")
            message = text if isinstance(text, str) else json.dumps(data, default=str)
        else:
            message = "" if data is None else str(data)
            data = {"message": message} if data is not None else {}
        when: Any = content.get("time") or raw.get("datetime")
        try:
            parsed = _DATETIME.validate_python(when)
        except ValidationError:
            parsed = datetime.fromtimestamp(0, timezone.utc)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return cls(
            time=parsed,
            level=_level_of(data, message),
            message=message.rstrip("\n"),
            kind=kind,
            id=content.get("id"),
            data=data,
        )

    def __str__(self) -> str:
        stamp = self.time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return f"{stamp} {self.level or '-':<8} {self.message}"


def _check_kind(kind: str) -> None:
    if kind not in ("predict", "access"):
        raise ValueError(f"kind must be 'predict' (model server output) or 'access', not {kind!r}.")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _start_time(since: datetime | timedelta | None, now: datetime) -> datetime:
    if since is None:
        since = DEFAULT_LOG_SINCE
    if isinstance(since, timedelta):
        if since <= timedelta(0):
            raise ValueError(f"since must be a positive timedelta, got {since!r}.")
        start = now - since
    elif isinstance(since, datetime):
        start = _utc(since)
    else:
        raise ValueError(
            f"since must be a datetime or a timedelta (how long ago), not {type(since).__name__}."
        )
    return max(start, now - _SEARCH_MAX_SPAN)


def _to_millis(value: datetime, *, up: bool = False) -> datetime:
    """``value`` at millisecond precision (what Logging Search's RFC 3339 times carry)."""
    extra = value.microsecond % 1000
    if not extra:
        return value
    value = value - timedelta(microseconds=extra)
    return value + timedelta(milliseconds=1) if up else value


class _LogQuery:
    """What to search: the query string of one deployment's log, and the client."""

    def __init__(self, info: DeploymentInfo, kind: LogKind, client: Any) -> None:
        ids = info.log_ids(kind)
        if ids is None:
            raise DeploymentStateError(
                f"Deployment {info.ocid} has no {kind} log configured: enable logging on "
                "the deployment (console: Logging, or AI Quick Actions' log group and log "
                "settings) to read its logs.",
                state=info.state,
                lifecycle_details=info.lifecycle_details,
            )
        group, log = ids
        compartment = info.compartment_id or ""
        # A log can be shared by several deployments: keep this one's records.
        self.query = (
            f'search "{compartment}/{group}/{log}" '
            f"| where source = '*{info.ocid}' | sort by datetime desc"
        )
        self.kind = kind
        self.client = client
        self.subject = f"the {kind} log of {info.ocid}"

    def search(self, start: datetime, end: datetime, limit: int) -> list[LogRecord]:
        """Newest-first records in [start, end), at most ``limit``, following pages."""
        import oci.loggingsearch.models
        import oci.pagination

        details = oci.loggingsearch.models.SearchLogsDetails(
            time_start=_to_millis(start),
            time_end=_to_millis(end, up=True),
            search_query=self.query,
            is_return_field_info=False,
        )

        def run() -> list[Any]:
            found: list[Any] = []
            pages = oci.pagination.list_call_get_all_results_generator(
                self.client.search_logs,
                "response",
                details,
                limit=min(limit, _SEARCH_PAGE_MAX),
            )
            for response in pages:
                found.extend(getattr(response.data, "results", None) or [])
                if len(found) >= limit:
                    break
            return found[:limit]

        results = _call("SearchLogs", self.subject, run)
        return [LogRecord.from_search_result(r, self.kind) for r in results]


def _record_key(record: LogRecord) -> str:
    return record.id or f"{record.time.isoformat()}|{record.message}"


class _Follower:
    """The no-I/O part of follow mode: windows to search, and which records are new."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.high_water = start
        self.seen: dict[str, datetime] = {}

    def accept(self, records: list[LogRecord]) -> list[LogRecord]:
        new = []
        for record in sorted(records, key=lambda r: r.time):
            key = _record_key(record)
            if key in self.seen:
                continue
            self.seen[key] = record.time
            new.append(record)
            self.high_water = max(self.high_water, record.time)
        cutoff = self.window_start() - _FOLLOW_LOOKBACK
        self.seen = {k: t for k, t in self.seen.items() if t >= cutoff}
        return new

    def window_start(self) -> datetime:
        return max(self.start, self.high_water - _FOLLOW_LOOKBACK)


def _now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _prepare_logs(
    deployment: Deployment | str,
    auth: AuthArg,
    kind: LogKind,
    limit: int,
    info: DeploymentInfo | None,
    client_factory: ClientFactory | None,
) -> _LogQuery:
    _check_kind(kind)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}.")
    dep = Deployment.coerce(deployment)
    signer = _resolve_signer(auth)
    factory = client_factory or default_client_factory
    if info is None:
        info = _fetch_with(factory("data_science", dep.region, signer), dep)
    return _LogQuery(info, kind, factory("log_search", dep.region, signer))


@overload
def logs(
    deployment: Deployment | str,
    auth: AuthArg = ...,
    *,
    kind: LogKind = ...,
    since: datetime | timedelta | None = ...,
    limit: int = ...,
    follow: Literal[False] = ...,
    poll_interval: float = ...,
    info: DeploymentInfo | None = ...,
    client_factory: ClientFactory | None = ...,
    sleep: Callable[[float], object] = ...,
    now: Callable[[], datetime] = ...,
) -> list[LogRecord]: ...
@overload
def logs(
    deployment: Deployment | str,
    auth: AuthArg = ...,
    *,
    kind: LogKind = ...,
    since: datetime | timedelta | None = ...,
    limit: int = ...,
    follow: Literal[True],
    poll_interval: float = ...,
    info: DeploymentInfo | None = ...,
    client_factory: ClientFactory | None = ...,
    sleep: Callable[[float], object] = ...,
    now: Callable[[], datetime] = ...,
) -> Iterator[LogRecord]: ...
@overload
def logs(
    deployment: Deployment | str,
    auth: AuthArg = ...,
    *,
    kind: LogKind = ...,
    since: datetime | timedelta | None = ...,
    limit: int = ...,
    follow: bool,
    poll_interval: float = ...,
    info: DeploymentInfo | None = ...,
    client_factory: ClientFactory | None = ...,
    sleep: Callable[[float], object] = ...,
    now: Callable[[], datetime] = ...,
) -> list[LogRecord] | Iterator[LogRecord]: ...
def logs(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    kind: LogKind = "predict",
    since: datetime | timedelta | None = None,
    limit: int = DEFAULT_LOG_LIMIT,
    follow: bool = False,
    poll_interval: float = DEFAULT_FOLLOW_INTERVAL,
    info: DeploymentInfo | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], object] = time.sleep,
    now: Callable[[], datetime] = _now_utc,
) -> list[LogRecord] | Iterator[LogRecord]:
    """The deployment's recent log records, oldest first (a tail).

    - ``kind``: ``"predict"`` (the model server's output: start-up, errors) or
      ``"access"`` (one record per request).
    - ``since``: a ``datetime`` or how long ago as a ``timedelta`` (default 24 hours;
      at most 14 days back, the Logging Search limit per query).
    - ``limit``: the newest ``limit`` records are returned (all pages are followed).
    - ``follow=True`` returns an iterator that yields those records, then polls every
      ``poll_interval`` seconds and yields new records as they arrive, like ``tail -f``
      (records reach Logging Search with a delay of seconds to a minute; duplicates
      are dropped). It runs until the caller stops iterating.

    The records are this deployment's only (``source`` is its OCID), from the log ids
    in :class:`DeploymentInfo` (pass ``info`` to skip the look-up). Raises
    :class:`~odsc_llm.DeploymentStateError` when the deployment has no such log.
    """
    current = now()
    start = _start_time(since, current)
    query = _prepare_logs(deployment, auth, kind, limit, info, client_factory)
    records = query.search(start, current, limit)[::-1]
    if not follow:
        return records
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval!r}.")

    def tail() -> Iterator[LogRecord]:
        follower = _Follower(start)
        yield from follower.accept(records)
        while True:
            sleep(poll_interval)
            end = now()
            window_start = follower.window_start()
            if end - window_start < _MIN_SEARCH_SPAN:
                continue
            yield from follower.accept(query.search(window_start, end, _SEARCH_PAGE_MAX))

    return tail()


# -- async twins -----------------------------------------------------------------------------


async def afetch(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Async :func:`fetch` (the ``oci`` call runs in a worker thread)."""
    return await asyncio.to_thread(fetch, deployment, auth, client_factory=client_factory)


async def adeployment_state(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    client_factory: ClientFactory | None = None,
) -> str:
    """Async :func:`deployment_state`."""
    return (await afetch(deployment, auth, client_factory=client_factory)).state


async def alist_deployments(
    compartment_id: str,
    auth: AuthArg = None,
    aqua_only: bool = True,
    region: str | None = None,
    *,
    lifecycle_state: str | None = None,
    client_factory: ClientFactory | None = None,
) -> list[DeploymentInfo]:
    """Async :func:`list_deployments`."""
    return await asyncio.to_thread(
        list_deployments,
        compartment_id,
        auth,
        aqua_only,
        region,
        lifecycle_state=lifecycle_state,
        client_factory=client_factory,
    )


async def await_until_active(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeploymentInfo:
    """Async :func:`wait_until_active`: polls in a worker thread, sleeps on the loop."""
    dep = Deployment.coerce(deployment)
    waiter = _Waiter(dep, timeout, poll_interval, clock())
    client = await asyncio.to_thread(_make_client, "data_science", dep.region, auth, client_factory)
    while True:
        info = await asyncio.to_thread(_fetch_with, client, dep)
        if callback is not None:
            callback(info)
        if info.state == ACTIVE:
            return info
        why = waiter.failure(info)
        delay = None if why else waiter.next_sleep(clock())
        if why is not None or delay is None:
            lines, note = await asyncio.to_thread(_last_log_lines, dep, info, auth, client_factory)
            raise waiter.error(info, why, lines, note)
        await sleep(delay)


@overload
async def alogs(
    deployment: Deployment | str,
    auth: AuthArg = ...,
    *,
    kind: LogKind = ...,
    since: datetime | timedelta | None = ...,
    limit: int = ...,
    follow: Literal[False] = ...,
    poll_interval: float = ...,
    info: DeploymentInfo | None = ...,
    client_factory: ClientFactory | None = ...,
    sleep: Callable[[float], Awaitable[object]] = ...,
    now: Callable[[], datetime] = ...,
) -> list[LogRecord]: ...
@overload
async def alogs(
    deployment: Deployment | str,
    auth: AuthArg = ...,
    *,
    kind: LogKind = ...,
    since: datetime | timedelta | None = ...,
    limit: int = ...,
    follow: Literal[True],
    poll_interval: float = ...,
    info: DeploymentInfo | None = ...,
    client_factory: ClientFactory | None = ...,
    sleep: Callable[[float], Awaitable[object]] = ...,
    now: Callable[[], datetime] = ...,
) -> AsyncIterator[LogRecord]: ...
@overload
async def alogs(
    deployment: Deployment | str,
    auth: AuthArg = ...,
    *,
    kind: LogKind = ...,
    since: datetime | timedelta | None = ...,
    limit: int = ...,
    follow: bool,
    poll_interval: float = ...,
    info: DeploymentInfo | None = ...,
    client_factory: ClientFactory | None = ...,
    sleep: Callable[[float], Awaitable[object]] = ...,
    now: Callable[[], datetime] = ...,
) -> list[LogRecord] | AsyncIterator[LogRecord]: ...
async def alogs(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    kind: LogKind = "predict",
    since: datetime | timedelta | None = None,
    limit: int = DEFAULT_LOG_LIMIT,
    follow: bool = False,
    poll_interval: float = DEFAULT_FOLLOW_INTERVAL,
    info: DeploymentInfo | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    now: Callable[[], datetime] = _now_utc,
) -> list[LogRecord] | AsyncIterator[LogRecord]:
    """Async :func:`logs`; with ``follow=True`` an async iterator (``async for``)."""
    current = now()
    start = _start_time(since, current)
    query = await asyncio.to_thread(
        _prepare_logs, deployment, auth, kind, limit, info, client_factory
    )
    records = (await asyncio.to_thread(query.search, start, current, limit))[::-1]
    if not follow:
        return records
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval!r}.")

    async def tail() -> AsyncIterator[LogRecord]:
        follower = _Follower(start)
        for record in follower.accept(records):
            yield record
        while True:
            await sleep(poll_interval)
            end = now()
            window_start = follower.window_start()
            if end - window_start < _MIN_SEARCH_SPAN:
                continue
            found = await asyncio.to_thread(query.search, window_start, end, _SEARCH_PAGE_MAX)
            for record in follower.accept(found):
                yield record

    return tail()
