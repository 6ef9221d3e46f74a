"""Our bounds around ``oci``'s own network calls (control plane, principal credentials).

``oci`` clients and signers bring their own timeouts (10 s to connect, 60 s per read)
and retry strategies (up to 8 attempts over minutes): without a bound, a call with no
network answers after about 90 s with a raw ``oci`` exception. Here:

- :func:`bounds` turns ``timeout`` / ``max_retries`` into :class:`Bounds`: the per-attempt
  ``(connect, read)`` timeouts and oci's own retry strategy (oci's machinery, built from
  ``max_retries``), and one overall deadline;
- :func:`run_bounded` holds that deadline even while oci retries internally: the call
  runs in a worker thread and is given up (left to end on its own timeouts) when the
  deadline passes; it also tells the caller what it is waiting for once the call is slow
  (:func:`notify_slow_calls`, used by the CLI);
- :func:`network_cause` says in a few words why a call got no answer, for the one-line
  errors ``<operation> <endpoint>: <cause>``.

``oci`` is imported only inside the functions that build its objects.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

from . import _constants as C
from ._errors import InvalidRequestError
from ._validation import is_seconds

__all__ = [
    "Bounds",
    "TimeoutArg",
    "bounds",
    "brief",
    "network_cause",
    "notify_slow_calls",
    "one_line",
    "run_bounded",
    "seconds",
    "url_root",
]

_T = TypeVar("_T")
# A socket timeout of 0 would mean "do not block" to requests: never go below this.
_SHORTEST_WAIT = 0.01

#: ``timeout`` arguments: seconds for every wait and the whole call, a
#: ``(connect, read)`` pair (the whole call: the longer one), or None for the defaults.
TimeoutArg = float | tuple[float, float] | None

# (callback, delay): who hears "waiting for ..." and after how many seconds.
_slow_notice: contextvars.ContextVar[tuple[Callable[[str], object], float] | None] = (
    contextvars.ContextVar("odsc_llm_slow_call_notice", default=None)
)


class Bounds(NamedTuple):
    """The limits of one call: per-attempt timeouts, retries, and the overall deadline."""

    connect: float
    read: float
    total: float
    max_retries: int
    #: The ``time.monotonic()`` instant the call must end by, once :meth:`start` ed.
    end: float | None = None

    @property
    def oci_timeout(self) -> tuple[float, float]:
        """``timeout=`` for an oci client: no single wait longer than the time left."""
        left = max(self.remaining(), _SHORTEST_WAIT)
        return (min(self.connect, left), min(self.read, left))

    def retry_strategy(self) -> Any:
        """oci's own retry strategy for ``max_retries`` retries, within the deadline."""
        import oci.retry

        if self.max_retries == 0:
            return oci.retry.NoneRetryStrategy()
        return oci.retry.RetryStrategyBuilder(
            max_attempts_check=True,
            max_attempts=self.max_retries + 1,
            total_elapsed_time_check=True,
            total_elapsed_time_seconds=self.remaining(),
            retry_base_sleep_time_seconds=C.INITIAL_RETRY_DELAY,
            retry_max_wait_between_calls_seconds=C.MAX_RETRY_DELAY,
            backoff_type=oci.retry.BACKOFF_FULL_JITTER_VALUE,
        ).get_retry_strategy()

    def describe(self) -> str:
        """``"timeout 5 s, 0 retries"``: what the caller allowed, for messages."""
        retries = "1 retry" if self.max_retries == 1 else f"{self.max_retries} retries"
        return f"timeout {seconds(self.total)} s, {retries}"

    def start(self) -> Bounds:
        """These bounds with the deadline set: ``total`` seconds from now."""
        return self._replace(end=time.monotonic() + self.total)

    def remaining(self) -> float:
        """Seconds left before the deadline (``total`` when not started)."""
        return self.total if self.end is None else max(0.0, self.end - time.monotonic())


def seconds(value: float) -> str:
    """``1.9996`` -> ``"2"``: seconds for messages (a deadline cut to the time left is
    not worth its last digits)."""
    return f"{round(value, 2):g}"


def _seconds(value: object, name: str) -> float:
    if not is_seconds(value):
        raise InvalidRequestError(
            f"{name} must be a finite number of seconds > 0 (or a (connect, read) pair, or "
            f"None for the default of {C.CONTROL_PLANE_TIMEOUT:g} s), not {value!r}."
        )
    return float(value)


