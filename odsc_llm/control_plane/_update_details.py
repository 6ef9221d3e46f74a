"""What an update sends: ``UpdateModelDeploymentDetails`` from the deployment as it is now.

Only the parts asked for change: a new shape (checked against the advisor and the
compartment's shapes before anything is sent), the instance count, the bandwidth, and
the environment (``env`` merged, a ``None`` value removing a key; ``params`` replacing
the user's part of ``PARAMS`` while the container's own part stays).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._constants import SERVICE_CONTAINER_SCHEME
from ._containers import ContainerInfo
from ._create import service_shapes
from ._deploy_details import build_params, check_params, check_shape, split_params, user_params

__all__ = ["update_details"]


def update_details(
    options: dict[str, Any], containers: Callable[[Any], list[ContainerInfo]]
) -> Callable[[Any, Any], Any]:
    """``(current ModelDeployment, client) -> UpdateModelDeploymentDetails``."""

    def build(md: Any, client: Any) -> Any:
        from oci.data_science import models

        config = md.model_deployment_configuration_details
        current = config.model_configuration_details
        instance = None
        if options["shape"] is not None or options["ocpus"] is not None:
            # Checked here, before the update is sent: the service's shapes are those of
            # the deployment's compartment.
            shape = check_shape(
                options["shape"] or current.instance_configuration.instance_shape_name,
                ocpus=options["ocpus"], memory_gb=options["memory_gb"], params_billion=None,
                force=False, service_shapes=lambda: service_shapes(client, md.compartment_id,
                                                                   options["limits"]),
            )  # fmt: skip
            flex = None
            if options["ocpus"] is not None:
                flex = models.ModelDeploymentInstanceShapeConfigDetails(
                    ocpus=options["ocpus"], memory_in_gbs=options["memory_gb"]
                )
            instance = models.InstanceConfiguration(
                instance_shape_name=shape, model_deployment_instance_shape_config_details=flex
            )
        scaling = None
        if options["instance_count"] is not None:
            scaling = models.FixedSizeScalingPolicy(instance_count=options["instance_count"])
        model_update = models.UpdateModelConfigurationDetails(
            model_id=current.model_id,
            instance_configuration=instance,
            scaling_policy=scaling,
            bandwidth_mbps=options["bandwidth_mbps"],
        )
        env_update = None
        if options["env"] or options["params"] is not None:
            old_env = dict(config.environment_configuration_details.environment_variables or {})
            new_env = {**old_env, **options["env"]}
            new_env = {k: v for k, v in new_env.items() if v is not None}
            if options["params"] is not None:
                image = str(config.environment_configuration_details.image or "")
                container = container_of(image, containers(client))
                base = container.cmd if container else ""
                served, _ = user_params(old_env.get("PARAMS", ""), base)
                tokens = split_params(options["params"])
                check_params(tokens, container)
                new_env["PARAMS"] = build_params(base, served or "odsc-llm", tokens)
            env_update = models.UpdateOcirModelDeploymentEnvironmentConfigurationDetails(
                environment_variables=new_env
            )
        return models.UpdateModelDeploymentDetails(
            model_deployment_configuration_details=models.UpdateSingleModelDeploymentConfigurationDetails(
                model_configuration_details=model_update,
                environment_configuration_details=env_update,
            )
        )

    return build


def container_of(image: str, containers: list[ContainerInfo]) -> ContainerInfo | None:
    if not image.startswith(SERVICE_CONTAINER_SCHEME):
        return None
    return next((c for c in containers if c.image == image), None)
