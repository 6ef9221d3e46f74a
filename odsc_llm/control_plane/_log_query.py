"""The no-I/O part of reading logs (argument checks, the query, which records are new)
and the one blocking search; :mod:`._logs` holds the public sync/async functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .._address import Located, locate
from .._errors import DeploymentStateError
from .._oci_bounds import Bounds, TimeoutArg, bounds
from ._clients import AuthArg, ClientFactory, build_client, call, resolve_signer
from ._constants import (
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

__all__ = ["Follower", "LogQuery", "check_poll_interval", "now_utc", "plan", "prepare_logs"]


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


class LogQuery:
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


class Follower:
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


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}.")


def check_poll_interval(poll_interval: float) -> None:
    if isinstance(poll_interval, bool) or not isinstance(poll_interval, (int, float)):
        raise ValueError(f"poll_interval must be a number of seconds, got {poll_interval!r}.")
    if not poll_interval > 0:
        raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval!r}.")


def prepare_logs(
    deployment: Located,
    auth: AuthArg,
    kind: LogKind,
    info: DeploymentInfo | None,
    client_factory: ClientFactory | None,
    limits: Bounds,
) -> LogQuery:
    """The query and its Logging Search client (one GetModelDeployment unless ``info``)."""
    signer = resolve_signer(auth)
    endpoint = deployment.control_plane_url
    region = deployment.region
    if info is None:
        ds = build_client("data_science", region, signer, client_factory, endpoint, limits)
        info = fetch_with(ds, deployment, limits)
    search = build_client("log_search", region, signer, client_factory, endpoint, limits)
    return LogQuery(info, kind, search)


def plan(
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
