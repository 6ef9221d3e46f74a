"""``serve-local``: the emulator in the foreground; its options are also
``python -m odsc_llm.testing``'s (one parser, :func:`add_serve_options`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._base import (
    EXIT_OK,
    PROG,
    Output,
    Parser,
    UsageError,
    int_in,
    number_in,
    parse_command_line,
)

SERVE_DESCRIPTION = (
    "Run a local stand-in for a model deployment (odsc_llm.testing) until Ctrl-C: it checks "
    "OCI request signatures and answers like vLLM (or forwards to --upstream). It writes an "
    "OCI config file for its own key pair (profiles DEFAULT = API key, SESSION = security "
    "token) and prints its URL and how to use both."
)


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """The emulator's options, with their defaults from ``odsc_llm._constants``."""
    from .. import _constants as C

    p.add_argument(
        "--upstream",
        metavar="URL",
        help="gateway mode: check signatures, then forward to this OpenAI-compatible "
        "server (llama.cpp, vLLM), e.g. http://127.0.0.1:8000",
    )
    p.add_argument(
        "--host",
        default=C.LOCAL_HOST,
        help="address to listen on (%(default)s; 0.0.0.0 is every interface: the URL printed "
        "is still this machine's loopback one)",
    )
    p.add_argument(
        "--port",
        type=int_in(0, C.MAX_PORT),
        default=C.LOCAL_PORT,
        help=f"port, 0..{C.MAX_PORT} (%(default)s; 0 picks a free one)",
    )
    p.add_argument(
        "--token-delay",
        type=number_in(0),
        metavar="SECONDS",
        default=C.LOCAL_TOKEN_DELAY,
        help="delay between streamed tokens (%(default)s)",
    )
    p.add_argument("--ocid", help="the deployment OCID to answer to (default: a new one)")
    p.add_argument(
        "--api-spec",
        choices=("openai",),
        dest="api_specification",
        help="emulate a Multiple Inference Endpoints deployment: also route the OpenAI "
        "paths after /predict (/predict/v1/chat/completions...); by default it is a classic "
        "deployment, routed by the `route` header only",
    )
    p.add_argument(
        "--custom-endpoint",
        action="append",
        default=[],
        type=custom_endpoint,
        dest="custom_endpoints",
        metavar="SUFFIX[:METHODS]",
        help="also route /predict/SUFFIX for METHODS (comma-separated, default POST; '{}' is "
        f"one path segment), e.g. /v1/items/{{}}:GET; up to {C.MIE_MAX_CUSTOM_ENDPOINTS} times",
    )
    p.add_argument(
        "--config-dir",
        metavar="DIR",
        help="where to write the OCI config and key, made if missing (default: a new "
        "temporary directory); the config names the key by its absolute path",
    )


def serve_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``odsc_llm.testing.serve`` from :func:`add_serve_options`."""
    names = ("host", "port", "upstream", "token_delay", "ocid", "api_specification")
    options: dict[str, Any] = {name: getattr(args, name) for name in names}
    options["config_dir"] = config_folder(args.config_dir)
    options["custom_endpoints"] = list(args.custom_endpoints)
    return options


def custom_endpoint(text: str) -> tuple[str, list[str]]:
    """``--custom-endpoint SUFFIX[:METHODS]`` as a ``(suffix, methods)`` pair (POST when
    no methods are given); the emulator checks both and says what is wrong."""
    suffix, colon, methods = text.rpartition(":")
    if not colon:
        return text, ["POST"]
    return suffix, [m.strip() for m in methods.split(",")]


def config_folder(text: str | None) -> Path | None:
    """``--config-dir`` as an absolute path (so the config works from any folder), made
    now: a path that cannot be a folder is a usage error that says why."""
    if text is None:
        return None
    folder = Path(text).expanduser().absolute()
    if folder.exists() and not folder.is_dir():
        reason = "it exists and is not a directory"
    else:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = f"cannot create it: {exc.strerror or type(exc).__name__}"
            if isinstance(exc, NotADirectoryError):
                reason += " (a part of the path is a file)"
        else:
            if os.access(folder, os.W_OK | os.X_OK):
                return folder
            reason = "cannot write into it"
    raise UsageError(f"--config-dir {folder}: {reason}; give a folder that can hold the config")


def add_serve_local(p: argparse.ArgumentParser) -> None:
    p.description = SERVE_DESCRIPTION
    add_serve_options(p)
    p.set_defaults(handler=_cmd_serve_local)


def _with_cli_hint(write: Callable[[str], None]) -> Callable[[str], None]:
    def announce(text: str) -> None:
        marker = "\nPress Ctrl-C"
        if marker in text:
            cli_hint = (
                "\nOr from the command line (after the two exports above):\n"
                f'  {PROG} complete "hello"\n'
                f"  {PROG} chat\n"
            )
            text = text.replace(marker, cli_hint + marker, 1)
        write(text)

    return announce


def _cmd_serve_local(args: argparse.Namespace, out: Output) -> int:
    from ..testing import serve

    try:
        serve(**serve_options(args), announce=_with_cli_hint(out.write))
    except ValueError as exc:  # a bad --upstream or --ocid
        raise UsageError(str(exc)) from None
    return EXIT_OK


def standalone_parser(prog: str) -> Parser:
    """The parser of ``python -m odsc_llm.testing``: ``serve-local``'s, under its own name."""
    parser = Parser(prog=prog, description=SERVE_DESCRIPTION)
    add_serve_local(parser)
    return parser


def standalone_main(argv: Sequence[str] | None, prog: str) -> int:
    """``python -m odsc_llm.testing``: the same options and errors as ``serve-local``."""
    from ._run import run

    parser = standalone_parser(prog)
    words = list(sys.argv[1:] if argv is None else argv)
    return run(parser, parse_command_line(parser, words))
