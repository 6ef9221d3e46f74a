"""What one call resolved: its options, its deadline, what it sends (no I/O).

``NOT_GIVEN`` marks an option left out (``None`` means "no timeout"); the validators
turn bad values into an ``InvalidRequestError`` naming the option.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import httpx

from . import _constants as C
from ._errors import APITimeoutError, InvalidRequestError, RequestTooLargeError
from ._multipart import Multipart
from ._validation import validate_params, validate_timeout
from .types.chat import ChatCompletionChunk
from .types.completion import Completion

if TYPE_CHECKING:
    from .types.responses import ResponseStreamEvent

__all__ = [
    "NOT_GIVEN",
    "Body",
    "Call",
    "CallOptions",
    "Permit",
    "TimeoutTypes",
    "encode",
    "is_sse",
    "longest",
    "to_timeout",
]

#: A string: the Responses types load only when a Responses call is made.
ChunkType: TypeAlias = (
    "type[Completion] | type[ChatCompletionChunk] | type[ResponseStreamEvent] | None"
)


class _NotGiven:
    """Marks an argument left out (``None`` means "no timeout" and must stay distinct)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()

TimeoutTypes = float | httpx.Timeout | None


def to_timeout(value: TimeoutTypes) -> httpx.Timeout | None:
    """``timeout`` as an ``httpx.Timeout`` (seconds apply to every wait), after checking it."""
    checked = validate_timeout(value)
    if checked is None or isinstance(checked, httpx.Timeout):
        return checked
    return httpx.Timeout(checked)


def longest(timeout: httpx.Timeout | None) -> float | None:
    """The deadline a per-attempt timeout implies for a whole call (None: unbounded)."""
    if timeout is None:
        return None
    values = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    if any(v is None for v in values):
        return None
    return max(v for v in values if v is not None)


def _cap(timeout: httpx.Timeout | None, remaining: float | None) -> httpx.Timeout | None:
    """Shrink each part of ``timeout`` so that no wait can pass the call's deadline."""
    if remaining is None:
        return timeout
    if timeout is None:
        return httpx.Timeout(remaining)

    def cap(value: float | None) -> float:
        return remaining if value is None else min(value, remaining)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


class CallOptions:
    """What one call resolved from its own options and the client's defaults."""

    __slots__ = (
        "deadline",
        "extra_headers",
        "idle_timeout",
        "max_retries",
        "timeout",
        "total_timeout",
    )

    def __init__(
        self,
        timeout: httpx.Timeout | None,
        total_timeout: float | None,
        max_retries: int,
        extra_headers: Mapping[str, str] | None,
        idle_timeout: float | None,
    ) -> None:
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_retries = max_retries
        self.extra_headers = extra_headers
        self.idle_timeout = idle_timeout
        #: A ``time.monotonic()`` instant: the end of a non-streamed call, the latest
        #: first event of a stream. None: unbounded.
        self.deadline = None if total_timeout is None else time.monotonic() + total_timeout

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def passed(self, what: str, url: object) -> APITimeoutError:
        return APITimeoutError(
            f"The call's deadline (total_timeout={self.total_timeout} s) passed {what} ({url})."
        )

    def attempt_timeout(self, request_url: object, stream: bool) -> httpx.Timeout | None:
        """This attempt's per-wait timeout, no part of it past the deadline. With
        ``stream`` (a stream on capped sockets) the reads keep their own bound: past the
        first event the deadline no longer applies (``stream_idle_timeout`` does)."""
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise self.passed("before an attempt could start", request_url)
        capped = _cap(self.timeout, remaining)
        if stream and capped is not None and remaining is not None:
            read = None if self.timeout is None else self.timeout.read
            return httpx.Timeout(
                connect=capped.connect, read=read, write=capped.write, pool=capped.pool
            )
        return capped


class Call:
    """One logical call, as every attempt of it sends it."""

    __slots__ = (
        "cast_to", "chunk_type", "content", "method", "options", "raw", "route", "span", "url",
    )  # fmt: skip

    def __init__(
        self,
        method: str,
        url: httpx.URL,
        route: str,
        content: bytes | None,
        cast_to: type[Any],
        chunk_type: ChunkType,
        options: CallOptions,
        raw: bool,
    ) -> None:
        self.method = method
        self.url = url
        self.route = route
        self.content = content
        self.cast_to = cast_to
        self.chunk_type = chunk_type
        self.options = options
        self.raw = raw
        #: The call's trace (``_tracing.CallSpan``), or None: tracing is off.
        self.span: Any = None


def encode(body: Mapping[str, Any]) -> bytes:
    """The JSON body (strict: no NaN), refused before sending when JSON cannot carry it
    or the service would refuse its size. A :class:`~._multipart.Multipart` form is
    already encoded: its bytes, size-checked."""
    if isinstance(body, Multipart):
        return _sized(body.content, "Send a shorter audio file (or split it).")
    try:
        content = json.dumps(
            body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
    except (ValueError, TypeError) as exc:
        validate_params(body)  # names the field JSON cannot carry, and how to fix it
        raise InvalidRequestError(f"The request body cannot be sent as JSON: {exc}") from None
    return _sized(
        content,
        "Send fewer or shorter inputs per call; send images smaller (resize or compress "
        "them) or as http(s) URLs.",
    )


def _sized(content: bytes, advice: str) -> bytes:
    if len(content) > C.MAX_BODY_BYTES:
        raise RequestTooLargeError(
            f"The request body is {len(content):,} bytes; model deployments accept at "
            f"most {C.MAX_BODY_BYTES:,} (10 MB). {advice}"
        )
    return content


class Permit:
    """One in-flight request's place under the client's bound; released exactly once."""

    __slots__ = ("_release",)

    def __init__(self, release: Callable[[], None] | None) -> None:
        self._release = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


class Body:
    """A body read in chunks (both clients): the deadline is checked between chunks (the
    sockets of an ``http_client`` of the caller's are not capped) and reading stops at
    ``limit`` bytes (error answers: the message needs no more)."""

    __slots__ = ("chunks", "limit", "options", "response", "size")

    def __init__(self, response: httpx.Response, options: CallOptions, limit: int | None) -> None:
        self.response = response
        self.options = options
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; False when enough was read."""
        self.chunks.append(chunk)
        self.size += len(chunk)
        deadline = self.options.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise self.options.passed("while reading the answer", self.response.request.url)
        return self.limit is None or self.size < self.limit

    def content(self) -> bytes:
        content = b"".join(self.chunks)
        if self.limit is not None:
            content = content[: self.limit]
        # As httpx's own read() does, so response.content works (for a cut error body:
        # what was read).
        self.response._content = content
        return content


def is_sse(response: httpx.Response) -> bool:
    media = response.headers.get("content-type", "").partition(";")[0].strip()
    return "text/event-stream" in media
