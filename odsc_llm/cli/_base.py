"""What every command shares: exit codes, the parser class, output, meters, arg types.

Standard library only: importing this must not slow ``odsc-llm --help`` down.
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys
import time
from collections.abc import Callable
from typing import IO, NoReturn

PROG = "odsc-llm"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command line that parsed but makes no sense (reported like argparse's errors)."""


class OutputError(Exception):
    """Standard output cannot be written (closed, or a full disk): exit 1, one line."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and a pointer to ``--help``), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def parse_command_line(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)``, but an unknown option gets "did you mean --x?".

    The command's own parser reports it (``odsc-llm complete: error: ...``): the top
    level knows none of the command's options.
    """
    args, extras = parser.parse_known_args(argv)
    if extras:
        command_parser: argparse.ArgumentParser = getattr(args, "parser", parser)
        command_parser.error(_unrecognized(command_parser, extras))
    return args


def _unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    message = f"unrecognized arguments: {' '.join(extras)}"
    options = [o for action in parser._actions for o in action.option_strings]
    for word in extras:
        if not word.startswith("--"):
            continue
        close = difflib.get_close_matches(word.split("=", 1)[0], options, n=1, cutoff=0.7)
        if close:
            return f"{message} (did you mean {close[0]}?)"
    return message


# --------------------------------------------------------------------------- arg types


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer in [{low}, {high}], got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], got {value}")
        return value

    parse.__name__ = f"integer in [{low}, {high}]"
    return parse


def number_in(
    low: float, high: float | None = None, *, low_open: bool = False
) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]`` (``(low, high]`` if ``low_open``;
    no upper bound if ``high`` is None)."""
    left = "(" if low_open else "["
    wanted = (
        f"in {left}{low:g}, {high:g}]"
        if high is not None
        else f"{'>' if low_open else '>='} {low:g}"
    )

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number {wanted}, got {text!r}") from None
        below = value <= low if low_open else value < low
        if not math.isfinite(value) or below or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be a number {wanted}, got {text}")
        return value

    parse.__name__ = f"number {wanted}"
    return parse


# --------------------------------------------------------------------------- output


def err(message: str) -> None:
    """One line on stderr, prefixed with the program name (nothing if stderr is closed)."""
    if sys.stderr is None:
        return
    try:
        sys.stderr.write(f"{PROG}: {message}\n")
        sys.stderr.flush()
    except OSError:
        pass


class Output:
    """stdout that flushes every write and knows whether a line is left open.

    A failed write raises :class:`OutputError` once (``BrokenPipeError`` passes
    through: a reader that went away is not an error to report); later writes do
    nothing, so ``finally`` blocks that close the line do not fail again.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.at_line_start = True
        self._broken = False

    def write(self, text: str) -> None:
        if not text or self._broken:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except BrokenPipeError:
            self._broken = True
            raise
        except OSError as exc:
            self._broken = True
            reason = exc.strerror or type(exc).__name__
            raise OutputError(f"cannot write to standard output: {reason}") from None
        self.at_line_start = text.endswith("\n")

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def end_line(self) -> None:
        """Close an open line (after a streamed answer, or when interrupted)."""
        if not self.at_line_start:
            self.write("\n")


class Meter:
    """Request id, time to first token and tokens/s of one answer, for ``--verbose``.

    For a stream, the rate is that of generation: the tokens after the first, over the
    time since the first arrived. For a whole answer, all tokens over the whole call.
    """

    def __init__(self, *, streamed: bool, clock: Callable[[], float] = time.perf_counter) -> None:
        self.streamed = streamed
        self._clock = clock
        self.start = clock()
        self.first: float | None = None
        self.end: float | None = None
        self.tokens = 0
        #: ``usage.completion_tokens`` when the server reported it (preferred).
        self.usage_tokens: int | None = None
        self.request_id: str | None = None

    def token(self, text: str) -> None:
        if not text:
            return
        if self.first is None:
            self.first = self._clock()
        self.tokens += 1

    def done(self) -> None:
        self.end = self._clock()

    @property
    def elapsed(self) -> float:
        """Seconds from the request to the end of the answer (or now)."""
        return (self.end if self.end is not None else self._clock()) - self.start

    def summary(self) -> str:
        end = self.end if self.end is not None else self._clock()
        tokens = self.usage_tokens if self.usage_tokens is not None else self.tokens
        parts = [f"request id: {self.request_id or '-'}"]
        if self.streamed and self.first is not None:
            parts.append(f"time to first token: {self.first - self.start:.3f} s")
            count, elapsed = tokens - 1, end - self.first
        else:
            count, elapsed = tokens, end - self.start
        rate = f"{count / elapsed:.1f} tokens/s" if elapsed > 0 and count > 0 else "- tokens/s"
        parts.append(f"{tokens} tokens in {end - self.start:.3f} s ({rate})")
        return "; ".join(parts)

    def report(self) -> None:
        err(self.summary())
