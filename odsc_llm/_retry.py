"""The retry policy: which failures are retried and how long to wait (tenacity).

No I/O here: after a first failure the clients build a tenacity ``Retrying`` /
``AsyncRetrying`` from :func:`retry_kwargs` and loop over it. Only the request, the
status check and a stream's wait for its first event are retried, never the
consumption of a stream after that.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from tenacity import (
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from ._constants import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RETRYABLE_STATUSES,
)
from ._errors import APIConnectionError, APIStatusError, ClientClosedError, StreamError

log = logging.getLogger("odsc_llm")

__all__ = ["is_retryable", "parse_retry_after", "retry_kwargs"]


def is_retryable(error: BaseException) -> bool:
    """Connection errors, timeouts before the answer, 408/429/500/502/503/504, and a
    stream that broke before its first event (nothing of the answer was received)."""
    if isinstance(error, APIStatusError):
        return error.status_code in RETRYABLE_STATUSES
    if isinstance(error, StreamError):
        return error.before_first_event
    if isinstance(error, ClientClosedError):  # a closed client stays closed
        return False
    return isinstance(error, APIConnectionError)


def _seconds(text: str, now: float | None) -> float | None:
    """Seconds from a ``Retry-After`` value (a number or an HTTP date); None if unusable."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
            seconds = parsed.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, OverflowError, IndexError, OSError):
            return None  # "soon", "1 2 3", a malformed date...
    return seconds if math.isfinite(seconds) else None


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), capped; else None.

    ``retry-after-ms`` (sent by some gateways and by OpenAI) is understood too. Anything
    unusable (garbage, negative, zero, a date in the past) gives None: the caller then
    falls back to jittered backoff, so a server can neither break nor tighten the loop.
    Never raises.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value > 0:
            return min(value, MAX_RETRY_AFTER)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _seconds(raw, now)
    if seconds is None or seconds <= 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


class _WaitRetryAfter:
    """``Retry-After`` when the server sends it, else exponential backoff with full jitter."""

    def __init__(self) -> None:
        self._backoff = wait_random_exponential(multiplier=INITIAL_RETRY_DELAY, max=MAX_RETRY_DELAY)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, APIStatusError):
            wait = parse_retry_after(error.response.headers)
            if wait is not None:
                return wait
        return float(self._backoff(retry_state))


_WAIT = _WaitRetryAfter()


def _log_retry(method: str, url: str) -> Callable[[RetryCallState], None]:
    def before_sleep(retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        request_id = getattr(error, "request_id", None)
        status = getattr(error, "status_code", None)
        reason = f"status {status}" if status is not None else type(error).__name__
        log.info(
            "Retrying %s %s in %.2f s (attempt %d failed: %s; opc-request-id: %s)",
            method,
            url,
            retry_state.upcoming_sleep,
            retry_state.attempt_number,
            reason,
            request_id or "-",
        )

    return before_sleep


def retry_kwargs(
    *,
    max_retries: int,
    total_timeout: float | None,
    method: str,
    url: str,
    sleep: Callable[[float], Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` for one call.

    ``max_retries`` is exact (0 means a single attempt). With ``total_timeout`` no retry
    starts whose wait would end past the call's deadline.
    """
    stop: Any = stop_after_attempt(max(0, max_retries) + 1)
    if total_timeout is not None:
        stop = stop | stop_before_delay(total_timeout)
    kwargs: dict[str, Any] = {
        "stop": stop,
        "wait": _WAIT,
        "retry": retry_if_exception(is_retryable),
        "reraise": True,
        "before_sleep": _log_retry(method, url),
    }
    if sleep is not None:
        kwargs["sleep"] = sleep
    return kwargs
