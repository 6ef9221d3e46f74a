"""Helpers of the batch controller's tests: a clock the test moves, and an error with a
status code (what the controller reads from the client's HTTP errors)."""

from __future__ import annotations


class FakeClock:
    """A monotonic clock that moves only when the test sets ``now``."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Status(Exception):
    """An attempt's failure with an HTTP ``status_code`` (429, 503, ...)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"status {status_code}")
        self.status_code = status_code
