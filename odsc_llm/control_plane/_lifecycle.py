"""Create, update (scale), activate, deactivate and delete a deployment.

Each returns a :class:`DeploymentInfo` carrying ``work_request_id``; with ``wait=True``
it waits on that work request (:func:`wait_until_done`) and returns the final info.
A create sends one ``opc-retry-token`` for all its retries (a retried create never
makes two deployments); the other operations send ``if-match`` with the etag just read
(a replay fails with 412 instead of acting twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

from .._address import Located, locate
from .._errors import ControlPlaneError, InvalidRequestError
from .._oci_bounds import Bounds, TimeoutArg, bounds
from ._clients import AuthArg, ClientFactory, call
from ._constants import DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT
from ._containers import containers_with
from ._deploy_details import (
    Params,
    check_env,
)
from ._fetch import data_science_client
from ._info import DeploymentInfo
from ._update_details import update_details
from ._work_requests import await_until_done, wait_until_done

if TYPE_CHECKING:
    from ..deployment import Deployment

__all__ = [
    "aactivate",
    "activate",
    "adeactivate",
    "adelete",
    "aupdate_deployment",
    "deactivate",
    "delete",
    "update_deployment",
]

Operation = Literal["update", "activate", "deactivate", "delete"]
_NAMES = {
    "update": "UpdateModelDeployment",
    "activate": "ActivateModelDeployment",
    "deactivate": "DeactivateModelDeployment",
    "delete": "DeleteModelDeployment",
}


def conflict_hint(kind: str, state: str) -> str:
    """What a 409 on ``kind`` means when the deployment is ``state``, and what to do."""
    if (kind, state) in (("activate", "ACTIVE"), ("deactivate", "INACTIVE")):
        return f"It is already {state}: nothing to do."
    if state in ("CREATING", "UPDATING", "DELETING"):
        return (
            f"It is {state}: another operation is under way; wait for it "
            "(odsc_llm.control_plane.wait_until_done, `odsc-llm wait`) and try again."
        )
    if state == "DELETED":
        return "It is DELETED: create a new deployment."
    if kind == "activate":
        return f"It is {state}: only an INACTIVE deployment can be activated."
    return f"It is {state}: {kind} needs an ACTIVE deployment (or INACTIVE for update/delete)."


def _read(client: Any, dep: Located, limits: Bounds) -> tuple[Any, str | None]:
    """The raw ``ModelDeployment`` and its etag."""
    response = call("GetModelDeployment", dep.ocid, client.get_model_deployment, dep.ocid,
                    client=client, limits=limits.start())  # fmt: skip
    return response.data, response.headers.get("etag")


def _change(
    kind: Operation,
    dep: Located,
    auth: AuthArg,
    client_factory: ClientFactory | None,
    limits: Bounds,
    details: Callable[[Any, Any], Any] | None = None,
) -> DeploymentInfo:
    """Read the deployment (state, etag), send ``kind`` with ``if-match``, read it again."""
    client = data_science_client(dep, auth, client_factory, limits.start())
    md, etag = _read(client, dep, limits)
    args: list[Any] = [dep.ocid]
    if details is not None:
        args.append(details(md, client))
    method = getattr(client, f"{kind}_model_deployment")
    kwargs = {"if_match": etag} if etag else {}
    try:
        response = call(_NAMES[kind], dep.ocid, lambda *a: method(*a, **kwargs), *args,
                        client=client, limits=limits.start())  # fmt: skip
    except ControlPlaneError as exc:
        if exc.status_code != 409:
            raise
        hint = conflict_hint(kind, str(md.lifecycle_state))
        raise ControlPlaneError(
            f"{exc} {hint}", status_code=409, code=exc.code, request_id=exc.request_id,
            operation=exc.operation,
        ) from exc  # fmt: skip
    work_request_id = response.headers.get("opc-work-request-id")
    md, _ = _read(client, dep, limits)
    info = DeploymentInfo.from_oci(md, dep.region)
    return info.model_copy(update={"work_request_id": work_request_id})


def _finish(
    info: DeploymentInfo,
    dep: Located,
    auth: AuthArg,
    wait: bool,
    waiting: dict[str, Any],
) -> DeploymentInfo:
    if not wait:
        return info
    located = cast("Deployment", dep)  # it takes any located address
    return wait_until_done(located, auth, work_request_id=info.work_request_id, **waiting)


def _waiting(
    timeout: float,
    poll_interval: float,
    callback: Callable[[DeploymentInfo], object] | None,
    request_timeout: TimeoutArg,
    max_retries: int | None,
    client_factory: ClientFactory | None,
) -> dict[str, Any]:
    return {
        "timeout": timeout,
        "poll_interval": poll_interval,
        "callback": callback,
        "request_timeout": request_timeout,
        "max_retries": max_retries,
        "client_factory": client_factory,
    }


def update_deployment(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    instance_count: int | None = None,
    shape: str | None = None,
    ocpus: float | None = None,
    memory_gb: float | None = None,
    bandwidth_mbps: int | None = None,
    params: Params | None = None,
    env: Mapping[str, str | None] | None = None,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Change a deployment (``UpdateModelDeployment``): scale, reshape, new arguments.

    ``env`` is merged into its environment (a value of ``None`` removes that key);
    ``params`` replaces the user part of ``PARAMS`` (the container's part and the
    served model name stay). Only what is given changes. ``wait``, ``timeout``,
    ``poll_interval`` and ``callback`` as in :func:`create_deployment`.
    """
    if instance_count is not None:
        _whole("instance_count", instance_count)
    if bandwidth_mbps is not None:
        _whole("bandwidth_mbps", bandwidth_mbps)
    if (ocpus is None) != (memory_gb is None):
        raise InvalidRequestError("Pass ocpus= and memory_gb= together.")
    options: dict[str, Any] = {
        "instance_count": instance_count,
        "shape": shape,
        "ocpus": ocpus,
        "memory_gb": memory_gb,
        "bandwidth_mbps": bandwidth_mbps,
        "params": params,
        "env": check_env(env, allow_none=True),
    }
    if all(v is None or v == {} for v in options.values()):
        raise InvalidRequestError(
            "update_deployment needs something to change: instance_count=, shape=, "
            "ocpus=/memory_gb=, bandwidth_mbps=, params= or env=."
        )
    limits = bounds(request_timeout, max_retries)
    options["limits"] = limits
    dep = locate(deployment)
    details = update_details(options, lambda c: containers_with(c, limits.start()))
    info = _change("update", dep, auth, client_factory, limits, details)
    waiting = _waiting(timeout, poll_interval, callback, request_timeout, max_retries,
                       client_factory)  # fmt: skip
    return _finish(info, dep, auth, wait, waiting)


