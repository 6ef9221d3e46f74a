"""What the emulated Data Science API lists: service containers, models, deployment shapes.

In the service's own shapes (camelCase: the field names of the oci models'
``attribute_map``): ``ContainerSummary`` (``ListContainers``), ``Model`` (``GetModel``,
with the ``customMetadataList`` AI Quick Actions reads its ``deployment-container``
from), ``ModelDeploymentShapeSummary`` (``ListModelDeploymentShapes``).

The container entries follow what oracle-ads (``ads/aqua/config/container_config.py``,
``ads/aqua/constants.py``) reads from the real ``ListContainers``: the family names
(``odsc-vllm-serving``, ``odsc-llama-cpp-serving``, ``odsc-tei-serving``), ``isLatest``,
and ``workloadConfigurationDetailsList[0]`` with ``cmd``, the ports and
``additionalConfigurations`` (the default environment and ``restrictedParams``, a JSON
list). The tags are made up; the emulator runs none of these images.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["CONTAINERS", "SHAPES", "container_bodies", "model_body", "shape_bodies"]

VLLM = "odsc-vllm-serving"
LLAMA_CPP = "odsc-llama-cpp-serving"
TEI = "odsc-tei-serving"

# (family, display name, latest tag, an older tag, cmd, port, restricted parameters)
CONTAINERS: tuple[tuple[str, str, str, str, str, int, tuple[str, ...]], ...] = (
    (VLLM, "vLLM", "0.9.1.2", "0.8.5.1", "--served-model-name odsc-llm --seed 42", 8080,
     ("--port", "--host", "--served-model-name", "--seed")),
    (LLAMA_CPP, "llama.cpp", "0.3.7.1", "0.3.2", "", 8080, ("--port", "--host")),
    (TEI, "Text Embeddings Inference", "1.7.2.1", "1.5.0", "--json-output", 8080,
     ("--port", "--hostname")),
)  # fmt: skip

# (name, OCPUs, memory GB, shape series): what ListModelDeploymentShapes answers.
SHAPES: tuple[tuple[str, int, int, str], ...] = (
    ("VM.Standard.E4.Flex", 64, 1024, "AMD_ROME"),
    ("VM.Standard3.Flex", 32, 512, "INTEL_SKYLAKE"),
    ("VM.Standard.A1.Flex", 80, 512, "ARM"),
    ("VM.GPU.A10.1", 15, 240, "NVIDIA_GPU"),
    ("VM.GPU.A10.2", 30, 480, "NVIDIA_GPU"),
    ("BM.GPU.A10.4", 64, 1024, "NVIDIA_GPU"),
    ("BM.GPU.A100-v2.8", 128, 2048, "NVIDIA_GPU"),
    ("BM.GPU.H100.8", 112, 2048, "NVIDIA_GPU"),
)


def _container(family: str, display: str, tag: str, cmd: str, port: int,
               restricted: tuple[str, ...], *, latest: bool) -> dict[str, Any]:  # fmt: skip
    configuration = {
        "MODEL_DEPLOY_PREDICT_ENDPOINT": "/v1/completions",
        "MODEL_DEPLOY_HEALTH_ENDPOINT": "/health",
        "PORT": str(port),
        "HEALTH_CHECK_PORT": str(port),
        "restrictedParams": json.dumps(list(restricted)),
    }
    return {
        "containerName": family,
        "displayName": f"{display} {tag}",
        "familyName": family,
        "description": f"{display} model server (emulated by odsc_llm.testing)",
        "isLatest": latest,
        "targetWorkloads": ["MODEL_DEPLOYMENT"],
        "usages": ["INFERENCE"],
        "tag": tag,
        "lifecycleState": "ACTIVE",
        "workloadConfigurationDetailsList": [
            {
                "workloadType": "MODEL_DEPLOYMENT",
                "cmd": cmd,
                "serverPort": port,
                "healthCheckPort": port,
                "additionalConfigurations": configuration,
            }
        ],
        "freeformTags": {},
        "definedTags": {},
    }


def container_bodies() -> list[dict[str, Any]]:
    """Every container: the latest tag of each family and one older tag."""
    bodies = []
    for family, display, latest, older, cmd, port, restricted in CONTAINERS:
        bodies.append(_container(family, display, latest, cmd, port, restricted, latest=True))
        bodies.append(_container(family, display, older, cmd, port, restricted, latest=False))
    return bodies


def shape_bodies() -> list[dict[str, Any]]:
    """``ModelDeploymentShapeSummary`` of every shape the emulator knows."""
    return [
        {"name": name, "coreCount": cores, "memoryInGBs": memory, "shapeSeries": series}
        for name, cores, memory, series in SHAPES
    ]


def model_body(
    ocid: str, name: str, container: str, compartment_id: str, project_id: str, created: str
) -> dict[str, Any]:
    """A ``Model`` with the custom metadata AI Quick Actions deploys from."""
    metadata = [
        {"key": "deployment-container", "value": container, "category": "Other"},
        {"key": "evaluation-container", "value": "odsc-llm-evaluate", "category": "Other"},
        {"key": "artifact_location", "value": f"service_models/{name}", "category": "Other"},
    ]  # fmt: skip
    return {
        "id": ocid,
        "compartmentId": compartment_id,
        "projectId": project_id,
        "displayName": name,
        "description": "Emulated by odsc_llm.testing.LocalDeployment",
        "lifecycleState": "ACTIVE",
        "timeCreated": created,
        "createdBy": "ocid1.user.oc1..local",
        "freeformTags": {"OCI_AQUA": "active", "aqua_service_model": "true"},
        "definedTags": {},
        "customMetadataList": metadata,
        "definedMetadataList": [],
    }
