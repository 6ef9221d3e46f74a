"""``create_deployment``: deploy a model as AI Quick Actions does, after checking it can run."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from .._address import Address, parse_ocid
from .._concurrency import arun_blocking, run_blocking
from .._errors import InvalidRequestError
from .._oci_bounds import Bounds, TimeoutArg, bounds
from ._clients import AuthArg, ClientFactory, call
from ._constants import (
    CONTAINER_METADATA_KEY,
    DEFAULT_BANDWIDTH_MBPS,
    DEFAULT_INSTANCE_COUNT,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_SERVED_MODEL_NAME,
    DEFAULT_WAIT_TIMEOUT,
)
from ._containers import containers_with, pick_container
from ._deploy_details import (
    Params,
    build_params,
    check_create_ids,
    check_env,
    check_ocid,
    check_params,
    check_shape,
    custom_endpoints_of,
    log_details,
    split_params,
)
from ._info import DeploymentInfo
from ._regions import resolve_region
from ._work_requests import await_until_done, wait_until_done

if TYPE_CHECKING:
    from ..deployment import Deployment

__all__ = ["acreate_deployment", "create_deployment"]


def _address_of(info: DeploymentInfo, endpoint: str | None) -> Address:
    """Where a created deployment's control-plane calls go: ``endpoint`` when given."""
    address = parse_ocid(info.ocid, info.region)
    return dataclasses.replace(address, control_plane_endpoint=endpoint)


