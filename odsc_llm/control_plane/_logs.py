"""Logs: search a deployment's predict or access log, and follow it like ``tail -f``."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

from .._concurrency import arun_blocking, run_blocking
from .._oci_bounds import TimeoutArg
from ._clients import AuthArg, ClientFactory
from ._constants import (
    DEFAULT_FOLLOW_INTERVAL,
    DEFAULT_LOG_KIND,
    DEFAULT_LOG_LIMIT,
    SEARCH_PAGE_MAX,
)
from ._info import DeploymentInfo, LogKind
from ._log_query import Follower, check_poll_interval, now_utc, plan, prepare_logs
from ._records import LogRecord

if TYPE_CHECKING:
    from ..deployment import Deployment

__all__ = ["FollowOptions", "LogOptions", "afollow_logs", "alogs", "follow_logs", "logs"]


class LogOptions(TypedDict, total=False):
    """What to read: the keywords of :func:`logs` (and ``Deployment.logs``)."""

    #: ``"predict"`` (the model server's output) or ``"access"`` (one record per request).
    kind: LogKind
    #: A ``datetime``, or how long ago as a ``timedelta`` (default 24 hours).
    since: datetime | timedelta | None
    #: The newest ``limit`` records are returned (default 100).
    limit: int
    #: Seconds for each wait and each call in all, or ``(connect, read)``; default at
    #: most 30 s per call (see :func:`odsc_llm.control_plane.fetch`).
    timeout: TimeoutArg
    #: Retries of each call by oci's retry strategy (default 2).
    max_retries: int | None


class FollowOptions(LogOptions, total=False):
    """The keywords of :func:`follow_logs`: :class:`LogOptions` and how often to poll."""

    #: Seconds between two searches (default 5).
    poll_interval: float


_DEPRECATED_FOLLOW = (
    "{name}(follow=True) is deprecated and will be removed in the next release: "
    "use {follow}(), which returns an iterator of records."
)


# The sync functions are generated from the async ones below (scripts/unasync.py): the
# oci calls block (in a worker thread in the async twins), the sleeps are injectable.

# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.


def logs(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    kind: LogKind = DEFAULT_LOG_KIND,
    since: datetime | timedelta | None = None,
    limit: int = DEFAULT_LOG_LIMIT,
    info: DeploymentInfo | None = None,
    client_factory: ClientFactory | None = None,
    now: Callable[[], datetime] = now_utc,
    follow: bool = False,
    poll_interval: float = DEFAULT_FOLLOW_INTERVAL,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
) -> list[LogRecord]:
    """The deployment's recent log records, oldest first (a tail).

    - ``kind``: ``"predict"`` (the model server's output: start-up, errors) or
      ``"access"`` (one record per request).
    - ``since``: a ``datetime`` or how long ago as a ``timedelta`` (default 24 hours;
      at most 14 days back, the Logging Search limit per query).
    - ``limit``: the newest ``limit`` records are returned (all pages are followed).

    The records are this deployment's only (``source`` is its OCID), from the log ids
    in :class:`DeploymentInfo` (pass ``info`` to skip the look-up). Raises
    :class:`~odsc_llm.DeploymentStateError` when the deployment has no such log.
    ``timeout`` and ``max_retries`` as in :func:`~odsc_llm.control_plane.fetch`: one
    deadline covers the look-up and the search. The ``oci`` calls block; the async
    twin runs them in a worker thread.

    ``follow=True`` (deprecated, removed in the next release) returns
    :func:`follow_logs` instead, with a ``DeprecationWarning``.
    """
    if follow:
        warnings.warn(
            _DEPRECATED_FOLLOW.format(name="logs", follow="follow_logs"),
            DeprecationWarning,
            stacklevel=2,
        )
        return follow_logs(  # type: ignore[return-value]
            deployment,
            auth,
            kind=kind,
            since=since,
            limit=limit,
            poll_interval=poll_interval,
            info=info,
            client_factory=client_factory,
            now=now,
            timeout=timeout,
            max_retries=max_retries,
        )
    current = now()
    dep, start, limits = plan(deployment, kind, since, limit, current, timeout, max_retries)
    limits = limits.start()
    query = run_blocking(prepare_logs, dep, auth, kind, info, client_factory, limits)
    found = run_blocking(query.search, start, current, limit, limits)
    return found[::-1]


def follow_logs(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    kind: LogKind = DEFAULT_LOG_KIND,
    since: datetime | timedelta | None = None,
    limit: int = DEFAULT_LOG_LIMIT,
    poll_interval: float = DEFAULT_FOLLOW_INTERVAL,
    info: DeploymentInfo | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], object] = time.sleep,
    now: Callable[[], datetime] = now_utc,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
) -> Iterator[LogRecord]:
    """Follow the deployment's log like ``tail -f``: an iterator of records, oldest first
    (an async iterator from the async twin).

    It yields what :func:`logs` returns for the same ``kind``, ``since`` and ``limit``,
    then searches again every ``poll_interval`` seconds and yields the new records
    (records reach Logging Search seconds to a minute late, so each search looks back
    a minute from the newest record seen; duplicates are dropped). It runs until the
    caller stops iterating. The arguments are checked at once; the calls start with
    the first ``next()``. ``timeout`` and ``max_retries`` bound the first look-up and
    search together, then each poll's search, as in :func:`logs`.
    """
    current = now()
    dep, start, limits = plan(deployment, kind, since, limit, current, timeout, max_retries)
    check_poll_interval(poll_interval)

    def tail() -> Iterator[LogRecord]:
        first = limits.start()
        query = run_blocking(prepare_logs, dep, auth, kind, info, client_factory, first)
        follower = Follower(start)
        found = run_blocking(query.search, start, current, limit, first)
        for record in follower.accept(found):
            yield record
        while True:
            sleep(poll_interval)
            window = follower.next_window(now())
            if window is None:
                continue
            found = run_blocking(query.search, *window, SEARCH_PAGE_MAX, limits.start())
            for record in follower.accept(found):
                yield record

    return tail()


# unasync: end generated

# unasync: begin source rename=alogs:logs,afollow_logs:follow_logs


async def alogs(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    kind: LogKind = DEFAULT_LOG_KIND,
    since: datetime | timedelta | None = None,
    limit: int = DEFAULT_LOG_LIMIT,
    info: DeploymentInfo | None = None,
    client_factory: ClientFactory | None = None,
    now: Callable[[], datetime] = now_utc,
    follow: bool = False,
    poll_interval: float = DEFAULT_FOLLOW_INTERVAL,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
) -> list[LogRecord]:
    """The deployment's recent log records, oldest first (a tail).

    - ``kind``: ``"predict"`` (the model server's output: start-up, errors) or
      ``"access"`` (one record per request).
    - ``since``: a ``datetime`` or how long ago as a ``timedelta`` (default 24 hours;
      at most 14 days back, the Logging Search limit per query).
    - ``limit``: the newest ``limit`` records are returned (all pages are followed).

    The records are this deployment's only (``source`` is its OCID), from the log ids
    in :class:`DeploymentInfo` (pass ``info`` to skip the look-up). Raises
    :class:`~odsc_llm.DeploymentStateError` when the deployment has no such log.
    ``timeout`` and ``max_retries`` as in :func:`~odsc_llm.control_plane.fetch`: one
    deadline covers the look-up and the search. The ``oci`` calls block; the async
    twin runs them in a worker thread.

    ``follow=True`` (deprecated, removed in the next release) returns
    :func:`afollow_logs` instead, with a ``DeprecationWarning``.
    """
    if follow:
        warnings.warn(
            _DEPRECATED_FOLLOW.format(name="alogs", follow="afollow_logs"),
            DeprecationWarning,
            stacklevel=2,
        )
        return afollow_logs(  # type: ignore[return-value]
            deployment,
            auth,
            kind=kind,
            since=since,
            limit=limit,
            poll_interval=poll_interval,
            info=info,
            client_factory=client_factory,
            now=now,
            timeout=timeout,
            max_retries=max_retries,
        )
    current = now()
    dep, start, limits = plan(deployment, kind, since, limit, current, timeout, max_retries)
    limits = limits.start()
    query = await arun_blocking(prepare_logs, dep, auth, kind, info, client_factory, limits)
    found = await arun_blocking(query.search, start, current, limit, limits)
    return found[::-1]


def afollow_logs(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    kind: LogKind = DEFAULT_LOG_KIND,
    since: datetime | timedelta | None = None,
    limit: int = DEFAULT_LOG_LIMIT,
    poll_interval: float = DEFAULT_FOLLOW_INTERVAL,
    info: DeploymentInfo | None = None,
    client_factory: ClientFactory | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    now: Callable[[], datetime] = now_utc,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
) -> AsyncIterator[LogRecord]:
    """Follow the deployment's log like ``tail -f``: an iterator of records, oldest first
    (an async iterator from the async twin).

    It yields what :func:`alogs` returns for the same ``kind``, ``since`` and ``limit``,
    then searches again every ``poll_interval`` seconds and yields the new records
    (records reach Logging Search seconds to a minute late, so each search looks back
    a minute from the newest record seen; duplicates are dropped). It runs until the
    caller stops iterating. The arguments are checked at once; the calls start with
    the first ``next()``. ``timeout`` and ``max_retries`` bound the first look-up and
    search together, then each poll's search, as in :func:`alogs`.
    """
    current = now()
    dep, start, limits = plan(deployment, kind, since, limit, current, timeout, max_retries)
    check_poll_interval(poll_interval)

    async def tail() -> AsyncIterator[LogRecord]:
        first = limits.start()
        query = await arun_blocking(prepare_logs, dep, auth, kind, info, client_factory, first)
        follower = Follower(start)
        found = await arun_blocking(query.search, start, current, limit, first)
        for record in follower.accept(found):
            yield record
        while True:
            await sleep(poll_interval)
            window = follower.next_window(now())
            if window is None:
                continue
            found = await arun_blocking(query.search, *window, SEARCH_PAGE_MAX, limits.start())
            for record in follower.accept(found):
                yield record

    return tail()


# unasync: end source
