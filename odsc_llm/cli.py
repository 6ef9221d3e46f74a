"""The ``odsc-llm`` command: talk to a model deployment from a terminal.

``oci raw-request`` cannot stream; this can::

    odsc-llm complete https://modeldeployment.../ocid1.datasciencemodeldeployment... "Hi"
    odsc-llm chat  ocid1.datasciencemodeldeployment.oc1.iad.xxx
    odsc-llm serve-local          # a local emulator to try it all without OCI

Exit status: 0 success, 1 API or authentication error (one line on stderr with the
HTTP status and the ``opc-request-id``), 2 usage error (including a deployment URL or
OCID that cannot be understood), 130 interrupted (Ctrl-C).

Only the standard library is imported at start-up, so ``odsc-llm --help`` stays
fast; the client, ``oci`` and the emulator load inside the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ._errors import APIError, AuthError, InvalidDeploymentError, OdscLLMError

if TYPE_CHECKING:
    import httpx

    from ._client import Client
    from .deployment import Deployment

__all__ = ["ENV_DEPLOYMENT", "build_parser", "main"]

#: Environment variable naming the deployment when the command line does not.
ENV_DEPLOYMENT = "ODSC_LLM_DEPLOYMENT"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

AUTH_CHOICES = ("api_key", "security_token", "resource_principal", "instance_principal")

_PROG = "odsc-llm"


class UsageError(Exception):
    """A command line that parsed but makes no sense (reported like argparse's errors)."""


# --------------------------------------------------------------------------- output


class _Output:
    """stdout that flushes every write and knows whether a line is left open."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.at_line_start = True

    def write(self, text: str) -> None:
        if not text:
            return
        self._stream.write(text)
        self._stream.flush()
        self.at_line_start = text.endswith("\n")

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def end_line(self) -> None:
        """Close an open line (after a streamed answer, or when interrupted)."""
        if not self.at_line_start:
            self.write("\n")


def _err(message: str) -> None:
    sys.stderr.write(f"{_PROG}: {message}\n")
    sys.stderr.flush()


class _Meter:
    """Time to first token and tokens/s of one answer, for ``--verbose``."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None
        self.tokens = 0
        self.usage_tokens: int | None = None
        self.request_id: str | None = None

    def token(self, text: str) -> None:
        if not text:
            return
        if self.first is None:
            self.first = time.perf_counter()
        self.tokens += 1

    def report(self) -> None:
        end = time.perf_counter()
        parts = [f"request id: {self.request_id or '-'}"]
        if self.first is not None:
            parts.append(f"time to first token: {self.first - self.start:.3f} s")
        tokens = self.usage_tokens if self.usage_tokens is not None else self.tokens
        since = self.first if self.first is not None else self.start
        elapsed = end - since
        rate = f"{(tokens - 1) / elapsed:.1f} tokens/s" if elapsed > 0 and tokens > 1 else "-"
        parts.append(f"{tokens} tokens in {end - self.start:.3f} s ({rate})")
        _err("; ".join(parts))


# --------------------------------------------------------------------------- parser


def _looks_like_deployment(text: str) -> bool:
    value = text.strip()
    return value.startswith(("ocid1.", "https://", "http://"))


def _add_deployment_positional(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "deployment",
        nargs="?",
        metavar="DEPLOYMENT",
        help=f"deployment URL or OCID (default: ${ENV_DEPLOYMENT})",
    )


def _connection_options() -> argparse.ArgumentParser:
    """Auth and transport options shared by every subcommand that goes on the network."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("authentication and connection")
    group.add_argument(
        "--auth",
        choices=AUTH_CHOICES,
        metavar="METHOD",
        help="how to sign requests: " + ", ".join(AUTH_CHOICES) + " (default: "
        "odsc_llm.auth.default(): resource principal in notebooks and jobs, else the "
        "config file profile)",
    )
    group.add_argument(
        "--profile", help="OCI config profile (default: $OCI_CLI_PROFILE or DEFAULT)"
    )
    group.add_argument(
        "--config-file",
        metavar="PATH",
        help="OCI config file (default: $OCI_CONFIG_FILE or ~/.oci/config)",
    )
    group.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="timeout of each attempt (default: 60)"
    )
    group.add_argument(
        "--max-retries", type=int, metavar="N", help="retries of transient failures (default: 2)"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print the request id, time to first token and tokens/s on stderr",
    )
    return parent


def _generation_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("generation")
    group.add_argument("--max-tokens", type=int, metavar="N", help="most tokens to generate")
    group.add_argument("--temperature", type=float, metavar="T", help="sampling temperature")
    group.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling probability")
    group.add_argument(
        "--stop",
        action="append",
        metavar="S",
        help="stop sequence (repeat the option for several)",
    )
    group.add_argument("--model", help="model name (default: odsc-llm)")
    group.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="wait for the whole answer instead of streaming it",
    )
    group.add_argument(
        "--stream-endpoint",
        choices=("predictWithResponseStream", "predict"),
        help="where streamed requests go (default: predictWithResponseStream)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print the response JSON (JSON lines of chunks when streaming)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``odsc-llm`` (exposed for tests and documentation)."""
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Call LLMs served by OCI Data Science Model Deployments: stream "
        "completions and chats, embed text, inspect a deployment, or run a local emulator.",
        epilog=f"DEPLOYMENT is a URL or an OCID; it may be left out when ${ENV_DEPLOYMENT} "
        "is set. Exit status: 0 ok, 1 API or auth error, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    conn = _connection_options()

    p = sub.add_parser(
        "complete",
        parents=[conn],
        help="complete a prompt (streams by default)",
        description="Complete a prompt, printing tokens as they arrive. "
        "PROMPT '-' reads the prompt from stdin.",
    )
    _add_deployment_positional(p)
    p.add_argument("prompt", metavar="PROMPT", help="the prompt ('-' reads it from stdin)")
    _generation_options(p)
    p.set_defaults(handler=_cmd_complete, parser=p)

    p = sub.add_parser(
        "chat",
        parents=[conn],
        help="chat: one message, or an interactive conversation on stdin",
        description="Send one message (MESSAGE given), or read messages line by line from "
        "stdin and keep the conversation (type /reset to forget it, /exit or Ctrl-D to end).",
    )
    _add_deployment_positional(p)
    p.add_argument("message", nargs="?", metavar="MESSAGE", help="send this one message and exit")
    p.add_argument("--system", metavar="TEXT", help="system prompt")
    _generation_options(p)
    p.set_defaults(handler=_cmd_chat, parser=p)

    p = sub.add_parser(
        "embed",
        parents=[conn],
        help="embed texts; prints the vectors as JSON",
        description="Embed each TEXT; prints a JSON array of vectors (one per TEXT, in order).",
    )
    _add_deployment_positional(p)
    p.add_argument("texts", nargs="+", metavar="TEXT", help="text to embed")
    p.add_argument("--model", help="model name (default: odsc-llm)")
    p.add_argument("--json", action="store_true", help="print the whole response JSON")
    p.set_defaults(handler=_cmd_embed, parser=p)

    p = sub.add_parser(
        "info",
        parents=[conn],
        help="what the control plane says of a deployment",
        description="Show the deployment's state, shape, model, URL and log ids from the "
        "control plane; with --local-only (or for a local emulator) only what its URL or "
        "OCID says (ocid, region, endpoint, predict and stream URLs).",
    )
    _add_deployment_positional(p)
    p.add_argument(
        "--local-only", action="store_true", help="do not ask the control plane; parse only"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_cmd_info, parser=p)

    p = sub.add_parser(
        "serve-local",
        help="run the local deployment emulator in the foreground",
        description="Run a local stand-in for a model deployment (odsc_llm.testing) until "
        "Ctrl-C, and print the URL and credentials to use with it.",
    )
    p.add_argument(
        "--upstream",
        metavar="URL",
        help="forward requests to this OpenAI-compatible server (e.g. llama.cpp, vLLM) "
        "instead of answering with the built-in deterministic model",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any free)")
    p.add_argument(
        "--token-delay",
        type=float,
        metavar="SECONDS",
        default=0.0,
        help="delay between streamed tokens",
    )
    p.set_defaults(handler=_cmd_serve_local, parser=p)

    return parser


# --------------------------------------------------------------------------- helpers


def _resolve_deployment(value: str | None) -> Deployment:
    from .deployment import Deployment

    text = value if value else os.environ.get(ENV_DEPLOYMENT, "")
    if not text.strip():
        raise UsageError(
            f"no deployment given: pass a deployment URL or OCID, or set ${ENV_DEPLOYMENT}"
        )
    return Deployment.coerce(text)


def _shift_positionals(
    deployment: str | None, rest: list[str], *, may_shift: bool
) -> tuple[str | None, list[str]]:
    """Reinterpret a DEPLOYMENT positional as text when it cannot be one.

    argparse fills ``[DEPLOYMENT]`` first; when the value does not look like a URL or an
    OCID and $ODSC_LLM_DEPLOYMENT is set, the user meant it as the first text.
    """
    if (
        may_shift
        and deployment is not None
        and not _looks_like_deployment(deployment)
        and os.environ.get(ENV_DEPLOYMENT, "").strip()
    ):
        return None, [deployment, *rest]
    return deployment, rest


def _make_auth(args: argparse.Namespace) -> httpx.Auth:
    from . import auth as oci_auth

    kind: str | None = args.auth
    kwargs: dict[str, Any] = {}
    if args.profile:
        kwargs["profile"] = args.profile
    if args.config_file:
        kwargs["config_file"] = args.config_file
    if kind is None:
        if kwargs:
            return oci_auth.from_config(**kwargs)
        return oci_auth.default()
    if kind == "api_key":
        return oci_auth.api_key(**kwargs)
    if kind == "security_token":
        return oci_auth.security_token(**kwargs)
    if kind == "resource_principal":
        return oci_auth.resource_principal()
    return oci_auth.instance_principal()


def _make_client(args: argparse.Namespace, deployment: Deployment) -> Client:
    from ._client import Client

    kwargs: dict[str, Any] = {"deployment": deployment, "auth": _make_auth(args)}
    if args.timeout is not None:
        kwargs["timeout"] = args.timeout
    if args.max_retries is not None:
        kwargs["max_retries"] = args.max_retries
    if getattr(args, "stream_endpoint", None):
        kwargs["stream_endpoint"] = args.stream_endpoint
    return Client(**kwargs)


def _generation_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for name in ("max_tokens", "temperature", "top_p", "stop", "model"):
        value = getattr(args, name, None)
        if value is not None:
            kwargs[name] = value
    if "stop" in kwargs and len(kwargs["stop"]) == 1:
        kwargs["stop"] = kwargs["stop"][0]
    return kwargs


def _request_id(obj: object) -> str | None:
    value = getattr(obj, "request_id", None)
    if isinstance(value, str) and value:
        return value
    response = getattr(obj, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        found = headers.get("opc-request-id")
        return found if isinstance(found, str) else None
    return None


def _dump(model: Any) -> str:
    """Compact JSON of a response model, without the SDK's own attributes."""
    if hasattr(model, "model_dump_json"):
        return str(model.model_dump_json(exclude_unset=True))
    return json.dumps(model)


def _usage_tokens(chunk: Any) -> int | None:
    usage = getattr(chunk, "usage", None)
    value = getattr(usage, "completion_tokens", None)
    return value if isinstance(value, int) else None


def _consume_stream(
    stream: Any,
    out: _Output,
    *,
    text_of: Callable[[Any], str],
    as_json: bool,
    meter: _Meter,
) -> str:
    """Print a stream's text (or its chunks as JSON lines); the whole text is returned.

    The stream is closed however this ends; Ctrl-C closes the line and propagates.
    """
    pieces: list[str] = []
    try:
        with stream:
            meter.request_id = _request_id(stream)
            for chunk in stream:
                text = text_of(chunk)
                meter.token(text)
                usage = _usage_tokens(chunk)
                if usage is not None:
                    meter.usage_tokens = usage
                if as_json:
                    out.line(_dump(chunk))
                else:
                    out.write(text)
                pieces.append(text)
    finally:
        out.end_line()
    return "".join(pieces)


def _completion_text(chunk: Any) -> str:
    choices = getattr(chunk, "choices", None) or []
    return "".join(getattr(c, "text", None) or "" for c in choices[:1])


def _chat_delta_text(chunk: Any) -> str:
    choices = getattr(chunk, "choices", None) or []
    if not choices:
        return ""
    delta = getattr(choices[0], "delta", None)
    return getattr(delta, "content", None) or ""


def _chat_message_text(response: Any) -> str:
    choices = getattr(response, "choices", None) or []
    if not choices:
        return ""
    message = getattr(choices[0], "message", None)
    return getattr(message, "content", None) or ""


# --------------------------------------------------------------------------- commands


def _cmd_complete(args: argparse.Namespace, out: _Output) -> int:
    prompt: str = args.prompt
    if prompt == "-":
        prompt = sys.stdin.read()
    deployment = _resolve_deployment(args.deployment)
    client = _make_client(args, deployment)
    kwargs = _generation_kwargs(args)
    meter = _Meter()
    with client:
        if args.stream:
            stream = client.completions.create(prompt=prompt, stream=True, **kwargs)
            _consume_stream(stream, out, text_of=_completion_text, as_json=args.json, meter=meter)
        else:
            completion = client.completions.create(prompt=prompt, **kwargs)
            meter.request_id = _request_id(completion)
            text = _completion_text(completion)
            meter.token(text)
            meter.usage_tokens = _usage_tokens(completion)
            if args.json:
                out.line(_dump(completion))
            else:
                out.write(text)
                out.end_line()
    if args.verbose:
        meter.report()
    return EXIT_OK


def _chat_turn(
    client: Client,
    args: argparse.Namespace,
    messages: list[dict[str, str]],
    out: _Output,
) -> str:
    kwargs = _generation_kwargs(args)
    meter = _Meter()
    if args.stream:
        stream = client.chat.completions.create(messages=messages, stream=True, **kwargs)
        text = _consume_stream(
            stream, out, text_of=_chat_delta_text, as_json=args.json, meter=meter
        )
    else:
        response = client.chat.completions.create(messages=messages, **kwargs)
        meter.request_id = _request_id(response)
        text = _chat_message_text(response)
        meter.token(text)
        meter.usage_tokens = _usage_tokens(response)
        if args.json:
            out.line(_dump(response))
        else:
            out.write(text)
            out.end_line()
    if args.verbose:
        meter.report()
    return text


def _read_lines(prompt: str | None) -> Iterator[str]:
    while True:
        if prompt:
            sys.stderr.write(prompt)
            sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            if prompt:
                sys.stderr.write("\n")
            return
        yield line.rstrip("\r\n")


def _cmd_chat(args: argparse.Namespace, out: _Output) -> int:
    deployment_arg, rest = _shift_positionals(
        args.deployment,
        [args.message] if args.message is not None else [],
        may_shift=not args.message,
    )
    deployment = _resolve_deployment(deployment_arg)
    client = _make_client(args, deployment)
    base: list[dict[str, str]] = []
    if args.system:
        base.append({"role": "system", "content": args.system})
    with client:
        if rest:
            _chat_turn(client, args, [*base, {"role": "user", "content": rest[0]}], out)
            return EXIT_OK
        interactive = sys.stdin.isatty()
        messages = list(base)
        status = EXIT_OK
        for line in _read_lines("> " if interactive else None):
            command = line.strip()
            if not command:
                continue
            if command in ("/exit", "/quit"):
                break
            if command == "/reset":
                messages = list(base)
                continue
            messages.append({"role": "user", "content": line})
            try:
                answer = _chat_turn(client, args, messages, out)
            except APIError as exc:
                messages.pop()
                if not interactive:
                    raise
                _report_error(exc)
                status = EXIT_ERROR
                continue
            messages.append({"role": "assistant", "content": answer})
        return status


def _cmd_embed(args: argparse.Namespace, out: _Output) -> int:
    deployment_arg, texts = _shift_positionals(args.deployment, list(args.texts), may_shift=True)
    deployment = _resolve_deployment(deployment_arg)
    client = _make_client(args, deployment)
    kwargs: dict[str, Any] = {"model": args.model} if args.model else {}
    meter = _Meter()
    with client:
        response = client.embeddings.create(input=texts, **kwargs)
    meter.request_id = _request_id(response)
    if args.json:
        out.line(_dump(response))
    else:
        data = sorted(response.data, key=lambda item: item.index)
        out.line(json.dumps([list(item.embedding) for item in data]))
    if args.verbose:
        _err(f"request id: {meter.request_id or '-'}")
    return EXIT_OK


def _local_info(deployment: Deployment) -> dict[str, Any]:
    return {
        "ocid": deployment.ocid,
        "region": deployment.region,
        "endpoint": deployment.endpoint,
        "predict_url": deployment.predict_url,
        "stream_url": deployment.stream_url,
    }


def _is_local(deployment: Deployment) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(deployment.endpoint).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _print_mapping(out: _Output, data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.line(json.dumps(data, indent=2, default=str))
        return
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        if value is None or value == "" or value == []:
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        out.line(f"{key + ':':<{width + 1}} {shown}")


def _info_to_dict(info: Any) -> dict[str, Any]:
    if hasattr(info, "model_dump"):
        data = info.model_dump(mode="json")
        return dict(data) if isinstance(data, dict) else {"info": data}
    return dict(vars(info))


def _cmd_info(args: argparse.Namespace, out: _Output) -> int:
    deployment = _resolve_deployment(args.deployment)
    local = _local_info(deployment)
    if args.local_only or _is_local(deployment):
        _print_mapping(out, local, args.json)
        return EXIT_OK
    fetch = getattr(deployment, "fetch", None)
    if fetch is None:  # control plane support not installed in this version
        _err("note: this version cannot ask the control plane; showing the parsed deployment")
        _print_mapping(out, local, args.json)
        return EXIT_OK
    try:
        info = fetch(auth=_make_auth(args))
    except AuthError as exc:
        raise AuthError(f"{exc} (--local-only shows what the URL or OCID alone says)") from exc
    data = _info_to_dict(info)
    for key, value in local.items():
        data.setdefault(key, value)
    _print_mapping(out, data, args.json)
    return EXIT_OK


def _cmd_serve_local(args: argparse.Namespace, out: _Output) -> int:
    from .testing import serve

    serve(
        host=args.host,
        port=args.port,
        upstream=args.upstream,
        token_delay=args.token_delay,
        announce=out.write,
    )
    return EXIT_OK


# --------------------------------------------------------------------------- main


def _report_error(exc: BaseException) -> None:
    message = " ".join(str(exc).split()) or type(exc).__name__
    request_id = getattr(exc, "request_id", None)
    if request_id and request_id not in message:
        message += f" (opc-request-id: {request_id})"
    _err(f"error: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``odsc-llm`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if getattr(args, "auth", None) in ("resource_principal", "instance_principal") and (
        args.profile or args.config_file
    ):
        args.parser.error(f"--profile and --config-file do not apply to --auth {args.auth}")
    out = _Output(sys.stdout)
    handler: Callable[[argparse.Namespace, _Output], int] = args.handler
    try:
        return handler(args, out)
    except UsageError as exc:
        args.parser.error(str(exc))  # prints usage, exits 2
    except InvalidDeploymentError as exc:
        _err(f"error: {' '.join(str(exc).split())}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        out.end_line()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except OdscLLMError as exc:
        _report_error(exc)
        return EXIT_ERROR
    return EXIT_OK
