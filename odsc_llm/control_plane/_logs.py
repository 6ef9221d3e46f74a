"""Logs: search a deployment's predict or access log, and follow it like ``tail -f``."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypedDict

from .._address import Located, locate
from .._errors import DeploymentStateError
from .._oci_bounds import Bounds, TimeoutArg, bounds
from ._clients import AuthArg, ClientFactory, build_client, call, resolve_signer
from ._constants import (
    DEFAULT_FOLLOW_INTERVAL,
    DEFAULT_LOG_KIND,
    DEFAULT_LOG_LIMIT,
    DEFAULT_LOG_SINCE,
    FOLLOW_LOOKBACK,
    MIN_SEARCH_SPAN,
    SEARCH_MAX_SPAN,
    SEARCH_PAGE_MAX,
)
from ._fetch import fetch_with
from ._info import DeploymentInfo, LogKind, check_kind
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


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _start_time(since: datetime | timedelta | None, now: datetime) -> datetime:
    if since is None:
        since = DEFAULT_LOG_SINCE
    if isinstance(since, timedelta):
        if since <= timedelta(0):
            raise ValueError(f"since must be a positive timedelta, got {since!r}.")
        start = now - since
    elif isinstance(since, datetime):
        start = _utc(since)
    else:
        raise ValueError(
            f"since must be a datetime or a timedelta (how long ago), not {type(since).__name__}."
        )
    return max(start, now - SEARCH_MAX_SPAN)


def _to_millis(value: datetime, *, up: bool = False) -> datetime:
    """``value`` at millisecond precision (what Logging Search's RFC 3339 times carry)."""
    extra = value.microsecond % 1000
    if not extra:
        return value
    value = value - timedelta(microseconds=extra)
    return value + timedelta(milliseconds=1) if up else value


class _LogQuery:
    """What to search: the query string of one deployment's log, and the client."""

    def __init__(self, info: DeploymentInfo, kind: LogKind, client: Any) -> None:
        ids = info.log_ids(kind)
        if ids is None:
            raise DeploymentStateError(
                f"Deployment {info.ocid} has no {kind} log configured: enable logging on "
                "the deployment (console: Logging, or AI Quick Actions' log group and log "
                "settings) to read its logs.",
                state=info.state,
                lifecycle_details=info.lifecycle_details,
            )
        group, log = ids
        compartment = info.compartment_id or ""
        # A log can be shared by several deployments: keep this one's records.
        self.query = (
            f'search "{compartment}/{group}/{log}" '
            f"| where source = '*{info.ocid}' | sort by datetime desc"
        )
        self.kind = kind
        self.client = client
        self.subject = f"the {kind} log of {info.ocid}"

    def search(self, start: datetime, end: datetime, limit: int, limits: Bounds) -> list[LogRecord]:
        """Newest-first records in [start, end), at most ``limit``, following pages, all
        within the deadline of ``limits``."""
        import oci.loggingsearch.models
        import oci.pagination

        details = oci.loggingsearch.models.SearchLogsDetails(
            time_start=_to_millis(start),
            time_end=_to_millis(end, up=True),
            search_query=self.query,
            is_return_field_info=False,
        )

        def run() -> list[Any]:
            found: list[Any] = []
            pages = oci.pagination.list_call_get_all_results_generator(
                self.client.search_logs,
                "response",
                details,
                limit=min(limit, SEARCH_PAGE_MAX),
            )
            for response in pages:
                found.extend(getattr(response.data, "results", None) or [])
                if len(found) >= limit:
                    break
            return found[:limit]

        results = call("SearchLogs", self.subject, run, client=self.client, limits=limits)
        return [LogRecord.from_search_result(r, self.kind) for r in results]


def _record_key(record: LogRecord) -> str:
    return record.id or f"{record.time.isoformat()}|{record.message}"


class _Follower:
    """The no-I/O part of follow mode: windows to search, and which records are new."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.high_water = start
        self.seen: dict[str, datetime] = {}

    def accept(self, records: list[LogRecord]) -> list[LogRecord]:
        new = []
        for record in sorted(records, key=lambda r: r.time):
            key = _record_key(record)
            if key in self.seen:
                continue
            self.seen[key] = record.time
            new.append(record)
            self.high_water = max(self.high_water, record.time)
        cutoff = self.window_start() - FOLLOW_LOOKBACK
        self.seen = {k: t for k, t in self.seen.items() if t >= cutoff}
        return new

    def window_start(self) -> datetime:
        return max(self.start, self.high_water - FOLLOW_LOOKBACK)

    def next_window(self, end: datetime) -> tuple[datetime, datetime] | None:
        """The window of the next poll, or None while it is too short to search."""
        start = self.window_start()
        return None if end - start < MIN_SEARCH_SPAN else (start, end)


def _now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}.")


def _check_poll_interval(poll_interval: float) -> None:
    if isinstance(poll_interval, bool) or not isinstance(poll_interval, (int, float)):
        raise ValueError(f"poll_interval must be a number of seconds, got {poll_interval!r}.")
    if not poll_interval > 0:
        raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval!r}.")


def _prepare_logs(
    deployment: Located,
    auth: AuthArg,
    kind: LogKind,
    info: DeploymentInfo | None,
    client_factory: ClientFactory | None,
    limits: Bounds,
) -> _LogQuery:
    """The query and its Logging Search client (one GetModelDeployment unless ``info``)."""
    signer = resolve_signer(auth)
    endpoint = deployment.control_plane_url
    region = deployment.region
    if info is None:
        ds = build_client("data_science", region, signer, client_factory, endpoint, limits)
        info = fetch_with(ds, deployment, limits)
    search = build_client("log_search", region, signer, client_factory, endpoint, limits)
    return _LogQuery(info, kind, search)


def _plan(
    deployment: Deployment | str,
    kind: LogKind,
    since: datetime | timedelta | None,
    limit: int,
    now: datetime,
    timeout: TimeoutArg,
    max_retries: int | None,
) -> tuple[Located, datetime, Bounds]:
    """Check the arguments (before any I/O); the deployment, the search start, the bounds."""
    check_kind(kind)
    _check_limit(limit)
    start = _start_time(since, now)
    limits = bounds(timeout, max_retries)
    return locate(deployment), start, limits


def logs(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    kind: LogKind = DEFAULT_LOG_KIND,
    since: datetime | timedelta | None = None,
    limit: int = DEFAULT_LOG_LIMIT,
    info: DeploymentInfo | None = None,
    client_factory: ClientFactory | None = None,
    now: Callable[[], datetime] = _now_utc,
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
    deadline covers the look-up and the search.

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
    dep, start, limits = _plan(deployment, kind, since, limit, current, timeout, max_retries)
    limits = limits.start()
    query = _prepare_logs(dep, auth, kind, info, client_factory, limits)
    return query.search(start, current, limit, limits)[::-1]


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
    now: Callable[[], datetime] = _now_utc,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
) -> Iterator[LogRecord]:
    """Follow the deployment's log like ``tail -f``: an iterator of records, oldest first.

    It yields what :func:`logs` returns for the same ``kind``, ``since`` and ``limit``,
    then searches again every ``poll_interval`` seconds and yields the new records
    (records reach Logging Search seconds to a minute late, so each search looks back
    a minute from the newest record seen; duplicates are dropped). It runs until the
    caller stops iterating. The arguments are checked at once; the calls start with
    the first ``next()``. ``timeout`` and ``max_retries`` bound the first look-up and
    search together, then each poll's search, as in :func:`logs`.
    """
    current = now()
    dep, start, limits = _plan(deployment, kind, since, limit, current, timeout, max_retries)
    _check_poll_interval(poll_interval)

    def tail() -> Iterator[LogRecord]:
        first = limits.start()
        query = _prepare_logs(dep, auth, kind, info, client_factory, first)
        follower = _Follower(start)
        yield from follower.accept(query.search(start, current, limit, first))
        while True:
            sleep(poll_interval)
            window = follower.next_window(now())
            if window is not None:
                found = query.search(*window, SEARCH_PAGE_MAX, limits.start())
                yield from follower.accept(found)

    return tail()


# -- async twins: the oci calls run in a worker thread, the sleeps on the loop ---------------


async def alogs(
    deployment: Deployment | str,
    auth: AuthArg = None,
    *,
    kind: LogKind = DEFAULT_LOG_KIND,
    since: datetime | timedelta | None = None,
    limit: int = DEFAULT_LOG_LIMIT,
    info: DeploymentInfo | None = None,
    client_factory: ClientFactory | None = None,
    now: Callable[[], datetime] = _now_utc,
    follow: bool = False,
    poll_interval: float = DEFAULT_FOLLOW_INTERVAL,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
) -> list[LogRecord]:
    """Async :func:`logs`. ``follow=True`` (deprecated) returns :func:`afollow_logs`."""
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
    dep, start, limits = _plan(deployment, kind, since, limit, current, timeout, max_retries)
    limits = limits.start()
    query = await asyncio.to_thread(_prepare_logs, dep, auth, kind, info, client_factory, limits)
    return (await asyncio.to_thread(query.search, start, current, limit, limits))[::-1]


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
    now: Callable[[], datetime] = _now_utc,
    timeout: TimeoutArg = None,
    max_retries: int | None = None,
) -> AsyncIterator[LogRecord]:
    """Async :func:`follow_logs`: ``async for record in afollow_logs(dep): ...``."""
    current = now()
    dep, start, limits = _plan(deployment, kind, since, limit, current, timeout, max_retries)
    _check_poll_interval(poll_interval)

    async def tail() -> AsyncIterator[LogRecord]:
        first = limits.start()
        query = await asyncio.to_thread(_prepare_logs, dep, auth, kind, info, client_factory, first)
        follower = _Follower(start)
        found = await asyncio.to_thread(query.search, start, current, limit, first)
        for record in follower.accept(found):
            yield record
        while True:
            await sleep(poll_interval)
            window = follower.next_window(now())
            if window is None:
                continue
            found = await asyncio.to_thread(query.search, *window, SEARCH_PAGE_MAX, limits.start())
            for record in follower.accept(found):
                yield record

    return tail()
