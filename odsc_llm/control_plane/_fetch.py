"""Fetch one deployment, its state, or list a compartment's deployments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._address import Located, locate
from .._concurrency import arun_blocking, run_blocking
from .._errors import InvalidRequestError
from .._oci_bounds import Bounds, TimeoutArg, bounds
from ._clients import AuthArg, ClientFactory, build_client, call, make_client
from ._constants import LIFECYCLE_STATES
from ._info import DeploymentInfo
from ._regions import resolve_region

if TYPE_CHECKING:
    from ..deployment import Deployment

__all__ = [
    "adeployment_state",
    "afetch",
    "alist_deployments",
    "deployment_state",
    "fetch",
    "list_deployments",
]


def fetch_with(client: Any, dep: Located, limits: Bounds) -> DeploymentInfo:
    """``GetModelDeployment`` with ``client`` within ``limits``, as a :class:`DeploymentInfo`."""
    response = call(
        "GetModelDeployment",
        dep.ocid,
        client.get_model_deployment,
        dep.ocid,
        client=client,
        limits=limits,
    )
    return DeploymentInfo.from_oci(response.data, dep.region)


def data_science_client(
    dep: Located, auth: AuthArg, client_factory: ClientFactory | None, limits: Bounds
) -> Any:
    """The Data Science client for ``dep`` (its region, or its control-plane endpoint)."""
    return make_client(
        "data_science", dep.region, auth, client_factory, dep.control_plane_url, limits
    )


def _fetch(
    deployment: Deployment | str,
    auth: AuthArg,
    timeout: TimeoutArg,
    max_retries: int | None,
    client_factory: ClientFactory | None,
) -> DeploymentInfo:
    """:func:`fetch`, blocking."""
    limits = bounds(timeout, max_retries).start()
    dep = locate(deployment)
    return fetch_with(data_science_client(dep, auth, client_factory, limits), dep, limits)


def _list_deployments(
    compartment_id: str,
    auth: AuthArg,
    aqua_only: bool,
    region: str | None,
    lifecycle_state: str | None,
    state: str | None,
    display_name: str | None,
    control_plane_endpoint: str | None,
    timeout: TimeoutArg,
    max_retries: int | None,
    client_factory: ClientFactory | None,
) -> list[DeploymentInfo]:
    """:func:`list_deployments`, blocking: the checks, then every page."""
    limits = bounds(timeout, max_retries)
    if state is not None and lifecycle_state not in (None, state):
        raise InvalidRequestError(
            f"state={state!r} and lifecycle_state={lifecycle_state!r} disagree: pass one."
        )
    lifecycle_state = lifecycle_state or state
    if not isinstance(compartment_id, str) or not compartment_id.strip().startswith("ocid1."):
        raise InvalidRequestError(
            f"compartment_id must be a compartment OCID ('ocid1.compartment.oc1..xxx' or a "
            f"tenancy OCID), got {compartment_id!r}."
        )
    compartment_id = compartment_id.strip()
    signer, region, endpoint = resolve_region(auth, region, control_plane_endpoint,
                                              "list_deployments")  # fmt: skip
    if lifecycle_state is not None and lifecycle_state not in LIFECYCLE_STATES:
        raise InvalidRequestError(
            f"Unknown lifecycle_state {lifecycle_state!r}; one of {', '.join(LIFECYCLE_STATES)}."
        )
    limits = limits.start()
    client = build_client("data_science", region, signer, client_factory, endpoint, limits)
    kwargs: dict[str, Any] = {"compartment_id": compartment_id}
    if lifecycle_state is not None:
        kwargs["lifecycle_state"] = lifecycle_state
    if display_name is not None:
        kwargs["display_name"] = display_name

    def all_pages() -> list[Any]:
        import oci.pagination

        result = oci.pagination.list_call_get_all_results(client.list_model_deployments, **kwargs)
        return list(result.data)

    summaries = call(
        "ListModelDeployments", compartment_id, all_pages, client=client, limits=limits
    )
    infos = [DeploymentInfo.from_oci(md, region) for md in summaries]
    return [i for i in infos if i.is_aqua] if aqua_only else infos


# The sync functions are generated from the async ones below (scripts/unasync.py): one
# source for each pair. The oci calls block; the async twins run them in a worker thread.

# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.


def fetch(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """The control plane's view of a deployment (``GetModelDeployment``).

    ``deployment`` is a :class:`~odsc_llm.Deployment`, a URL or an OCID; the region
    is the deployment's. The call goes to the region's Data Science endpoint, or to
    :attr:`Deployment.control_plane_url` when it has one (a deployment on loopback such
    as the local emulator, or an explicit ``control_plane_endpoint``). Raises
    :class:`~odsc_llm.errors.ControlPlaneError` when the service refuses (404: no such
    deployment, or not allowed to read it) or gives no answer in time. The ``oci``
    call blocks; the async twin runs it in a worker thread.

    ``timeout``: seconds for each wait and for the whole call, retries included, or a
    ``(connect, read)`` pair (the whole call: the longer one); default 10 s to connect
    and at most 30 s in all. ``max_retries``: retries of connection errors, timeouts,
    429 and 5xx answers by oci's own retry strategy (default 2; 0 for one attempt). A
    call that gets no answer in time raises a one-line ControlPlaneError,
    ``<operation> <endpoint>: <cause>``.
    """
    return run_blocking(_fetch, deployment, auth, timeout, max_retries, client_factory)


def deployment_state(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> str:
    """The deployment's lifecycle state (``"ACTIVE"``, ``"CREATING"``, ``"FAILED"``...).

    One ``GetModelDeployment`` call (``timeout`` and ``max_retries`` as in :func:`fetch`).
    Clients use it to say "the deployment is <state>" when a call fails with 404/409/503
    (see :func:`state_hint`).
    """
    info = fetch(
        deployment, auth, timeout=timeout, max_retries=max_retries, client_factory=client_factory
    )
    return info.state


# unasync: end generated

# unasync: begin generated
# Generated from the `unasync: begin source` region 2 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.


def list_deployments(
    compartment_id: str,
    auth: AuthArg = None,
    aqua_only: bool = True,
    region: str | None = None,
    *,
    lifecycle_state: str | None = None,
    state: str | None = None,
    display_name: str | None = None,
    control_plane_endpoint: str | None = None,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> list[DeploymentInfo]:
    """All model deployments of a compartment (every page), as :class:`DeploymentInfo`.

    ``aqua_only`` keeps those created by AI Quick Actions (tagged ``OCI_AQUA``).
    ``region`` defaults to the auth's config-profile region, the signer's region
    (resource and instance principals), then ``OCI_REGION`` /
    ``OCI_RESOURCE_PRINCIPAL_REGION``. ``lifecycle_state`` (e.g. ``"ACTIVE"``) filters
    on the service side; ``state`` is the same filter by its short name, and
    ``display_name`` keeps the deployments of that name (also on the service side).
    ``control_plane_endpoint`` (``scheme://host:port``, e.g. the
    local emulator's ``local.base_url``) replaces the region's Data Science endpoint.
    ``timeout`` and ``max_retries`` as in :func:`fetch` (the deadline covers every page).
    """
    return run_blocking(
        _list_deployments, compartment_id, auth, aqua_only, region, lifecycle_state, state,
        display_name, control_plane_endpoint, timeout, max_retries, client_factory,
    )  # fmt: skip


# unasync: end generated

# unasync: begin source rename=afetch:fetch,adeployment_state:deployment_state


async def afetch(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """The control plane's view of a deployment (``GetModelDeployment``).

    ``deployment`` is a :class:`~odsc_llm.Deployment`, a URL or an OCID; the region
    is the deployment's. The call goes to the region's Data Science endpoint, or to
    :attr:`Deployment.control_plane_url` when it has one (a deployment on loopback such
    as the local emulator, or an explicit ``control_plane_endpoint``). Raises
    :class:`~odsc_llm.errors.ControlPlaneError` when the service refuses (404: no such
    deployment, or not allowed to read it) or gives no answer in time. The ``oci``
    call blocks; the async twin runs it in a worker thread.

    ``timeout``: seconds for each wait and for the whole call, retries included, or a
    ``(connect, read)`` pair (the whole call: the longer one); default 10 s to connect
    and at most 30 s in all. ``max_retries``: retries of connection errors, timeouts,
    429 and 5xx answers by oci's own retry strategy (default 2; 0 for one attempt). A
    call that gets no answer in time raises a one-line ControlPlaneError,
    ``<operation> <endpoint>: <cause>``.
    """
    return await arun_blocking(_fetch, deployment, auth, timeout, max_retries, client_factory)


async def adeployment_state(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> str:
    """The deployment's lifecycle state (``"ACTIVE"``, ``"CREATING"``, ``"FAILED"``...).

    One ``GetModelDeployment`` call (``timeout`` and ``max_retries`` as in :func:`afetch`).
    Clients use it to say "the deployment is <state>" when a call fails with 404/409/503
    (see :func:`state_hint`).
    """
    info = await afetch(
        deployment, auth, timeout=timeout, max_retries=max_retries, client_factory=client_factory
    )
    return info.state


# unasync: end source

# unasync: begin source rename=alist_deployments:list_deployments


async def alist_deployments(
    compartment_id: str,
    auth: AuthArg = None,
    aqua_only: bool = True,
    region: str | None = None,
    *,
    lifecycle_state: str | None = None,
    state: str | None = None,
    display_name: str | None = None,
    control_plane_endpoint: str | None = None,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> list[DeploymentInfo]:
    """All model deployments of a compartment (every page), as :class:`DeploymentInfo`.

    ``aqua_only`` keeps those created by AI Quick Actions (tagged ``OCI_AQUA``).
    ``region`` defaults to the auth's config-profile region, the signer's region
    (resource and instance principals), then ``OCI_REGION`` /
    ``OCI_RESOURCE_PRINCIPAL_REGION``. ``lifecycle_state`` (e.g. ``"ACTIVE"``) filters
    on the service side; ``state`` is the same filter by its short name, and
    ``display_name`` keeps the deployments of that name (also on the service side).
    ``control_plane_endpoint`` (``scheme://host:port``, e.g. the
    local emulator's ``local.base_url``) replaces the region's Data Science endpoint.
    ``timeout`` and ``max_retries`` as in :func:`fetch` (the deadline covers every page).
    """
    return await arun_blocking(
        _list_deployments, compartment_id, auth, aqua_only, region, lifecycle_state, state,
        display_name, control_plane_endpoint, timeout, max_retries, client_factory,
    )  # fmt: skip


# unasync: end source
