"""The service-managed containers a deployment runs (``ListContainers``), typed.

AI Quick Actions picks the entry whose ``family_name`` is the model's custom metadata
``deployment-container`` and ``is_latest`` is true, and runs ``dsmc://{name}:{tag}``
with the entry's ``cmd``, ports and default environment (oracle-ads
``ads/aqua/app.py`` ``get_container_image``, ``ads/aqua/config/container_config.py``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .._concurrency import arun_blocking, run_blocking
from .._errors import InvalidRequestError
from .._oci_bounds import Bounds, TimeoutArg, bounds
from ._clients import AuthArg, ClientFactory, call
from ._constants import CONTAINER_ENV_KEYS, SERVICE_CONTAINER_SCHEME
from ._regions import region_client

__all__ = ["ContainerInfo", "alist_containers", "list_containers", "pick_container"]


class ContainerInfo(BaseModel):
    """One service container (``oci.data_science.models.ContainerSummary``), typed."""

    model_config = ConfigDict(frozen=True)

    #: The family AI Quick Actions deploys a model with, e.g. ``odsc-vllm-serving``.
    family: str
    #: The container's name, e.g. ``odsc-vllm-serving``.
    name: str
    tag: str
    #: Whether this is the family's newest tag (the one a deployment gets).
    is_latest: bool = False
    display_name: str | None = None
    #: The server's base arguments (``PARAMS`` starts with them).
    cmd: str = ""
    server_port: int | None = None
    health_check_port: int | None = None
    #: The default environment of a deployment (predict and health paths, ports).
    environment: dict[str, str] = Field(default_factory=dict)
    #: Server arguments the container sets itself: refused in ``params``.
    restricted_params: tuple[str, ...] = ()

    @property
    def image(self) -> str:
        """``dsmc://{name}:{tag}``: the image a deployment of this container runs."""
        return f"{SERVICE_CONTAINER_SCHEME}{self.name}:{self.tag}"

    @classmethod
    def from_oci(cls, summary: Any) -> ContainerInfo:
        """Build from an ``oci.data_science.models.ContainerSummary``."""
        workloads = getattr(summary, "workload_configuration_details_list", None) or []
        workload = workloads[0] if workloads else None
        extra = dict(getattr(workload, "additional_configurations", None) or {})
        try:
            restricted = json.loads(extra.get("restrictedParams") or "[]")
        except ValueError:
            restricted = []
        return cls(
            family=str(summary.family_name or summary.container_name),
            name=str(summary.container_name),
            tag=str(summary.tag),
            is_latest=bool(summary.is_latest),
            display_name=summary.display_name,
            cmd=str(getattr(workload, "cmd", None) or ""),
            server_port=getattr(workload, "server_port", None),
            health_check_port=getattr(workload, "health_check_port", None),
            environment={k: str(extra[k]) for k in CONTAINER_ENV_KEYS if extra.get(k)},
            restricted_params=tuple(str(p) for p in restricted if isinstance(p, str)),
        )


def containers_with(client: Any, limits: Bounds) -> list[ContainerInfo]:
    """Every ``ListContainers`` page with ``client``, typed."""

    def all_pages() -> list[Any]:
        import oci.pagination

        return list(oci.pagination.list_call_get_all_results(client.list_containers).data)

    found = call("ListContainers", "the service containers", all_pages, client=client,
                 limits=limits)  # fmt: skip
    return [ContainerInfo.from_oci(summary) for summary in found]


def pick_container(containers: list[ContainerInfo], family: str) -> ContainerInfo:
    """The latest container of ``family``; InvalidRequestError naming the families else."""
    for container in containers:
        if container.family == family and container.is_latest:
            return container
    families = sorted({c.family for c in containers})
    raise InvalidRequestError(
        f"No service container of family {family!r}; the service has: "
        f"{', '.join(families) or 'none'}. Pass container_family= one of them."
    )


def _list_containers(
    auth: AuthArg,
    region: str | None,
    control_plane_endpoint: str | None,
    timeout: TimeoutArg,
    max_retries: int | None,
    client_factory: ClientFactory | None,
) -> list[ContainerInfo]:
    """:func:`list_containers`, blocking."""
    limits = bounds(timeout, max_retries)
    client = region_client(auth, region, control_plane_endpoint, client_factory, limits.start())
    return containers_with(client, limits.start())


# The sync function is generated from the async one below (scripts/unasync.py).

# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.


def list_containers(
    auth: AuthArg = None,
    *,
    region: str | None = None,
    control_plane_endpoint: str | None = None,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> list[ContainerInfo]:
    """The service containers a deployment can run (``ListContainers``), every tag.

    ``region`` defaults as in :func:`list_deployments`; ``control_plane_endpoint``
    replaces the region's endpoint (the local emulator's ``local.base_url``);
    ``timeout`` and ``max_retries`` as in :func:`fetch`. The ``oci`` calls block; the
    async twin runs them in a worker thread.
    """
    return run_blocking(
        _list_containers, auth, region, control_plane_endpoint, timeout, max_retries,
        client_factory,
    )  # fmt: skip


# unasync: end generated

# unasync: begin source rename=alist_containers:list_containers


async def alist_containers(
    auth: AuthArg = None,
    *,
    region: str | None = None,
    control_plane_endpoint: str | None = None,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> list[ContainerInfo]:
    """The service containers a deployment can run (``ListContainers``), every tag.

    ``region`` defaults as in :func:`list_deployments`; ``control_plane_endpoint``
    replaces the region's endpoint (the local emulator's ``local.base_url``);
    ``timeout`` and ``max_retries`` as in :func:`fetch`. The ``oci`` calls block; the
    async twin runs them in a worker thread.
    """
    return await arun_blocking(
        _list_containers, auth, region, control_plane_endpoint, timeout, max_retries,
        client_factory,
    )  # fmt: skip


# unasync: end source