def _whole(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{name} must be a whole number >= 1, got {value!r}.")


def _run(
    kind: Operation,
    deployment: Deployment | str,
    auth: AuthArg,
    wait: bool,
    waiting: dict[str, Any],
) -> DeploymentInfo:
    limits = bounds(waiting["request_timeout"], waiting["max_retries"])
    dep = locate(deployment)
    info = _change(kind, dep, auth, waiting["client_factory"], limits)
    return _finish(info, dep, auth, wait, waiting)


def activate(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Start an INACTIVE deployment again (``ActivateModelDeployment``): same URL.

    A deployment in another state is refused by the service (409); the error says its
    state and what to do (e.g. "It is already ACTIVE: nothing to do."). ``wait`` and the
    waiting arguments as in :func:`create_deployment`.
    """
    waiting = _waiting(timeout, poll_interval, callback, request_timeout, max_retries,
                       client_factory)  # fmt: skip
    return _run("activate", deployment, auth, wait, waiting)


def deactivate(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Stop an ACTIVE deployment (``DeactivateModelDeployment``): its instances shut down
    and billing stops; its settings and URL are kept for :func:`activate`."""
    waiting = _waiting(timeout, poll_interval, callback, request_timeout, max_retries,
                       client_factory)  # fmt: skip
    return _run("deactivate", deployment, auth, wait, waiting)


def delete(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Delete a deployment (``DeleteModelDeployment``); it ends DELETED. Cannot be undone."""
    waiting = _waiting(timeout, poll_interval, callback, request_timeout, max_retries,
                       client_factory)  # fmt: skip
    return _run("delete", deployment, auth, wait, waiting)


# -- async twins: the oci calls in a worker thread, the waiting on the event loop ----------------


async def _await_on(
    deployment: Deployment | str,
    info: DeploymentInfo,
    wait: bool,
    auth: AuthArg,
    waiting: dict[str, Any],
) -> DeploymentInfo:
    if not wait:
        return info
    dep = locate(deployment)
    located = cast("Deployment", dep)  # it takes any located address
    return await await_until_done(located, auth, work_request_id=info.work_request_id, **waiting)


async def aupdate_deployment(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    instance_count: int | None = None,
    shape: str | None = None,
    ocpus: float | None = None,
    memory_gb: float | None = None,
    bandwidth_mbps: int | None = None,
    params: Params | None = None,
    env: Mapping[str, str | None] | None = None,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Async :func:`update_deployment`."""
    info = await asyncio.to_thread(
        update_deployment, deployment, auth, instance_count=instance_count, shape=shape,
        ocpus=ocpus, memory_gb=memory_gb, bandwidth_mbps=bandwidth_mbps, params=params,
        env=env, request_timeout=request_timeout, max_retries=max_retries,
        client_factory=client_factory,
    )  # fmt: skip
    waiting = _waiting(timeout, poll_interval, callback, request_timeout, max_retries,
                       client_factory)  # fmt: skip
    return await _await_on(deployment, info, wait, auth, waiting)


async def _astate(
    sync: Callable[..., DeploymentInfo],
    deployment: Deployment | str,
    auth: AuthArg,
    wait: bool,
    waiting: dict[str, Any],
) -> DeploymentInfo:
    options = {k: waiting[k] for k in ("request_timeout", "max_retries", "client_factory")}
    info = await asyncio.to_thread(sync, deployment, auth, **options)
    return await _await_on(deployment, info, wait, auth, waiting)


async def aactivate(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Async :func:`activate`."""
    waiting = _waiting(timeout, poll_interval, callback, request_timeout, max_retries,
                       client_factory)  # fmt: skip
    return await _astate(activate, deployment, auth, wait, waiting)


async def adeactivate(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Async :func:`deactivate`."""
    waiting = _waiting(timeout, poll_interval, callback, request_timeout, max_retries,
                       client_factory)  # fmt: skip
    return await _astate(deactivate, deployment, auth, wait, waiting)


async def adelete(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
) -> DeploymentInfo:
    """Async :func:`delete`."""
    waiting = _waiting(timeout, poll_interval, callback, request_timeout, max_retries,
                       client_factory)  # fmt: skip
    return await _astate(delete, deployment, auth, wait, waiting)