def bounds(timeout: TimeoutArg = None, max_retries: int | None = None) -> Bounds:
    """:class:`Bounds` from a call's ``timeout`` and ``max_retries`` (None: the defaults,
    at most ``CONTROL_PLANE_TIMEOUT`` seconds in all); bad values raise
    :class:`~odsc_llm.InvalidRequestError` naming the argument."""
    if max_retries is None:
        retries = C.DEFAULT_MAX_RETRIES
    elif isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidRequestError(
            f"max_retries must be an integer >= 0 (the number of retries after the first "
            f"attempt; 0 disables them), not {max_retries!r}."
        )
    else:
        retries = max_retries
    if timeout is None:
        total = C.CONTROL_PLANE_TIMEOUT
        return Bounds(C.CONTROL_PLANE_CONNECT_TIMEOUT, total, total, retries)
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise InvalidRequestError(
                f"timeout must be seconds or a (connect, read) pair, not {timeout!r}."
            )
        connect = _seconds(timeout[0], "timeout's connect part")
        read = _seconds(timeout[1], "timeout's read part")
        return Bounds(connect, read, max(connect, read), retries)
    every = _seconds(timeout, "timeout")
    return Bounds(every, every, every, retries)


@contextlib.contextmanager
def notify_slow_calls(callback: Callable[[str], object], after: float) -> Iterator[None]:
    """While active, a bounded call still running after ``after`` seconds calls
    ``callback("waiting for <what> (up to N s)")`` once, from the waiting thread."""
    token = _slow_notice.set((callback, after))
    try:
        yield
    finally:
        _slow_notice.reset(token)


def run_bounded(
    func: Callable[[], _T],
    limits: Bounds,
    *,
    waiting_for: str,
    on_deadline: Callable[[], Exception],
) -> _T:
    """``func()`` in a worker thread, given up at the deadline of ``limits``.

    ``oci`` retries inside its calls and its sockets have their own timeouts: only a
    wait from outside holds one deadline over all of it. Past the deadline this raises
    ``on_deadline()``; the worker, a daemon thread, ends on its own (shortened)
    timeouts. ``waiting_for`` names the call in the slow-call notice.
    """
    outcome: list[Any] = []
    done = threading.Event()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome.append((True, context.run(func)))
        except BaseException as exc:  # handed to the waiting thread as is
            outcome.append((False, exc))
        finally:
            done.set()

    total = limits.remaining()
    start = time.monotonic()
    threading.Thread(target=work, name="odsc-llm-oci-call", daemon=True).start()
    notice = _slow_notice.get()
    if notice is not None and notice[1] < total and not done.wait(notice[1]):
        notice[0](f"waiting for {waiting_for} (up to {seconds(limits.total)} s; Ctrl-C to stop)")
    if not done.wait(max(0.0, total - (time.monotonic() - start))):
        raise on_deadline()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the exceptions in its args (oci wraps requests' errors there), and its
    causes, each once."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


_TEXT_CAUSES = (
    ("Connection refused", "connection refused"),
    ("Name or service not known", "cannot resolve the host name (no DNS?)"),
    ("Temporary failure in name resolution", "cannot resolve the host name (no network?)"),
    ("nodename nor servname", "cannot resolve the host name (no DNS?)"),
    ("NameResolutionError", "cannot resolve the host name (no DNS?)"),
    ("Network is unreachable", "the network is unreachable"),
    ("No route to host", "no route to the host"),
    ("Connection reset", "the connection was reset"),
    ("RemoteDisconnected", "the server closed the connection without an answer"),
    ("Connection aborted", "the connection was closed without an answer"),
    ("CERTIFICATE_VERIFY_FAILED", "the server's TLS certificate could not be verified"),
)


def network_cause(exc: BaseException, limits: Bounds | None = None) -> str | None:
    """Why ``exc`` (an oci or requests error) got no answer, in a few words; None when
    it is not a network failure (e.g. a service error with a status)."""
    chain = list(_chain(exc))
    names = {cls.__name__ for error in chain for cls in type(error).__mro__}
    text = " ".join(repr(error) for error in chain)
    # The words first: urllib3's NewConnectionError (refused, no DNS) is a subclass of
    # its ConnectTimeoutError.
    for needle, cause in _TEXT_CAUSES:
        if needle in text:
            return cause
    if "ConnectTimeout" in names or "ConnectTimeoutError" in names:
        within = f" within {seconds(min(limits.connect, limits.total))} s" if limits else ""
        return f"could not connect{within}"
    if "ReadTimeout" in names or "ReadTimeoutError" in names:
        within = f" within {seconds(min(limits.read, limits.total))} s" if limits else ""
        return f"no answer{within} (read timeout)"
    if names & {"ConnectionError", "RequestException", "Timeout", "ProtocolError"}:
        return brief(exc)
    return None


def brief(exc: BaseException) -> str:
    """``Type: the first line of its message`` (cut): a failure in a few words."""
    lines = str(exc).strip().splitlines()
    text = lines[0][:120] if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def url_root(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (no path, no credentials)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def one_line(text: str, limit: int = C.ONE_LINE_ERROR_MAX) -> str:
    """``text`` on one line, cut to ``limit`` characters (with an ellipsis)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
