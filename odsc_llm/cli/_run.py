"""``run``: one parsed command to its exit status; every failure becomes one line."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable

from ._base import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Output,
    OutputError,
    UsageError,
    err,
)
from ._connect import PRINCIPALS
from ._messages import for_cli, report_error

__all__ = ["run"]


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null, so Python's flush at exit does not fail a second time."""
    if sys.stdout is None:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the command ``args`` names; every failure becomes an exit status and one line."""
    from .._errors import InvalidDeploymentError, OdscLLMError

    handler: Callable[[argparse.Namespace, Output], int] | None = getattr(args, "handler", None)
    if handler is None:
        if sys.stderr is not None:
            parser.print_help(sys.stderr)
        return EXIT_USAGE
    command_parser: argparse.ArgumentParser = getattr(args, "parser", parser)
    if getattr(args, "auth", None) in PRINCIPALS and (args.profile or args.config_file):
        command_parser.error(f"--profile and --config-file do not apply to --auth {args.auth}")
    if sys.stdout is None:  # started with stdout closed (>&-)
        err("error: standard output is closed: nowhere to print to")
        return EXIT_ERROR
    out = Output(sys.stdout)
    try:
        return handler(args, out)
    except UsageError as exc:
        command_parser.error(for_cli(str(exc)))  # one line, exits 2
    except InvalidDeploymentError as exc:
        err(f"error: {for_cli(str(exc))}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        with contextlib.suppress(OutputError, OSError):
            out.end_line()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): it had all it wanted, so stop quietly, and
        # with 0 whenever it happened (before the first write or after the last).
        _silence_stdout()
        return EXIT_OK
    except OutputError as exc:  # a full disk (>/dev/full), an I/O error
        err(f"error: {exc}")
        _silence_stdout()
        return EXIT_ERROR
    except OdscLLMError as exc:
        report_error(exc)
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one line, never a traceback
        err(f"internal error, please report it: {type(exc).__name__}: {for_cli(str(exc))}")
        return EXIT_ERROR
