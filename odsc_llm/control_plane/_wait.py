"""Waiting until a deployment is ACTIVE (or hopeless), with the last log lines on failure."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from .._address import Located, locate
from .._concurrency import arun_blocking, run_blocking
from .._errors import DeploymentStateError, DeploymentWaitTimeout
from .._oci_bounds import Bounds, TimeoutArg, bounds
from ._clients import AuthArg, ClientFactory
from ._constants import (
    ACTIVE,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    ERROR_LOG_LINES,
    FAILURE_STATES,
)
from ._fetch import data_science_client, fetch_with
from ._info import DeploymentInfo
from ._logs import logs

if TYPE_CHECKING:
    from ..deployment import Deployment

__all__ = ["await_until_active", "wait_until_active"]

logger = logging.getLogger("odsc_llm.control_plane")


class _Waiter:
    """The no-I/O part of waiting: deadline, state decisions, messages."""

    def __init__(self, dep: Located, timeout: float, poll_interval: float, now: float):
        if timeout is None or timeout < 0:
            raise ValueError(f"timeout must be a number of seconds >= 0, got {timeout!r}.")
        if poll_interval is None or poll_interval <= 0:
            raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval!r}.")
        self.dep = dep
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)
        self.deadline = now + self.timeout
        self.inactive_polls = 0

    def failure(self, info: DeploymentInfo) -> str | None:
        """Why waiting is hopeless, or None to keep waiting."""
        if info.state in FAILURE_STATES:
            return "will not become ACTIVE"
        if info.state == "INACTIVE":
            # Right after an activate call the state may still read INACTIVE once.
            self.inactive_polls += 1
            if self.inactive_polls >= 2:
                return "is stopped: activate it first"
        else:
            self.inactive_polls = 0
        return None

    def next_sleep(self, now: float) -> float | None:
        """Seconds to sleep before the next poll, or None when time is up."""
        remaining = self.deadline - now
        if remaining <= 0:
            return None
        return min(self.poll_interval, remaining)

    def error(
        self, info: DeploymentInfo, why: str | None, log_lines: list[str], log_note: str | None
    ) -> DeploymentStateError:
        name = f"{info.display_name!r} ({info.ocid})" if info.display_name else info.ocid
        if why is None:
            text = (
                f"Deployment {name} is still {info.state} after {self.timeout:g} s "
                "(wait_until_active timeout)."
            )
        else:
            text = f"Deployment {name} is {info.state} and {why}."
        if info.lifecycle_details:
            text += f" Lifecycle details: {info.lifecycle_details}"
        if log_lines:
            text += "\nLast predict log lines:\n" + "\n".join(f"  {line}" for line in log_lines)
        elif log_note:
            text += f" ({log_note})"
        error_class = DeploymentWaitTimeout if why is None else DeploymentStateError
        return error_class(
            text,
            state=info.state,
            lifecycle_details=info.lifecycle_details,
            log_lines=log_lines,
        )


def _last_log_lines(
    dep: Located,
    info: DeploymentInfo,
    auth: AuthArg,
    client_factory: ClientFactory | None,
    limits: Bounds,
) -> tuple[list[str], str | None]:
    """Best effort: the deployment's last predict log lines, never raising."""
    if info.log_ids("predict") is None:
        return [], "no predict log is configured on this deployment, so no log lines"
    try:
        records = logs(
            cast("Deployment", dep),  # logs() takes any located address, as it does here
            auth,
            kind="predict",
            limit=ERROR_LOG_LINES,
            info=info,
            timeout=(limits.connect, limits.read),
            max_retries=limits.max_retries,
            client_factory=client_factory,
        )
    except Exception as exc:  # a logs failure must not hide the state error
        logger.debug("could not read the logs of %s", info.ocid, exc_info=True)
        return [], f"could not read its logs: {type(exc).__name__}"
    return [str(r) for r in records], None


# The sync function is generated from the async one below (scripts/unasync.py): the
# polls block (in a worker thread in the async twin), the sleeps are injectable.

# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.


def wait_until_active(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeploymentInfo:
    """Poll until the deployment is ACTIVE and return its :class:`DeploymentInfo`.

    Raises :class:`~odsc_llm.DeploymentStateError` when it is (or turns) FAILED,
    DELETING or DELETED, or stays INACTIVE for two polls, and
    :class:`~odsc_llm.errors.DeploymentWaitTimeout` (a subclass) after ``timeout``
    seconds. The error carries ``state``, ``lifecycle_details`` and the last predict
    log lines (``log_lines``, best effort). ``callback`` is called with each poll's info.

    ``request_timeout`` and ``max_retries`` bound each poll as ``timeout`` and
    ``max_retries`` bound :func:`~odsc_llm.control_plane.fetch` (default at most 30 s
    a poll); a poll that fails raises its :class:`~odsc_llm.errors.ControlPlaneError`.
    The async twin polls in a worker thread and sleeps on the event loop.
    """
    limits = bounds(request_timeout, max_retries)
    dep = locate(deployment)
    waiter = _Waiter(dep, timeout, poll_interval, clock())
    client = run_blocking(data_science_client, dep, auth, client_factory, limits)
    while True:
        info = run_blocking(fetch_with, client, dep, limits.start())
        if callback is not None:
            callback(info)
        if info.state == ACTIVE:
            return info
        why = waiter.failure(info)
        delay = None if why else waiter.next_sleep(clock())
        if why is not None or delay is None:
            lines, note = run_blocking(_last_log_lines, dep, info, auth, client_factory, limits)
            raise waiter.error(info, why, lines, note)
        logger.debug("%s is %s; next poll in %.1f s", dep.ocid, info.state, delay)
        sleep(delay)


# unasync: end generated

# unasync: begin source


async def await_until_active(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    callback: Callable[[DeploymentInfo], object] | None = None,
    request_timeout: TimeoutArg = None,
    max_retries: int | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeploymentInfo:
    """Poll until the deployment is ACTIVE and return its :class:`DeploymentInfo`.

    Raises :class:`~odsc_llm.DeploymentStateError` when it is (or turns) FAILED,
    DELETING or DELETED, or stays INACTIVE for two polls, and
    :class:`~odsc_llm.errors.DeploymentWaitTimeout` (a subclass) after ``timeout``
    seconds. The error carries ``state``, ``lifecycle_details`` and the last predict
    log lines (``log_lines``, best effort). ``callback`` is called with each poll's info.

    ``request_timeout`` and ``max_retries`` bound each poll as ``timeout`` and
    ``max_retries`` bound :func:`~odsc_llm.control_plane.fetch` (default at most 30 s
    a poll); a poll that fails raises its :class:`~odsc_llm.errors.ControlPlaneError`.
    The async twin polls in a worker thread and sleeps on the event loop.
    """
    limits = bounds(request_timeout, max_retries)
    dep = locate(deployment)
    waiter = _Waiter(dep, timeout, poll_interval, clock())
    client = await arun_blocking(data_science_client, dep, auth, client_factory, limits)
    while True:
        info = await arun_blocking(fetch_with, client, dep, limits.start())
        if callback is not None:
            callback(info)
        if info.state == ACTIVE:
            return info
        why = waiter.failure(info)
        delay = None if why else waiter.next_sleep(clock())
        if why is not None or delay is None:
            lines, note = await arun_blocking(
                _last_log_lines, dep, info, auth, client_factory, limits
            )
            raise waiter.error(info, why, lines, note)
        logger.debug("%s is %s; next poll in %.1f s", dep.ocid, info.state, delay)
        await sleep(delay)


# unasync: end source
