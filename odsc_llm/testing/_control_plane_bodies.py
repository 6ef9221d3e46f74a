"""The JSON the emulated Data Science and Logging Search APIs send (camelCase, as the
services do: the field names of the oci models' ``attribute_map``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._control_plane import ControlPlane

__all__ = ["iso", "log_record", "model_deployment"]


def iso(when: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as the services write times."""
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_record(
    cp: ControlPlane, when: datetime, data: dict[str, Any], rid: str, kind: str
) -> dict[str, Any]:
    """One Logging Search result (``SearchResult.data``) of ``cp``'s predict or access log."""
    log_id = cp.predict_log_id if kind == "predict" else cp.access_log_id
    content = {
        "data": data,
        "id": rid,
        "oracle": {
            "compartmentid": cp.compartment_id,
            "ingestedtime": iso(when),
            "loggroupid": cp.log_group_id,
            "logid": log_id,
            "tenantid": "ocid1.tenancy.oc1..local",
        },
        "source": cp.ocid,
        "specversion": "1.0",
        "subject": "",
        "time": iso(when),
        "type": f"com.oraclecloud.datascience.modeldeployment.{kind}",
    }
    return {"data": {"datetime": int(when.timestamp() * 1000), "logContent": content}}


def model_deployment(
    cp: ControlPlane,
    ocid: str,
    name: str,
    state: str,
    shape: str,
    host: str,
    *,
    aqua: bool,
    logs: bool,
    model_name: str | None = None,
) -> dict[str, Any]:
    """A ModelDeployment as the Data Science API sends it (camelCase)."""
    body: dict[str, Any] = {
        "id": ocid,
        "timeCreated": iso(cp.time_created),
        "displayName": name,
        "description": "Emulated by odsc_llm.testing.LocalDeployment",
        "projectId": cp.project_id,
        "createdBy": "ocid1.user.oc1..local",
        "compartmentId": cp.compartment_id,
        "modelDeploymentConfigurationDetails": {
            "deploymentType": "SINGLE_MODEL",
            "modelConfigurationDetails": {
                "modelId": cp.model_id,
                "instanceConfiguration": {"instanceShapeName": shape},
                "scalingPolicy": {
                    "policyType": "FIXED_SIZE",
                    "instanceCount": cp.instance_count,
                },
                "bandwidthMbps": 10,
            },
            "environmentConfigurationDetails": {
                "environmentConfigurationType": "OCIR_CONTAINER",
                "image": "dsmc://odsc-vllm-serving:local",
                "serverPort": 8080,
                "healthCheckPort": 8080,
            },
        },
        "modelDeploymentUrl": f"http://{host}/{ocid}",
        "lifecycleState": state,
        "freeformTags": {},
        "definedTags": {},
    }
    if aqua:
        model = model_name or cp.model_name
        body["freeformTags"] = {
            "OCI_AQUA": "active",
            "aqua_service_model": f"{cp.model_id}#{model}",
            "aqua_model_name": model,
        }
    if logs:
        body["categoryLogDetails"] = {
            "access": {"logId": cp.access_log_id, "logGroupId": cp.log_group_id},
            "predict": {"logId": cp.predict_log_id, "logGroupId": cp.log_group_id},
        }
    return body
