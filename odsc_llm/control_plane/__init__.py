"""The control plane: what OCI says about a deployment, waiting for it, and its logs.

Everything here goes through the ``oci`` SDK's own clients
(``oci.data_science.DataScienceClient`` and ``oci.loggingsearch.LogSearchClient``),
built for the deployment's region with the signer of an :class:`odsc_llm.auth.OCIAuth`.
``oci`` is imported on first use, never when this package is imported.

.. code-block:: python

    import odsc_llm

    dep = odsc_llm.Deployment.from_ocid("ocid1.datasciencemodeldeployment.oc1.iad.xxx")
    info = dep.fetch()                      # DeploymentInfo: state, shape, model, log ids
    dep.wait_until_active(timeout=1800)     # DeploymentStateError on FAILED / timeout
    for record in dep.logs(kind="predict", limit=50):
        print(record)
    for record in dep.follow_logs():        # like tail -f, until you stop iterating
        print(record)
    odsc_llm.list_deployments("ocid1.compartment.oc1..xxx", region="us-ashburn-1")

The lifecycle (each with an async twin, ``a``-prefixed; ``wait=True`` waits on the
operation's work request)::

    from odsc_llm import control_plane as cp

    info = cp.create_deployment("ocid1.datasciencemodel.oc1.iad.xxx",
                                compartment_id=..., project_id=..., shape="VM.GPU.A10.1",
                                params="--max-model-len 8192", wait=True)
    dep = odsc_llm.Deployment.from_info(info)
    cp.update_deployment(dep, instance_count=2, wait=True)   # scale
    cp.deactivate(dep)                   # billing stops; cp.activate() starts it again
    cp.delete(dep, wait=True)
    cp.list_containers()                 # the service containers (vLLM, llama.cpp, TEI...)

Where the calls go: the region's public endpoints, except for a deployment whose URL is
on loopback (the local emulator ``odsc_llm.testing.LocalDeployment``), whose control
plane is its own ``scheme://host:port``, and a deployment with an explicit
``control_plane_endpoint`` (see :attr:`odsc_llm.Deployment.control_plane_url`).

The async twins (``afetch``, ``await_until_active``, ``alogs``, ``afollow_logs``...)
run the blocking ``oci`` calls in a worker thread, never on the event loop.

Every call is bounded: ``timeout`` (default at most 30 s in all, retries included) and
``max_retries`` (default 2, by oci's own retry strategy), as in :func:`fetch`
(``request_timeout`` for each poll of ``wait_until_active``). A call that gets no
answer in time raises a one-line :class:`ControlPlaneError`, e.g.
``GetModelDeployment https://datascience...: no answer within 30 s (timeout 30 s, 2 retries); ...``.

Testing: every function takes ``client_factory`` (``(service, region, signer) -> client``)
to substitute fake ``oci`` clients; ``sleep``, ``clock`` and ``now`` are injectable too.

Layout: ``_constants`` (defaults and service limits), ``_clients`` (the oci client
factory and error wrapping), ``_regions`` (a region's client), ``_info``
(``DeploymentInfo``), ``_fetch`` (fetch, list), ``_wait`` (waiting until ACTIVE),
``_records``, ``_log_query`` and ``_logs`` (log records, the search, tail and follow),
``_containers`` (``ListContainers``), ``_deploy_details`` (checks, ``PARAMS``), ``_create``
(``create_deployment``), ``_lifecycle`` (update, activate, deactivate, delete),
``_work_requests`` (waiting until an operation ends).

One source for each sync/async pair: in each module the async functions are written once
(a ``# unasync: begin source`` region) and their sync twins generated from them by
``scripts/unasync.py`` (CI fails when one is stale); the checks and decisions with no
I/O live outside the regions, shared by both.
"""

from __future__ import annotations

from .._errors import ControlPlaneError, DeploymentStateError, DeploymentWaitTimeout
from ._clients import AuthArg, ClientFactory, default_client_factory
from ._constants import (
    ACTIVE,
    DEFAULT_FOLLOW_INTERVAL,
    DEFAULT_LOG_KIND,
    DEFAULT_LOG_LIMIT,
    DEFAULT_LOG_SINCE,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    FAILURE_STATES,
    FOLLOW_LOOKBACK,
    LIFECYCLE_STATES,
)
from ._containers import ContainerInfo, alist_containers, list_containers
from ._create import acreate_deployment, create_deployment
from ._fetch import (
    adeployment_state,
    afetch,
    alist_deployments,
    deployment_state,
    fetch,
    list_deployments,
)
from ._info import CustomHttpEndpoint, DeploymentInfo, LogKind, state_hint
from ._lifecycle import (
    LifecycleOptions,
    aactivate,
    activate,
    adeactivate,
    adelete,
    aupdate_deployment,
    deactivate,
    delete,
    update_deployment,
)
from ._logs import FollowOptions, LogOptions, afollow_logs, alogs, follow_logs, logs
from ._records import LogRecord
from ._wait import await_until_active, wait_until_active
from ._work_requests import await_until_done, wait_until_done

__all__ = [
    "ACTIVE",
    "DEFAULT_FOLLOW_INTERVAL",
    "DEFAULT_LOG_KIND",
    "DEFAULT_LOG_LIMIT",
    "DEFAULT_LOG_SINCE",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WAIT_TIMEOUT",
    "FAILURE_STATES",
    "FOLLOW_LOOKBACK",
    "LIFECYCLE_STATES",
    "AuthArg",
    "ClientFactory",
    "ContainerInfo",
    "ControlPlaneError",
    "CustomHttpEndpoint",
    "DeploymentInfo",
    "DeploymentStateError",
    "DeploymentWaitTimeout",
    "FollowOptions",
    "LifecycleOptions",
    "LogKind",
    "LogOptions",
    "LogRecord",
    "aactivate",
    "acreate_deployment",
    "activate",
    "adeactivate",
    "adelete",
    "adeployment_state",
    "afetch",
    "afollow_logs",
    "alist_containers",
    "alist_deployments",
    "alogs",
    "aupdate_deployment",
    "await_until_active",
    "await_until_done",
    "create_deployment",
    "deactivate",
    "default_client_factory",
    "delete",
    "deployment_state",
    "fetch",
    "follow_logs",
    "list_containers",
    "list_deployments",
    "logs",
    "state_hint",
    "update_deployment",
    "wait_until_active",
    "wait_until_done",
]
