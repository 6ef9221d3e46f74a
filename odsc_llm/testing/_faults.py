"""Fault injection for the local emulator: queue how the next answers go wrong."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._request import Request

__all__ = ["RATE_LIMITS", "Fault", "Faults", "RecordedRequest", "apply_fault"]

# OCI error codes the service sends for each status.
_OCI_CODES = {
    400: "InvalidParameter",
    401: "NotAuthenticated",
    403: "NotAuthorized",
    404: "NotAuthorizedOrNotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "ExternalServerIncorrectState",
    411: "LengthRequired",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_OCI_MESSAGES = {
    401: "The required information to complete authentication was not provided or was incorrect.",
    404: "Authorization failed or requested resource not found.",
    409: "The model server is in an incorrect state for this request.",
    429: "Too many requests for the tenancy.",
    500: "Internal server error.",
    503: "The model server is unavailable.",
}

#: The bodies of the two kinds of 429 a deployment sends (``push(status=429, limit=...)``).
#: The load balancer's always says "bandwidth"; the tenancy's is a ``TooManyRequests``
#: naming the "request-rate limit". Clients tell them apart by these words.
RATE_LIMITS: dict[str, dict[str, str]] = {
    "bandwidth": {
        "code": "BandwidthLimitExceeded",
        "message": (
            "The model deployment's load balancer bandwidth limit was exceeded: "
            "too much data per second for the bandwidth the deployment was created with."
        ),
    },
    "tenancy_rate": {
        "code": "TooManyRequests",
        "message": (
            "Too many requests: the tenancy's request-rate limit for model deployment "
            "predictions was exceeded."
        ),
    },
}


def oci_error_body(
    status: int, code: str | None = None, message: str | None = None
) -> dict[str, str]:
    """An OCI-style ``{"code", "message"}`` error body."""
    return {
        "code": code or _OCI_CODES.get(status, "Error"),
        "message": message or _OCI_MESSAGES.get(status, f"Error {status}."),
    }


def status_fault_body(fault: Fault) -> dict[str, str]:
    """The JSON body of a ``push(status=...)`` fault (its ``limit``, ``code``, ``message``)."""
    base = RATE_LIMITS[fault.limit] if fault.limit is not None else {}
    return oci_error_body(
        fault.status or 500,
        fault.code or base.get("code"),
        fault.message or base.get("message"),
    )


def html_error_page(status: int) -> bytes:
    """An nginx-style HTML error page, as a gateway in front of the service sends it."""
    reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
    title = f"{status} {reason.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


@dataclass(frozen=True)
class Fault:
    """How one answer goes wrong. Build these with :meth:`Faults.push`."""

    status: int | None = None
    retry_after: float | str | None = None
    code: str | None = None
    message: str | None = None
    delay: float = 0.0
    drop_connection: bool = False
    reset_mid_stream: bool = False
    cut_before_done: bool = False
    non_json_chunk: bool = False
    error_event: bool = False
    html_error: int | None = None
    after_events: int | None = None
    #: Which 429: ``"bandwidth"`` (the load balancer's) or ``"tenancy_rate"``.
    limit: str | None = None


@dataclass
class RecordedRequest:
    """One request as the emulator received it (``local.requests``)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    #: The status the emulator answered with (``None`` while the answer is under way,
    #: or when the connection was dropped before a status was sent).
    status: int | None = None
    #: The fault applied to this request, if any.
    fault: Fault | None = field(default=None)
    #: The ``opc-request-id`` the answer carried.
    request_id: str | None = None
    #: When it arrived (``time.time()``): the emulator's access log (cp helper).
    time: float = field(default_factory=time.time)

    def json(self) -> Any:
        """The body parsed as JSON."""
        import json

        return json.loads(self.body)


_SHAPES = (
    "status",
    "drop_connection",
    "reset_mid_stream",
    "cut_before_done",
    "non_json_chunk",
    "error_event",
    "html_error",
)


