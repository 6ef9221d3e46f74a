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
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
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
        _err(self.summary())


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
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="timeout of each attempt (default: 10 s to connect, 600 s per read)",
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
        "logs",
        parents=[conn],
        help="recent log records of a deployment (--follow to tail)",
        description="Print the deployment's recent predict (model server) or access log "
        "records, oldest first, from OCI Logging; --follow keeps printing new ones.",
    )
    _add_deployment_positional(p)
    p.add_argument("--kind", choices=("predict", "access"), default="predict", help="which log")
    p.add_argument("--limit", type=int, default=100, metavar="N", help="most records (100)")
    p.add_argument(
        "--since",
        type=_parse_since,
        metavar="AGE|TIME",
        help="start from this long ago (30m, 2h, 1d) or this ISO time (default: 1h ago)",
    )
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    p.add_argument(
        "--poll-interval", type=float, default=5.0, metavar="SECONDS", help="with --follow (5)"
    )
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(handler=_cmd_logs, parser=p)

    p = sub.add_parser(
        "shapes",
        help="GPU shapes, and which ones a model fits",
        description="List the GPU shapes of model deployments; with --params, estimate "
        "the GPU memory a model needs and show which shapes it fits (a rule of thumb: "
        "see odsc_llm.shapes).",
    )
    p.add_argument(
        "--params", type=float, metavar="BILLIONS", help="model size in billions of parameters"
    )
    p.add_argument(
        "--dtype",
        default="bfloat16",
        help="weights dtype: bfloat16, float16, fp8, int8, awq, gptq, int4... (bfloat16)",
    )
    p.add_argument(
        "--context-tokens", type=int, metavar="N", help="context length per sequence (4096)"
    )
    p.add_argument("--concurrency", type=int, metavar="N", help="sequences served at once (1)")
    p.add_argument("--kv-cache-dtype", metavar="DTYPE", help="auto or fp8 (auto)")
    p.add_argument(
        "--gpu-memory-utilization",
        type=float,
        metavar="FRACTION",
        help="share of GPU memory the server may use (0.9)",
    )
    p.add_argument(
        "--shape", action="append", metavar="NAME", help="only this shape (repeat for several)"
    )
    p.set_defaults(handler=_cmd_shapes, parser=p)

    p = sub.add_parser(
        "serve-local",
        help="run the local deployment emulator in the foreground",
        description="Run a local stand-in for a model deployment (odsc_llm.testing) until "
        "Ctrl-C. It writes an OCI config file for its own key pair (profiles DEFAULT = API "
        "key, SESSION = security token) and prints its URL and how to use both.",
    )
    p.add_argument(
        "--upstream",
        metavar="URL",
        help="gateway mode: check signatures, then forward to this OpenAI-compatible "
        "server (llama.cpp, vLLM), e.g. http://127.0.0.1:8000",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (8080; 0 picks a free one)")
    p.add_argument(
        "--token-delay",
        type=float,
        metavar="SECONDS",
        default=0.02,
        help="delay between streamed tokens (0.02)",
    )
    p.add_argument("--ocid", help="the deployment OCID to answer to (default: a new one)")
    p.add_argument(
        "--config-dir",
        metavar="DIR",
        help="where to write the OCI config and key (default: a new temporary directory)",
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
    """The auth the options ask for; without any, :func:`odsc_llm.auth.default`.

    ``--profile``/``--config-file`` without ``--auth`` choose like ``default()`` does
    for a config profile: security token when it has ``security_token_file``, else API key.
    """
    from . import auth as oci_auth

    kind: str | None = args.auth
    if kind == "resource_principal":
        return oci_auth.resource_principal()
    if kind == "instance_principal":
        return oci_auth.instance_principal()
    if kind is None and not (args.profile or args.config_file):
        return oci_auth.default()
    config_file = (
        args.config_file or os.environ.get("OCI_CONFIG_FILE") or oci_auth.DEFAULT_CONFIG_FILE
    )
    profile = args.profile or os.environ.get("OCI_CLI_PROFILE") or oci_auth.DEFAULT_PROFILE
    if kind is None:
        from ._credentials import expand, load_profile

        config = load_profile(expand(config_file), profile)
        kind = "security_token" if config.get("security_token_file") else "api_key"
    if kind == "security_token":
        return oci_auth.security_token(profile=profile, config_file=config_file)
    return oci_auth.api_key(profile=profile, config_file=config_file)


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
            meter.done()
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


def _answer(
    args: argparse.Namespace,
    out: _Output,
    create: Callable[..., Any],
    *,
    chunk_text: Callable[[Any], str],
    whole_text: Callable[[Any], str],
) -> str:
    """Ask for one answer (streamed or whole), print it, and return its text."""
    kwargs = _generation_kwargs(args)
    meter = _Meter(streamed=args.stream)
    if args.stream:
        stream = create(stream=True, **kwargs)
        text = _consume_stream(stream, out, text_of=chunk_text, as_json=args.json, meter=meter)
    else:
        response = create(**kwargs)
        meter.done()
        meter.request_id = _request_id(response)
        text = whole_text(response)
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


def _cmd_complete(args: argparse.Namespace, out: _Output) -> int:
    prompt: str = args.prompt
    if args.deployment is None and _looks_like_deployment(prompt):
        raise UsageError("the PROMPT is missing after the deployment (quote the prompt)")
    if prompt == "-":
        prompt = sys.stdin.read()
    deployment = _resolve_deployment(args.deployment)
    with _make_client(args, deployment) as client:
        _answer(
            args,
            out,
            functools.partial(client.completions.create, prompt=prompt),
            chunk_text=_completion_text,
            whole_text=_completion_text,
        )
    return EXIT_OK


def _chat_turn(
    client: Client,
    args: argparse.Namespace,
    messages: list[dict[str, str]],
    out: _Output,
) -> str:
    return _answer(
        args,
        out,
        functools.partial(client.chat.completions.create, messages=messages),
        chunk_text=_chat_delta_text,
        whole_text=_chat_message_text,
    )


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
    if args.deployment is None and _looks_like_deployment(args.texts[0]):
        raise UsageError("the TEXT to embed is missing after the deployment")
    deployment_arg, texts = _shift_positionals(args.deployment, list(args.texts), may_shift=True)
    deployment = _resolve_deployment(deployment_arg)
    client = _make_client(args, deployment)
    kwargs: dict[str, Any] = {"model": args.model} if args.model else {}
    meter = _Meter(streamed=False)
    with client:
        response = client.embeddings.create(input=texts, **kwargs)
    meter.done()
    meter.request_id = _request_id(response)
    if args.json:
        out.line(_dump(response))
    else:
        data = sorted(response.data, key=lambda item: item.index)
        out.line(json.dumps([list(item.embedding) for item in data]))
    if args.verbose:
        _err(f"request id: {meter.request_id or '-'}; {len(texts)} texts in {meter.elapsed:.3f} s")
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
        if value is None or value == "" or value == [] or value == {}:
            continue
        if isinstance(value, dict):
            shown: object = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            shown = ", ".join(map(str, value))
        else:
            shown = value
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


def _parse_since(text: str) -> datetime | timedelta:
    """``30m``/``2h``/``1d``/``90s`` as a timedelta, or an ISO 8601 time."""
    value = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if value[-1:].lower() in units:
        try:
            return timedelta(seconds=float(value[:-1]) * units[value[-1].lower()])
        except ValueError:
            pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an age (30m, 2h, 1d) nor an ISO time (2025-01-31T12:00Z)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _cmd_logs(args: argparse.Namespace, out: _Output) -> int:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    deployment = _resolve_deployment(args.deployment)
    auth = _make_auth(args)
    records: Iterable[Any] = deployment.logs(
        auth,
        kind=args.kind,
        since=args.since,
        limit=args.limit,
        follow=args.follow,
        poll_interval=args.poll_interval,
    )
    for record in records:
        out.line(record.model_dump_json() if args.json else str(record))
    return EXIT_OK


def _cmd_shapes(args: argparse.Namespace, out: _Output) -> int:
    from . import shapes

    options: dict[str, Any] = {"dtype": args.dtype}
    for name in ("context_tokens", "concurrency", "kv_cache_dtype", "gpu_memory_utilization"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    try:
        out.line(shapes.format_table(args.shape, params_billion=args.params, **options))
        if args.params is not None:
            fitting = shapes.recommend_shapes(args.params, shapes=args.shape, **options)
            if fitting:
                out.line(f"\nSmallest shape that fits: {fitting[0].name}")
            else:
                out.line(
                    "\nNo listed shape fits: try a quantized --dtype (fp8, awq), a shorter "
                    "--context-tokens, or a lower --concurrency."
                )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


def _cmd_serve_local(args: argparse.Namespace, out: _Output) -> int:
    from .testing import serve

    def announce(text: str) -> None:
        marker = "\nPress Ctrl-C"
        if marker in text:
            cli_hint = (
                "\nOr from the command line (after the two exports above):\n"
                f'  {_PROG} complete "hello"\n'
                f"  {_PROG} chat\n"
            )
            text = text.replace(marker, cli_hint + marker, 1)
        out.write(text)

    try:
        serve(
            host=args.host,
            port=args.port,
            upstream=args.upstream,
            token_delay=args.token_delay,
            ocid=args.ocid,
            config_dir=args.config_dir,
            announce=announce,
        )
    except ValueError as exc:  # a bad --upstream or --token-delay
        raise UsageError(str(exc)) from None
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
