"""Create, update (scale), activate, deactivate and delete a deployment.

Each returns a :class:`DeploymentInfo` carrying ``work_request_id``; with ``wait=True``
it waits on that work request (:func:`wait_until_done`) and returns the final info.
A create sends one ``opc-retry-token`` for all its retries (a retried create never
makes two deployments); the other operations send ``if-match`` with the etag just read
(a replay fails with 412 instead of acting twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from typing_extensions import Unpack

from .._address import Located, locate
from .._concurrency import arun_blocking, run_blocking
from .._errors import ControlPlaneError, InvalidRequestError
from .._oci_bounds import Bounds, TimeoutArg, bounds
from ._clients import AuthArg, ClientFactory, call
from ._constants import DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT
from ._containers import containers_with
from ._deploy_details import Params, check_env
from ._fetch import data_science_client
from ._info import DeploymentInfo
from ._update_details import update_details
from ._work_requests import await_until_done, wait_until_done

if TYPE_CHECKING:
    from ..deployment import Deployment

__all__ = [
    "LifecycleOptions",
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


class LifecycleOptions(TypedDict, total=False):
    """The keywords of :func:`activate`, :func:`deactivate`, :func:`delete` and
    :func:`update_deployment` (and their async twins) besides ``wait``."""

    #: Seconds ``wait=True`` waits in all (default ``DEFAULT_WAIT_TIMEOUT``, 30 min).
    timeout: float
    #: Seconds between two polls while waiting (default ``DEFAULT_POLL_INTERVAL``, 15 s).
    poll_interval: float
    #: Called with each poll's :class:`DeploymentInfo` while waiting.
    callback: Callable[[DeploymentInfo], object] | None
    #: Bounds each call as ``timeout`` bounds :func:`fetch` (default at most 30 s).
    request_timeout: TimeoutArg
    #: Retries of each call by oci's retry strategy (default 2).
    max_retries: int | None
    #: ``(service, region, signer) -> client``: fake ``oci`` clients in tests.
    client_factory: ClientFactory | None


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
    changes: dict[str, Any] | None = None,
) -> DeploymentInfo:
    """Read the deployment (state, etag), send ``kind`` with ``if-match``, read it again
    (blocking: the oci calls)."""
    client = data_science_client(dep, auth, client_factory, limits.start())
    md, etag = _read(client, dep, limits)
    args: list[Any] = [dep.ocid]
    if changes is not None:
        details = update_details(
            {**changes, "limits": limits}, lambda c: containers_with(c, limits.start())
        )
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


def _waiting(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` (:class:`LifecycleOptions`) with their defaults; an unknown keyword
    is refused by name, as a signature would."""
    known = LifecycleOptions.__optional_keys__
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidRequestError(
            f"{name}() got unknown keyword(s) {', '.join(unknown)}; it takes wait= and "
            f"{'=, '.join(sorted(known))}=."
        )
    return {
        "timeout": DEFAULT_WAIT_TIMEOUT,
        "poll_interval": DEFAULT_POLL_INTERVAL,
        "callback": None,
        "request_timeout": None,
        "max_retries": None,
        "client_factory": None,
        **options,
    }


def _changes(
    instance_count: int | None,
    shape: str | None,
    ocpus: float | None,
    memory_gb: float | None,
    bandwidth_mbps: int | None,
    params: Params | None,
    env: Mapping[str, str | None] | None,
) -> dict[str, Any]:
    """What an update changes, checked before any I/O."""
    if instance_count is not None:
        _whole("instance_count", instance_count)
    if bandwidth_mbps is not None:
        _whole("bandwidth_mbps", bandwidth_mbps)
    if (ocpus is None) != (memory_gb is None):
        raise InvalidRequestError("Pass ocpus= and memory_gb= together.")
    changes: dict[str, Any] = {
        "instance_count": instance_count,
        "shape": shape,
        "ocpus": ocpus,
        "memory_gb": memory_gb,
        "bandwidth_mbps": bandwidth_mbps,
        "params": params,
        "env": check_env(env, allow_none=True),
    }
    if all(v is None or v == {} for v in changes.values()):
        raise InvalidRequestError(
            "update_deployment needs something to change: instance_count=, shape=, "
            "ocpus=/memory_gb=, bandwidth_mbps=, params= or env=."
        )
    return changes


def _whole(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(f"{name} must be a whole number >= 1, got {value!r}.")


# The sync functions are generated from the async ones below (scripts/unasync.py): one
# source for each pair. The oci calls block; the async twins run them in a worker thread
# and wait on the event loop.

# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.


def _run(
    kind: Operation,
    deployment: Deployment | str,
    auth: AuthArg,
    wait: bool,
    options: Mapping[str, Any],
    changes: dict[str, Any] | None = None,
) -> DeploymentInfo:
    """Send ``kind``, then with ``wait`` wait until its work request ends."""
    name = "update_deployment" if kind == "update" else kind
    waiting = _waiting(name, options)
    limits = bounds(waiting["request_timeout"], waiting["max_retries"])
    dep = locate(deployment)
    info = run_blocking(_change, kind, dep, auth, waiting["client_factory"], limits, changes)
    if not wait:
        return info
    located = cast("Deployment", dep)  # it takes any located address
    work_request_id = info.work_request_id
    return wait_until_done(located, auth, work_request_id=work_request_id, **waiting)


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
    **options: Unpack[LifecycleOptions],
) -> DeploymentInfo:
    """Change a deployment (``UpdateModelDeployment``): scale, reshape, new arguments.

    ``env`` is merged into its environment (a value of ``None`` removes that key);
    ``params`` replaces the user part of ``PARAMS`` (the container's part and the
    served model name stay). Only what is given changes. ``wait`` and ``options``
    (``timeout``, ``poll_interval``, ``callback``, ``request_timeout``, ``max_retries``,
    ``client_factory``) as in :func:`create_deployment`; see :class:`LifecycleOptions`.
    """
    changes = _changes(instance_count, shape, ocpus, memory_gb, bandwidth_mbps, params, env)
    return _run("update", deployment, auth, wait, options, changes)


