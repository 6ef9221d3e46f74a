"""What the lifecycle tests share: a raw oci Data Science client on the emulator, and
the create body AI Quick Actions sends (built with the oci models)."""

from __future__ import annotations

from typing import Any

import oci
from oci.data_science import models as m

from odsc_llm.control_plane._constants import SIGNER_CONFIG
from odsc_llm.testing import LocalDeployment


def raw_client(local: LocalDeployment) -> Any:
    """The real ``oci.data_science.DataScienceClient`` on the emulator's control plane."""
    config = {**SIGNER_CONFIG, "region": "us-ashburn-1"}
    return oci.data_science.DataScienceClient(
        config,
        signer=local.signer(),
        service_endpoint=local.base_url,
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )


def create_details(local: LocalDeployment, **changes: Any) -> Any:
    """A ``CreateModelDeploymentDetails`` of the emulator's model on VM.GPU.A10.1."""
    model = m.ModelConfigurationDetails(
        model_id=local.model_id,
        instance_configuration=m.InstanceConfiguration(instance_shape_name="VM.GPU.A10.1"),
        scaling_policy=m.FixedSizeScalingPolicy(instance_count=1),
    )
    environment = m.OcirModelDeploymentEnvironmentConfigurationDetails(
        image="dsmc://odsc-vllm-serving:0.9.1.2", server_port=8080, health_check_port=8080
    )
    details = m.CreateModelDeploymentDetails(
        display_name="raw",
        project_id=local.project_id,
        compartment_id=local.compartment_id,
        model_deployment_configuration_details=m.SingleModelDeploymentConfigurationDetails(
            deployment_type="SINGLE_MODEL",
            model_configuration_details=model,
            environment_configuration_details=environment,
        ),
    )
    for name, value in changes.items():
        setattr(details, name, value)
    return details