def _whole(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{name} must be a whole number >= 1, got {value!r}.")
    return value


def _model_family(client: Any, model_id: str, limits: Bounds) -> str:
    """The model's custom metadata ``deployment-container`` (what AI Quick Actions reads)."""
    model = call("GetModel", model_id, client.get_model, model_id, client=client,
                 limits=limits.start()).data  # fmt: skip
    for item in getattr(model, "custom_metadata_list", None) or ():
        if item.key == CONTAINER_METADATA_KEY and item.value:
            return str(item.value)
    raise InvalidRequestError(
        f"Model {model_id} names no container (custom metadata {CONTAINER_METADATA_KEY!r}); "
        "pass container_family= (see list_containers())."
    )


def service_shapes(client: Any, compartment_id: str, limits: Bounds) -> list[str]:
    """The names ``ListModelDeploymentShapes`` gives for ``compartment_id`` (every page)."""

    def all_pages() -> list[Any]:
        import oci.pagination

        pages = oci.pagination.list_call_get_all_results(
            client.list_model_deployment_shapes, compartment_id
        )
        return list(pages.data)

    found = call("ListModelDeploymentShapes", compartment_id, all_pages, client=client,
                 limits=limits.start())  # fmt: skip
    return [str(shape.name) for shape in found]


@dataclasses.dataclass(frozen=True)
class _CreateRequest:
    """What :func:`create_deployment` asks for, less the waiting: the one argument of the
    blocking core. No defaults here: the public signature shows them, once."""

    model_id: str
    compartment_id: str
    project_id: str
    shape: str
    display_name: str | None
    instance_count: int
    ocpus: float | None
    memory_gb: float | None
    bandwidth_mbps: int
    container_family: str | None
    params: Params | None
    env: Mapping[str, str] | None
    served_model_name: str
    access_log: tuple[str, str] | None
    predict_log: tuple[str, str] | None
    api_specification: Literal["openai"] | None
    custom_endpoints: Sequence[tuple[str, Sequence[str]]]
    subnet_id: str | None
    params_billion: float | None
    force: bool
    auth: AuthArg
    region: str | None
    control_plane_endpoint: str | None
    request_timeout: TimeoutArg
    max_retries: int | None
    client_factory: ClientFactory | None

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> _CreateRequest:
        """From the shell's ``locals()`` (its arguments, as given): the fields' names;
        the waiting's arguments stay with the shell."""
        return cls(**{field.name: arguments[field.name] for field in dataclasses.fields(cls)})


def _create(r: _CreateRequest) -> tuple[DeploymentInfo, str | None]:
    """:func:`create_deployment` without the waiting, blocking: the checks of ``r``, then
    the oci calls; the info and the control-plane endpoint the calls went to."""
    compartment_id, project_id, model_id = check_create_ids(
        r.compartment_id, r.project_id, r.model_id
    )
    instance_count = _whole("instance_count", r.instance_count)
    bandwidth_mbps = _whole("bandwidth_mbps", r.bandwidth_mbps)
    user_env = {k: v for k, v in check_env(r.env, allow_none=False).items() if v is not None}
    tokens = split_params(r.params)
    if r.api_specification not in (None, "openai"):
        raise InvalidRequestError(
            f"api_specification must be 'openai' or None, got {r.api_specification!r}."
        )
    endpoints = custom_endpoints_of(r.custom_endpoints)
    logs = log_details(r.access_log, r.predict_log)
    subnet_id = r.subnet_id
    if subnet_id is not None:
        subnet_id = check_ocid(subnet_id, ("ocid1.subnet.",), "subnet_id")
    display_name = r.display_name
    if display_name is not None and (not isinstance(display_name, str) or not display_name.strip()):
        raise InvalidRequestError(f"display_name must be a non-empty string, got {display_name!r}.")
    limits = bounds(r.request_timeout, r.max_retries)
    signer, region, endpoint = resolve_region(r.auth, r.region, r.control_plane_endpoint,
                                              "create_deployment")  # fmt: skip
    from ._clients import build_client

    client = build_client("data_science", region, signer, r.client_factory, endpoint,
                          limits.start())  # fmt: skip
    shape = check_shape(
        r.shape, ocpus=r.ocpus, memory_gb=r.memory_gb, params_billion=r.params_billion,
        force=r.force, service_shapes=lambda: service_shapes(client, compartment_id, limits),
    )  # fmt: skip
    family = r.container_family or _model_family(client, model_id, limits)
    container = pick_container(containers_with(client, limits.start()), family)
    check_params(tokens, container)
    environment = {
        **container.environment,
        **user_env,
        "PARAMS": build_params(container.cmd, r.served_model_name, tokens),
    }
    from oci.data_science import models

    flex = None
    if r.ocpus is not None:
        flex = models.ModelDeploymentInstanceShapeConfigDetails(
            ocpus=r.ocpus, memory_in_gbs=r.memory_gb
        )
    details = models.CreateModelDeploymentDetails(
        display_name=display_name,
        project_id=project_id,
        compartment_id=compartment_id,
        category_log_details=logs,
        model_deployment_configuration_details=models.SingleModelDeploymentConfigurationDetails(
            deployment_type="SINGLE_MODEL",
            model_configuration_details=models.ModelConfigurationDetails(
                model_id=model_id,
                instance_configuration=models.InstanceConfiguration(
                    instance_shape_name=shape,
                    model_deployment_instance_shape_config_details=flex,
                    subnet_id=subnet_id,
                ),
                scaling_policy=models.FixedSizeScalingPolicy(instance_count=instance_count),
                bandwidth_mbps=bandwidth_mbps,
            ),
            environment_configuration_details=models.OcirModelDeploymentEnvironmentConfigurationDetails(
                image=container.image,
                server_port=container.server_port,
                health_check_port=container.health_check_port,
                environment_variables=environment,
                predict_api_specification=r.api_specification,
                custom_http_endpoints=endpoints or None,
            ),
        ),
    )
    token = uuid.uuid4().hex  # once per call: oci's retries of this call resend it
    response = call(
        "CreateModelDeployment", model_id,
        lambda d: client.create_model_deployment(d, opc_retry_token=token), details,
        client=client, limits=limits.start(),
    )  # fmt: skip
    info = DeploymentInfo.from_oci(response.data, region).model_copy(
        update={"work_request_id": response.headers.get("opc-work-request-id")}
    )
    return info, endpoint


# The sync function is generated from the async one below (scripts/unasync.py).

# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.


def create_deployment(
    model_id: str,
    *,
    compartment_id: str,
    project_id: str,
    shape: str,
    display_name: str | None = None,
    instance_count: int = DEFAULT_INSTANCE_COUNT,
    ocpus: float | None = None,
    memory_gb: float | None = None,
    bandwidth_mbps: int = DEFAULT_BANDWIDTH_MBPS,
    container_family: str | None = None,
    params: Params | None = None,
    env: Mapping[str, str] | None = None,
    served_model_name: str = DEFAULT_SERVED_MODEL_NAME,
    access_log: tuple[str, str] | None = None,
    predict_log: tuple[str, str] | None = None,
    api_specification: Literal["openai"] | None = None,
    custom_endpoints: Sequence[tuple[str, Sequence[str]]] = (),
    subnet_id: str | None = None,
    params_billion: float | None = None,
    force: bool = False,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    auth: AuthArg = None,
    region: str | None = None,
    control_plane_endpoint: str | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Deploy a model (``CreateModelDeployment``) on a service container, as AI Quick
    Actions does; the :class:`DeploymentInfo` the service answered (CREATING), or with
    ``wait=True`` the final one (ACTIVE).

    The container is the latest of ``container_family``, else of the model's custom
    metadata ``deployment-container`` (see :func:`list_containers`); ``PARAMS`` is its
    ``cmd`` with ``--served-model-name served_model_name``, then ``params`` (a string of
    server arguments, or a list); ``env`` adds to the container's default environment.
    ``access_log`` / ``predict_log`` are ``(log_group_id, log_id)``;
    ``api_specification="openai"`` and ``custom_endpoints`` (``[(suffix, methods)]``)
    make a Multiple Inference Endpoints deployment.

    Checked before anything changes: the OCIDs' kinds; the shape (the advisor's GPU
    table, else the service's ``ListModelDeploymentShapes``; a flex shape needs
    ``ocpus`` and ``memory_gb``); with ``params_billion``, that the model fits
    (:func:`odsc_llm.shapes.fits`; ``force=True`` overrides); arguments the container
    sets itself. One ``opc-retry-token`` covers the call's retries, so a create retried
    after a lost answer makes one deployment.

    ``wait=True`` waits on the work request (:func:`wait_until_done`, with ``timeout``,
    ``poll_interval`` and ``callback``). ``region`` defaults as in
    :func:`list_deployments`; ``control_plane_endpoint`` replaces the region's endpoint;
    ``request_timeout`` and ``max_retries`` bound each call as in :func:`fetch`. The
    ``oci`` calls block; the async twin runs them in a worker thread and waits on the
    event loop.
    """
    # First, while locals() holds just the arguments: their names are not written again.
    request = _CreateRequest.of(locals())
    info, endpoint = run_blocking(_create, request)
    if not wait:
        return info
    dep = _address_of(info, endpoint)  # wait_until_done takes any located address
    return wait_until_done(
        cast("Deployment", dep), auth, work_request_id=info.work_request_id, timeout=timeout,
        poll_interval=poll_interval, callback=callback, request_timeout=request_timeout,
        max_retries=max_retries, client_factory=client_factory,
    )  # fmt: skip


# unasync: end generated

# unasync: begin source rename=acreate_deployment:create_deployment


async def acreate_deployment(
    model_id: str,
    *,
    compartment_id: str,
    project_id: str,
    shape: str,
    display_name: str | None = None,
    instance_count: int = DEFAULT_INSTANCE_COUNT,
    ocpus: float | None = None,
    memory_gb: float | None = None,
    bandwidth_mbps: int = DEFAULT_BANDWIDTH_MBPS,
    container_family: str | None = None,
    params: Params | None = None,
    env: Mapping[str, str] | None = None,
    served_model_name: str = DEFAULT_SERVED_MODEL_NAME,
    access_log: tuple[str, str] | None = None,
    predict_log: tuple[str, str] | None = None,
    api_specification: Literal["openai"] | None = None,
    custom_endpoints: Sequence[tuple[str, Sequence[str]]] = (),
    subnet_id: str | None = None,
    params_billion: float | None = None,
    force: bool = False,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    auth: AuthArg = None,
    region: str | None = None,
    control_plane_endpoint: str | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Deploy a model (``CreateModelDeployment``) on a service container, as AI Quick
    Actions does; the :class:`DeploymentInfo` the service answered (CREATING), or with
    ``wait=True`` the final one (ACTIVE).

    The container is the latest of ``container_family``, else of the model's custom
    metadata ``deployment-container`` (see :func:`list_containers`); ``PARAMS`` is its
    ``cmd`` with ``--served-model-name served_model_name``, then ``params`` (a string of
    server arguments, or a list); ``env`` adds to the container's default environment.
    ``access_log`` / ``predict_log`` are ``(log_group_id, log_id)``;
    ``api_specification="openai"`` and ``custom_endpoints`` (``[(suffix, methods)]``)
    make a Multiple Inference Endpoints deployment.

    Checked before anything changes: the OCIDs' kinds; the shape (the advisor's GPU
    table, else the service's ``ListModelDeploymentShapes``; a flex shape needs
    ``ocpus`` and ``memory_gb``); with ``params_billion``, that the model fits
    (:func:`odsc_llm.shapes.fits`; ``force=True`` overrides); arguments the container
    sets itself. One ``opc-retry-token`` covers the call's retries, so a create retried
    after a lost answer makes one deployment.

    ``wait=True`` waits on the work request (:func:`wait_until_done`, with ``timeout``,
    ``poll_interval`` and ``callback``). ``region`` defaults as in
    :func:`list_deployments`; ``control_plane_endpoint`` replaces the region's endpoint;
    ``request_timeout`` and ``max_retries`` bound each call as in :func:`fetch`. The
    ``oci`` calls block; the async twin runs them in a worker thread and waits on the
    event loop.
    """
    # First, while locals() holds just the arguments: their names are not written again.
    request = _CreateRequest.of(locals())
    info, endpoint = await arun_blocking(_create, request)
    if not wait:
        return info
    dep = _address_of(info, endpoint)  # await_until_done takes any located address
    return await await_until_done(
        cast("Deployment", dep), auth, work_request_id=info.work_request_id, timeout=timeout,
        poll_interval=poll_interval, callback=callback, request_timeout=request_timeout,
        max_retries=max_retries, client_factory=client_factory,
    )  # fmt: skip


# unasync: end source
