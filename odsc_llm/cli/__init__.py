"""The ``odsc-llm`` command: talk to a model deployment from a terminal.

``oci raw-request`` cannot stream; this can::

    odsc-llm complete https://modeldeployment.../ocid1.datasciencemodeldeployment... "Hi"
    odsc-llm chat  ocid1.datasciencemodeldeployment.oc1.iad.xxx
    odsc-llm serve-local          # a local emulator to try it all without OCI

Exit status: 0 success, also when the reader of stdout goes away (``| head``: it has
all it wanted); 1 API or authentication error, or stdout that cannot be written (one
line on stderr, with the HTTP status and the ``opc-request-id`` when there is one), 2
usage error (including a deployment URL or OCID that cannot be understood), 130
interrupted (Ctrl-C). No traceback, ever.

Only the standard library is imported at start-up, so ``odsc-llm --help`` stays fast:
each command's options are built only when that command runs (their defaults come from
modules that import httpx or pydantic), and the client, ``oci`` and the emulator load
inside the command that needs them.

Modules: ``_base`` (parser, output, exit codes), ``_messages`` (library advice -> CLI
advice), ``_connect`` (deployment, auth, client), one module per command group.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ._base import (
    PROG,
    Parser,
    parse_command_line,
)
from ._connect import literal_count
from ._run import run

__all__ = ["build_parser", "main", "run", "serve_local_main"]

Builder = Callable[[argparse.ArgumentParser], None]

# name -> (one-line help, goes on the network, "module:function" that adds its options)
_COMMANDS: dict[str, tuple[str, bool, str]] = {
    "complete": ("complete a prompt (streams by default)", True, "_generate:add_complete"),
    "chat": ("chat: one message, or a conversation on stdin", True, "_generate:add_chat"),
    "embed": ("embed texts; prints the vectors as JSON", True, "_generate:add_embed"),
    "transcribe": ("transcribe (or translate) an audio file", True, "_media:add_transcribe"),
    "info": ("what the control plane says of a deployment", True, "_deployments:add_info"),
    "logs": ("recent log records of a deployment (-f to tail)", True, "_deployments:add_logs"),
    "shapes": ("GPU shapes, and which ones a model fits", False, "_shapes:add_shapes"),
    # The lifecycle commands bring their own options (--control-plane-endpoint...).
    "deploy": ("deploy a model (prints its OCID and URL)", False, "_lifecycle:add_deploy"),
    "wait": ("wait until a deployment's operation ends", False, "_lifecycle:add_wait"),
    "deployments": ("list a compartment's deployments", False, "_lifecycle:add_deployments"),
    "activate": ("start an INACTIVE deployment again", False, "_lifecycle:add_activate"),
    "deactivate": ("stop a deployment (billing stops)", False, "_lifecycle:add_deactivate"),
    "delete": ("delete a deployment (asks first)", False, "_lifecycle:add_delete"),
    "scale": ("run a deployment on N instances", False, "_lifecycle:add_scale"),
    "containers": ("the service containers to deploy on", False, "_lifecycle:add_containers"),
    "serve-local": ("run the local deployment emulator", False, "_serve:add_serve_local"),
    "proxy": ("a local OpenAI/Anthropic gateway that signs for you", False, "_proxy:add_proxy"),
}


def _builder(spec: str) -> Builder:
    import importlib

    module, function = spec.split(":")
    found: Builder = getattr(importlib.import_module(f".{module}", __name__), function)
    return found


def build_parser(*commands: str) -> argparse.ArgumentParser:
    """The argument parser of ``odsc-llm`` (exposed for tests and documentation).

    With ``commands``, only those commands get their options (the others are listed
    without theirs): :func:`main` builds just the command it runs, so ``--help``
    imports nothing heavy. Without, every command is built.
    """
    return _parser(set(commands or _COMMANDS))


def _parser(wanted: set[str]) -> Parser:
    from .._version import __version__

    parser = Parser(
        prog=PROG,
        description="Call LLMs served by OCI Data Science Model Deployments: stream "
        "completions and chats, embed text, inspect a deployment, or run a local emulator.",
        epilog="DEPLOYMENT is a URL or an OCID; 'odsc-llm COMMAND --help' says where else "
        "it can come from. Exit status: 0 ok (a reader that goes away (| head) is 0 too), "
        "1 API, auth or output error, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    connection: Parser | None = None
    for name, (help_text, networked, spec) in _COMMANDS.items():
        if name not in wanted:
            sub.add_parser(name, help=help_text)
            continue
        parents: list[Parser] = []
        if networked:
            from ._connect import connection_options

            connection = connection or connection_options()
            parents.append(connection)
        p = sub.add_parser(name, help=help_text, parents=parents, description=help_text)
        _builder(spec)(p)
        p.set_defaults(parser=p)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    # The top level has no option that takes a value: the first word is the command.
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in _COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``odsc-llm`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(words)
    parser = _parser({command} if command else set())
    args = parse_command_line(parser, words)
    # argparse drops the '--': the commands need to know which texts came after it.
    args.literal_positionals = literal_count(words)
    return run(parser, args)


def serve_local_main(argv: Sequence[str] | None = None, prog: str = "odsc-llm serve-local") -> int:
    """``python -m odsc_llm.testing``: ``serve-local``'s options and errors under ``prog``;
    returns the exit status. (Its module loads on first use, as every command's does.)"""
    from ._serve import standalone_main

    return standalone_main(argv, prog)
