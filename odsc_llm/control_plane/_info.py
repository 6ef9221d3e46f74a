"""DeploymentInfo: what the control plane says of a deployment, and what a state means."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..types.params import Routing
from ._constants import ACTIVE

__all__ = ["CustomHttpEndpoint", "DeploymentInfo", "LogKind", "state_hint"]

LogKind = Literal["predict", "access"]


def check_kind(kind: str) -> None:
    """Refuse a log kind other than ``"predict"`` or ``"access"``."""
    if kind not in ("predict", "access"):
        raise ValueError(f"kind must be 'predict' (model server output) or 'access', not {kind!r}.")


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


def _custom_endpoints(environment: Any) -> tuple[CustomHttpEndpoint, ...]:
    # oci.data_science.models.InferenceHttpEndpoint: endpoint_uri_suffix, http_methods
    return tuple(
        CustomHttpEndpoint(
            suffix=str(_get(e, "endpoint_uri_suffix")),
            methods=tuple(str(m) for m in _get(e, "http_methods") or ()),
        )
        for e in _get(environment, "custom_http_endpoints") or ()
        if _get(e, "endpoint_uri_suffix")
    )


class CustomHttpEndpoint(BaseModel):
    """One custom inference endpoint of a Multiple Inference Endpoints deployment
    (``environmentConfigurationDetails.customHttpEndpoints``): ``{endpoint}/predict``
    followed by ``suffix`` (``{}`` matches one path segment) answers ``methods``."""

    model_config = ConfigDict(frozen=True)

    #: The path after ``/predict`` (``endpointUriSuffix``), e.g. ``/v1/score``.
    suffix: str
    #: The HTTP methods it accepts (``httpMethods``), e.g. ``("POST",)``.
    methods: tuple[str, ...] = ()


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
    #: The predefined endpoint set the container serves under ``/predict/...``
    #: (``environmentConfigurationDetails.predictApiSpecification``), e.g. ``"openai"``;
    #: ``None`` on a classic deployment.
    predict_api_specification: str | None = None
    #: The custom inference endpoints it routes under ``/predict/...`` (empty when none).
    custom_http_endpoints: tuple[CustomHttpEndpoint, ...] = ()
    #: The container image that runs, e.g. ``dsmc://odsc-vllm-serving:0.9.1.2``.
    container: str | None = None
    #: The work request of the operation this call started (create, update, activate,
    #: deactivate, delete), to wait on; None from a plain fetch or list.
    work_request_id: str | None = None

    @property
    def routing(self) -> Routing:
        """The ``routing`` that fits a client of this deployment.

        ``"path"`` when its Multiple Inference Endpoints route the OpenAI paths
        (``predict_api_specification == "openai"``: ``{endpoint}/predict/v1/...``);
        ``"header"`` otherwise, which works on every deployment (the ``route`` header on
        ``/predict``), MIE ones included. Custom endpoints alone route only their own
        suffixes, not every call a client makes, so they give ``"header"`` too.
        """
        spec = (self.predict_api_specification or "").strip().lower()
        return "path" if spec == "openai" else "header"

    @property
    def lifecycle_state(self) -> str:
        """Same as :attr:`state` (the oci field's name)."""
        return self.state

    @property
    def is_active(self) -> bool:
        """Whether the deployment is ACTIVE (ready to answer)."""
        return self.state == ACTIVE

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
        environment = _get(config, "environment_configuration_details")
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
            predict_api_specification=_get(environment, "predict_api_specification"),
            custom_http_endpoints=_custom_endpoints(environment),
            container=_get(config, "environment_configuration_details", "image"),
        )

    def log_ids(self, kind: LogKind) -> tuple[str, str] | None:
        """``(log_group_id, log_id)`` of the ``"predict"`` or ``"access"`` log, if set up."""
        check_kind(kind)
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
            ("routing", self.routing),
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
