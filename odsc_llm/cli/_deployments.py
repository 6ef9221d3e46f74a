"""``info`` and ``logs``: what the control plane says of a deployment."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from . import _connect
from ._base import EXIT_OK, Output, UsageError, err, int_at_least, number_in

if TYPE_CHECKING:
    import httpx

    from ..control_plane import LogRecord
    from ..deployment import Deployment

_AGE_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}  # largest first


def add_info(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Show the deployment's state, shape, model, URL, log ids and the --routing that "
        "fits (with its Multiple Inference Endpoints, if any) from the control "
        "plane (for a deployment on loopback, the local emulator's own); with --local-only "
        "only what its URL or OCID says (ocid, region, endpoint, predict and stream URLs)."
    )
    _connect.add_deployment_positional(p, has_text=False)
    p.add_argument(
        "--local-only", action="store_true", help="do not ask the control plane; parse only"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_cmd_info)


def add_logs(p: argparse.ArgumentParser) -> None:
    from ..control_plane import DEFAULT_FOLLOW_INTERVAL, DEFAULT_LOG_LIMIT, DEFAULT_LOG_SINCE

    p.description = (
        "Print the deployment's recent predict (model server) or access log records, "
        "oldest first, from OCI Logging; --follow keeps printing new ones."
    )
    _connect.add_deployment_positional(p, has_text=False)
    p.add_argument(
        "--kind", choices=("predict", "access"), default="predict", help="which log (%(default)s)"
    )
    p.add_argument(
        "--limit",
        type=int_at_least(1),
        default=DEFAULT_LOG_LIMIT,
        metavar="N",
        help="most records (%(default)s)",
    )
    p.add_argument(
        "--since",
        type=parse_since,
        default=format_age(DEFAULT_LOG_SINCE),  # a string: argparse parses it with `type`
        metavar="AGE|TIME",
        help="start from this long ago (30m, 2h, 1d) or this ISO time (default: %(default)s)",
    )
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    p.add_argument(
        "--poll-interval",
        type=number_in(0, low_open=True),
        default=DEFAULT_FOLLOW_INTERVAL,
        metavar="SECONDS",
        help="with --follow (%(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(handler=_cmd_logs)


# --------------------------------------------------------------------------- helpers


def format_age(age: timedelta) -> str:
    """``timedelta(hours=24)`` -> ``"1d"``: the form ``--since`` reads."""
    seconds = int(age.total_seconds())
    for unit, size in _AGE_UNITS.items():
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{age.total_seconds():g}s"


def parse_since(text: str) -> datetime | timedelta:
    """``30m``/``2h``/``1d``/``90s`` as a timedelta, or an ISO 8601 time."""
    value = text.strip()
    unit = value[-1:].lower()
    if unit in _AGE_UNITS:
        try:
            age = timedelta(seconds=float(value[:-1]) * _AGE_UNITS[unit])
        except (ValueError, OverflowError):
            pass
        else:
            if age <= timedelta(0):
                raise argparse.ArgumentTypeError(f"{text!r}: the age must be positive")
            return age
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an age (30m, 2h, 1d) nor an ISO time (2025-01-31T12:00Z)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _deployment(args: argparse.Namespace) -> Deployment:
    """These commands have no text: a positional can only be the deployment."""
    if args.deployment_flag is not None and args.deployment is not None:
        raise UsageError("give the deployment once: as DEPLOYMENT or with -d, not both")
    return _connect.deployment_of(args, args.deployment_flag or args.deployment)


def local_info(deployment: Deployment) -> dict[str, Any]:
    """What the URL or OCID alone says."""
    return {
        "ocid": deployment.ocid,
        "region": deployment.region,
        "endpoint": deployment.endpoint,
        "predict_url": deployment.predict_url,
        "stream_url": deployment.stream_url,
    }


def _print_mapping(out: Output, data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.line(json.dumps(data, indent=2, default=str))
        return
    shown = {k: v for k, v in data.items() if not (v is None or v == "" or v == [] or v == {})}
    width = max((len(k) for k in shown), default=0)  # aligned on what is printed
    for key, value in shown.items():
        if isinstance(value, dict):
            text: object = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            text = ", ".join(map(str, value))
        else:
            text = value
        out.line(f"{key + ':':<{width + 1}} {text}")


@contextlib.contextmanager
def saying_what_is_slow() -> Iterator[None]:
    """While active, a control-plane (or credentials) call still running after a couple
    of seconds says on stderr what it is waiting for: silence looks like a hang."""
    from .._constants import CLI_WAIT_NOTICE_AFTER
    from .._oci_bounds import notify_slow_calls

    with notify_slow_calls(err, CLI_WAIT_NOTICE_AFTER):
        yield


def call_bounds(args: argparse.Namespace) -> dict[str, Any]:
    """``timeout`` / ``max_retries`` for the control-plane calls, when given."""
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    return options


def read_logs(
    deployment: Deployment, auth: httpx.Auth, *, follow: bool, poll_interval: float, **options: Any
) -> Iterable[LogRecord]:
    """The records ``logs`` prints: the newest ones, or a ``follow_logs()`` tail."""
    if follow:
        return deployment.follow_logs(auth, poll_interval=poll_interval, **options)
    return deployment.logs(auth, **options)


# --------------------------------------------------------------------------- commands


def _cmd_info(args: argparse.Namespace, out: Output) -> int:
    from .._errors import AuthError

    deployment = _deployment(args)
    local = local_info(deployment)
    if args.local_only:
        _print_mapping(out, local, args.json)
        return EXIT_OK
    try:
        with saying_what_is_slow():
            info = deployment.fetch(auth=_connect.make_auth(args), **call_bounds(args))
    except AuthError as exc:  # short: the line stays within 300 characters
        raise AuthError(f"{exc} (--local-only needs no credentials)") from exc
    data: dict[str, Any] = info.model_dump(mode="json")
    data["routing"] = info.routing  # the --routing that fits (a property: not dumped)
    if not args.json:  # "/v1/score (POST)" rather than a list of dicts
        data["custom_http_endpoints"] = [
            f"{e.suffix} ({', '.join(e.methods)})" for e in info.custom_http_endpoints
        ]
    for key, value in local.items():
        data.setdefault(key, value)
    _print_mapping(out, data, args.json)
    return EXIT_OK


def _note_since_beyond_one_search(since: datetime | timedelta) -> None:
    """One Logging search spans at most 14 days, and the library starts there: say so."""
    from ..control_plane._constants import SEARCH_MAX_SPAN

    now = datetime.now(timezone.utc)
    asked = since if isinstance(since, timedelta) else now - since
    if asked > SEARCH_MAX_SPAN:
        shown = format_age(since) if isinstance(since, timedelta) else since.isoformat()
        days = SEARCH_MAX_SPAN.days
        err(
            f"note: --since {shown} goes back further than one log search can ({days} "
            f"days): showing the records of the last {days} days only"
        )


def _cmd_logs(args: argparse.Namespace, out: Output) -> int:
    deployment = _deployment(args)
    _note_since_beyond_one_search(args.since)
    with saying_what_is_slow():
        records = read_logs(
            deployment,
            _connect.make_auth(args),
            follow=args.follow,
            kind=args.kind,
            since=args.since,
            limit=args.limit,
            poll_interval=args.poll_interval,
            **call_bounds(args),
        )
        for record in records:
            out.line(record.model_dump_json() if args.json else str(record))
    return EXIT_OK