class Faults:
    """A thread-safe queue of faults; each request to the emulator takes the next one.

    Examples::

        local.faults.push(status=429, retry_after=1, count=2)  # two 429s, then normal
        local.faults.push(delay=0.5)                  # answer after 0.5 s
        local.faults.push(drop_connection=True)       # close the connection, no answer
        local.faults.push(reset_mid_stream=True)      # break the connection after 1 event
        local.faults.push(cut_before_done=True)       # end the stream early, no [DONE]
        local.faults.push(non_json_chunk=True)        # one `data:` line that is not JSON
        local.faults.push(error_event=True)           # vLLM's in-stream error, then [DONE]
        local.faults.push(html_error=502)             # an HTML page from a gateway
        local.faults.push(status=401)                 # OCI JSON NotAuthenticated
        local.faults.push(status=429, limit="bandwidth")     # the load balancer's 429
        local.faults.push(status=429, limit="tenancy_rate")  # the tenancy's request rate

    Faults apply to requests whose signature verified (a bad signature gets its 401
    first). ``after_events`` sets how many stream events go out before a stream fault
    (default 1; for ``cut_before_done``, half the tokens).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()

    def push(
        self,
        *,
        status: int | None = None,
        retry_after: float | str | None = None,
        code: str | None = None,
        message: str | None = None,
        delay: float = 0.0,
        drop_connection: bool = False,
        reset_mid_stream: bool = False,
        cut_before_done: bool = False,
        non_json_chunk: bool = False,
        error_event: bool = False,
        html_error: int | None = None,
        after_events: int | None = None,
        limit: str | None = None,
        count: int = 1,
    ) -> Fault:
        """Queue ``count`` answers that go wrong this way; returns the fault."""
        fault = Fault(
            status=status,
            retry_after=retry_after,
            code=code,
            message=message,
            delay=delay,
            drop_connection=drop_connection,
            reset_mid_stream=reset_mid_stream,
            cut_before_done=cut_before_done,
            non_json_chunk=non_json_chunk,
            error_event=error_event,
            html_error=html_error,
            after_events=after_events,
            limit=limit,
        )
        chosen = [name for name in _SHAPES if getattr(fault, name) not in (None, False)]
        if len(chosen) > 1:
            raise ValueError(
                f"push() takes one kind of fault at a time, got {', '.join(chosen)}: "
                "push them separately to queue one after the other."
            )
        if not chosen and delay <= 0:
            raise ValueError(
                "push() needs a fault: status=, delay=, drop_connection=, reset_mid_stream=, "
                "cut_before_done=, non_json_chunk=, error_event= or html_error=."
            )
        for name, value in (("status", status), ("html_error", html_error)):
            if value is not None and not 400 <= value <= 599:
                raise ValueError(f"{name} must be an HTTP error status (400-599), got {value}.")
        if limit is not None and (status != 429 or limit not in RATE_LIMITS):
            raise ValueError(
                f"limit= goes with status=429 and is one of {', '.join(map(repr, RATE_LIMITS))}; "
                f"got status={status!r}, limit={limit!r}."
            )
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay}.")
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}.")
        if after_events is not None and after_events < 0:
            raise ValueError(f"after_events must be >= 0, got {after_events}.")
        with self._lock:
            self._queue.extend([fault] * count)
        return fault

    def pop(self) -> Fault | None:
        """Take the next fault (the server calls this once per request)."""
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> list[Fault]:
        """The queued faults, next first (a copy)."""
        with self._lock:
            return list(self._queue)

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def __repr__(self) -> str:
        return f"Faults(pending={len(self)})"


async def apply_fault(req: Request, faults: Faults) -> bool:
    """The server's fault step: take the next fault; ``True`` when it answered (or
    dropped) the request.

    Faults that shape a stream or an answer (``reset_mid_stream``, ...) stay on
    ``req.fault`` for the answer step.
    """
    fault = req.fault = req.record.fault = faults.pop()
    if fault is None:
        return False
    if fault.delay > 0:
        await asyncio.sleep(fault.delay)
    if fault.drop_connection:
        await req.abort()
        return True
    if fault.html_error is not None:
        page = html_error_page(fault.html_error)
        await req.send_bytes(fault.html_error, page, "text/html")
        return True
    if fault.status is not None:
        extra = []
        if fault.retry_after is not None:
            extra.append((b"retry-after", str(fault.retry_after).encode()))
        await req.send_json(fault.status, status_fault_body(fault), extra)
        return True
    return False