# unasync: end generated

# unasync: begin generated
# Generated from the `unasync: begin source` region 2 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.


def activate(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    **options: Unpack[LifecycleOptions],
) -> DeploymentInfo:
    """Start an INACTIVE deployment again (``ActivateModelDeployment``): same URL.

    A deployment in another state is refused by the service (409); the error says its
    state and what to do (e.g. "It is already ACTIVE: nothing to do."). ``wait`` and
    ``options`` (:class:`LifecycleOptions`) as in :func:`create_deployment`.
    """
    return _run("activate", deployment, auth, wait, options)


def deactivate(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    **options: Unpack[LifecycleOptions],
) -> DeploymentInfo:
    """Stop an ACTIVE deployment (``DeactivateModelDeployment``): its instances shut down
    and billing stops; its settings and URL are kept for :func:`activate`. ``wait`` and
    ``options`` (:class:`LifecycleOptions`) as in :func:`create_deployment`."""
    return _run("deactivate", deployment, auth, wait, options)


def delete(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    **options: Unpack[LifecycleOptions],
) -> DeploymentInfo:
    """Delete a deployment (``DeleteModelDeployment``); it ends DELETED. Cannot be undone.
    ``wait`` and ``options`` (:class:`LifecycleOptions`) as in :func:`create_deployment`."""
    return _run("delete", deployment, auth, wait, options)


# unasync: end generated

# unasync: begin source rename=_arun:_run,aupdate_deployment:update_deployment


async def _arun(
    kind: Operation,
    deployment: Deployment | str,
    auth: AuthArg,
    wait: bool,
    options: Mapping[str, Any],
    changes: dict[str, Any] | None = None,
) -> DeploymentInfo:
    """Send ``kind``, then with ``wait`` wait until its work request ends."""
    name = "update_deployment" if kind == "update" else kind
    waiting = _waiting(name, options)
    limits = bounds(waiting["request_timeout"], waiting["max_retries"])
    dep = locate(deployment)
    info = await arun_blocking(_change, kind, dep, auth, waiting["client_factory"], limits, changes)
    if not wait:
        return info
    located = cast("Deployment", dep)  # it takes any located address
    work_request_id = info.work_request_id
    return await await_until_done(located, auth, work_request_id=work_request_id, **waiting)


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
    **options: Unpack[LifecycleOptions],
) -> DeploymentInfo:
    """Change a deployment (``UpdateModelDeployment``): scale, reshape, new arguments.

    ``env`` is merged into its environment (a value of ``None`` removes that key);
    ``params`` replaces the user part of ``PARAMS`` (the container's part and the
    served model name stay). Only what is given changes. ``wait`` and ``options``
    (``timeout``, ``poll_interval``, ``callback``, ``request_timeout``, ``max_retries``,
    ``client_factory``) as in :func:`create_deployment`; see :class:`LifecycleOptions`.
    """
    changes = _changes(instance_count, shape, ocpus, memory_gb, bandwidth_mbps, params, env)
    return await _arun("update", deployment, auth, wait, options, changes)


# unasync: end source

# unasync: begin source rename=_arun:_run,aactivate:activate,adeactivate:deactivate,adelete:delete


async def aactivate(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    **options: Unpack[LifecycleOptions],
) -> DeploymentInfo:
    """Start an INACTIVE deployment again (``ActivateModelDeployment``): same URL.

    A deployment in another state is refused by the service (409); the error says its
    state and what to do (e.g. "It is already ACTIVE: nothing to do."). ``wait`` and
    ``options`` (:class:`LifecycleOptions`) as in :func:`create_deployment`.
    """
    return await _arun("activate", deployment, auth, wait, options)


async def adeactivate(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    **options: Unpack[LifecycleOptions],
) -> DeploymentInfo:
    """Stop an ACTIVE deployment (``DeactivateModelDeployment``): its instances shut down
    and billing stops; its settings and URL are kept for :func:`aactivate`. ``wait`` and
    ``options`` (:class:`LifecycleOptions`) as in :func:`create_deployment`."""
    return await _arun("deactivate", deployment, auth, wait, options)


async def adelete(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    wait: bool = False,
    **options: Unpack[LifecycleOptions],
) -> DeploymentInfo:
    """Delete a deployment (``DeleteModelDeployment``); it ends DELETED. Cannot be undone.
    ``wait`` and ``options`` (:class:`LifecycleOptions`) as in :func:`create_deployment`."""
    return await _arun("delete", deployment, auth, wait, options)


# unasync: end source
