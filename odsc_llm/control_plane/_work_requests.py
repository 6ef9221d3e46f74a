"""Waiting until a deployment's operation (create, update, activate, deactivate, delete)
ends: its work request's status, or else the deployment's state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._address import Located, locate
from .._concurrency import arun_blocking, run_blocking
from .._errors import DeploymentStateError, DeploymentWaitTimeout, InvalidRequestError
from .._oci_bounds import Bounds, TimeoutArg, bounds
from ._clients import AuthArg, ClientFactory, call
from ._constants import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    FIRST_POLL_INTERVAL,
    SETTLED_STATES,
    WORK_REQUEST_DONE,
)
from ._fetch import data_science_client, fetch_with
from ._info import DeploymentInfo

if TYPE_CHECKING:
    from ..deployment import Deployment

__all__ = ["await_until_done", "wait_until_done"]


class _Waiter:
    """The no-I/O part: the deadline, what a poll means, the messages."""

    def __init__(
        self, dep: Located, work_request_id: str | None, timeout: float, poll: float, now: float
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise InvalidRequestError(f"timeout must be seconds >= 0, got {timeout!r}.")
        if isinstance(poll, bool) or not isinstance(poll, (int, float)) or poll <= 0:
            raise InvalidRequestError(f"poll_interval must be seconds > 0, got {poll!r}.")
        self.dep = dep
        self.work_request_id = work_request_id
        self.timeout = float(timeout)
        self.poll_interval = float(poll)
        self.deadline = now + self.timeout
        self.polls = 0

    def done(self, info: DeploymentInfo, status: str | None) -> bool | None:
        """True: finished well; False: failed; None: keep waiting."""
        if self.work_request_id is not None:
            if status not in WORK_REQUEST_DONE:
                return None
            return status == "SUCCEEDED"
        if info.state not in SETTLED_STATES:
            return None
        return info.state != "FAILED"

    def next_sleep(self, now: float) -> float | None:
        """The first polls come quickly (FIRST_POLL_INTERVAL, doubling), then every
        ``poll_interval``: a short operation is seen to end without a long first sleep."""
        remaining = self.deadline - now
        if remaining <= 0:
            return None
        delay: float = min(self.poll_interval, FIRST_POLL_INTERVAL * 2.0**self.polls, remaining)
        self.polls += 1
        return delay

    def _name(self, info: DeploymentInfo) -> str:
        return f"{info.display_name!r} ({info.ocid})" if info.display_name else info.ocid

    def failed(self, info: DeploymentInfo, operation: str | None, errors: list[str]) -> Exception:
        what = f"{operation} of deployment" if operation else "Deployment"
        text = f"{what} {self._name(info)} failed; it is {info.state}."
        if self.work_request_id:
            text += f" Work request {self.work_request_id}"
            text += ": " + " ".join(errors) if errors else " gave no error message."
        if info.lifecycle_details:
            text += f" Lifecycle details: {info.lifecycle_details}"
        return DeploymentStateError(
            text, state=info.state, lifecycle_details=info.lifecycle_details, log_lines=errors
        )

    def timed_out(self, info: DeploymentInfo) -> Exception:
        resume = f"odsc_llm.control_plane.wait_until_done({info.ocid!r}"
        if self.work_request_id:
            resume += f", work_request_id={self.work_request_id!r}"
        text = (
            f"Deployment {self._name(info)} is still {info.state} after {self.timeout:g} s. "
            f"The operation goes on in OCI; keep waiting with {resume}) or "
            f"`odsc-llm wait {info.ocid}`."
        )
        return DeploymentWaitTimeout(
            text, state=info.state, lifecycle_details=info.lifecycle_details, log_lines=[]
        )


def _poll(
    client: Any, dep: Located, wr_id: str | None, limits: Bounds
) -> tuple[DeploymentInfo, str | None, str | None]:
    """``(info, work request status, operation type)`` of one poll (the work request
    first: once it has ended, the deployment read after it shows the outcome)."""
    if wr_id is None:
        return fetch_with(client, dep, limits.start()), None, None
    work = call("GetWorkRequest", wr_id, client.get_work_request, wr_id, client=client,
                limits=limits.start()).data  # fmt: skip
    info = fetch_with(client, dep, limits.start()).model_copy(update={"work_request_id": wr_id})
    return info, str(work.status), str(work.operation_type)


def _errors(client: Any, wr_id: str | None, limits: Bounds) -> list[str]:
    if wr_id is None:
        return []

    def all_pages() -> list[Any]:
        import oci.pagination

        pages = oci.pagination.list_call_get_all_results(client.list_work_request_errors, wr_id)
        return list(pages.data)

    found = call("ListWorkRequestErrors", wr_id, all_pages, client=client, limits=limits.start())
    return [str(e.message) for e in found if getattr(e, "message", None)]


# The sync function is generated from the async one below (scripts/unasync.py): the
# polls block (in a worker thread in the async twin), the sleeps are injectable.

# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.


def wait_until_done(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    work_request_id: str | None = None,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeploymentInfo:
    """Wait until the deployment's current operation ends; its final :class:`DeploymentInfo`.

    With ``work_request_id`` (``DeploymentInfo.work_request_id`` of the call that started
    it) the work request decides: SUCCEEDED returns, FAILED or CANCELED raises
    :class:`~odsc_llm.DeploymentStateError` carrying the work request's own error
    messages (``log_lines``). Without, the deployment's state decides: ACTIVE,
    INACTIVE, DELETED or NEEDS_ATTENTION return, FAILED raises. ``callback`` gets each
    poll's info. After ``timeout`` seconds :class:`~odsc_llm.errors.DeploymentWaitTimeout`
    says that the operation goes on, and how to keep waiting. ``request_timeout`` and
    ``max_retries`` bound each poll's calls as in :func:`fetch`. The async twin polls in
    a worker thread and sleeps on the event loop.
    """
    limits = bounds(request_timeout, max_retries)
    dep = locate(deployment)
    waiter = _Waiter(dep, work_request_id, timeout, poll_interval, clock())
    client = run_blocking(data_science_client, dep, auth, client_factory, limits.start())
    while True:
        polled = run_blocking(_poll, client, dep, work_request_id, limits)
        info, status, operation = polled
        if callback is not None:
            callback(info)
        outcome = waiter.done(info, status)
        if outcome is True:
            return info
        if outcome is False:
            errors = run_blocking(_errors, client, work_request_id, limits)
            raise waiter.failed(info, operation, errors)
        delay = waiter.next_sleep(clock())
        if delay is None:
            raise waiter.timed_out(info)
        sleep(delay)


# unasync: end generated

# unasync: begin source


async def await_until_done(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    work_request_id: str | None = None,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeploymentInfo:
    """Wait until the deployment's current operation ends; its final :class:`DeploymentInfo`.

    With ``work_request_id`` (``DeploymentInfo.work_request_id`` of the call that started
    it) the work request decides: SUCCEEDED returns, FAILED or CANCELED raises
    :class:`~odsc_llm.DeploymentStateError` carrying the work request's own error
    messages (``log_lines``). Without, the deployment's state decides: ACTIVE,
    INACTIVE, DELETED or NEEDS_ATTENTION return, FAILED raises. ``callback`` gets each
    poll's info. After ``timeout`` seconds :class:`~odsc_llm.errors.DeploymentWaitTimeout`
    says that the operation goes on, and how to keep waiting. ``request_timeout`` and
    ``max_retries`` bound each poll's calls as in :func:`fetch`. The async twin polls in
    a worker thread and sleeps on the event loop.
    """
    limits = bounds(request_timeout, max_retries)
    dep = locate(deployment)
    waiter = _Waiter(dep, work_request_id, timeout, poll_interval, clock())
    client = await arun_blocking(data_science_client, dep, auth, client_factory, limits.start())
    while True:
        polled = await arun_blocking(_poll, client, dep, work_request_id, limits)
        info, status, operation = polled
        if callback is not None:
            callback(info)
        outcome = waiter.done(info, status)
        if outcome is True:
            return info
        if outcome is False:
            errors = await arun_blocking(_errors, client, work_request_id, limits)
            raise waiter.failed(info, operation, errors)
        delay = waiter.next_sleep(clock())
        if delay is None:
            raise waiter.timed_out(info)
        await sleep(delay)


# unasync: end source
