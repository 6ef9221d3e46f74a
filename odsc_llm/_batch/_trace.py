"""A debug trace of the adaptive controller's decisions, off unless asked for.

``ODSC_LLM_BATCH_TRACE=/path/trace.jsonl`` makes every batch append one JSON line per
decision point (each latency check, each cut, each pace change) to that file: the
time since the batch began, the event and the controller's state. It is how one tells,
after the fact, a collapse of the limit from a pace that never regrew or a hold that
never ended. Nothing is written (or formatted) without the variable.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any, TextIO

from .. import _constants as C
from .._errors import InvalidRequestError

__all__ = ["Trace", "trace_from_env"]

Trace = Callable[[str, dict[str, Any]], None]


class _FileTrace:
    """Appends one line per event to an open file (closed by :meth:`close`)."""

    def __init__(self, stream: TextIO, clock: Callable[[], float]) -> None:
        self._stream = stream
        self._clock = clock
        self._start = clock()

    def __call__(self, event: str, state: dict[str, Any]) -> None:
        line = {"t": round(self._clock() - self._start, 4), "event": event, **state}
        self._stream.write(json.dumps(line) + "\n")

    def close(self) -> None:
        self._stream.close()


def trace_from_env(clock: Callable[[], float] = time.monotonic) -> _FileTrace | None:
    """The trace ``ODSC_LLM_BATCH_TRACE`` asks for, or ``None`` (the default)."""
    path = os.environ.get(C.ENV_BATCH_TRACE, "").strip()
    if not path:
        return None
    try:
        # Line-buffered: a batch killed midway still leaves what it decided so far.
        stream = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (closed by close())
    except OSError as exc:
        raise InvalidRequestError(
            f"{C.ENV_BATCH_TRACE}={path!r} cannot be opened to append the batch's trace "
            f"({exc.strerror or exc}). Point it at a writable file, or unset it to run "
            "without a trace."
        ) from exc
    return _FileTrace(stream, clock)
