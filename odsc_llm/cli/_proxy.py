"""``odsc-llm proxy``: the local signing gateway (:mod:`odsc_llm.proxy`) in the foreground.

Once it listens it prints ``export`` lines on stdout (and nothing else there), so a
shell can ``eval`` them; the access log and every other line go to stderr.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import logging
import secrets
import shlex
import sys
import threading
from typing import Any

from ._base import EXIT_OK, EXIT_USAGE, Output, UsageError, err, int_in

PROXY_DESCRIPTION = (
    "Serve a deployment to any OpenAI- or Anthropic-compatible tool: a local gateway that "
    "checks a key, signs each request with your OCI credentials and forwards it (streams "
    "included). Once it listens it prints export lines for OPENAI_* and ANTHROPIC_* on "
    "stdout (paste them where your tool runs, or: odsc-llm proxy DEPLOYMENT > proxy.env & "
    "then . ./proxy.env); the access log goes to stderr. Ctrl-C or SIGTERM stops it."
)


def add_proxy(p: argparse.ArgumentParser) -> None:
    from .. import _constants as C
    from ._connect import AUTH_CHOICES

    p.description = PROXY_DESCRIPTION
    p.add_argument(
        "deployment",
        nargs="?",
        metavar="DEPLOYMENT",
        help=f"deployment URL or OCID, serving every model name (default: ${C.ENV_DEPLOYMENT})",
    )
    p.add_argument(
        "--config",
        dest="proxy_config",
        metavar="FILE",
        help='TOML file mapping model names to deployments: [models."NAME"] deployments = '
        '[{ deployment = "URL or OCID", model = "odsc-llm", profile = "PROFILE" }, ...]',
    )
    p.add_argument("--host", default=C.PROXY_HOST, help="address to listen on (%(default)s)")
    p.add_argument(
        "--port",
        type=int_in(0, C.MAX_PORT),
        default=C.PROXY_PORT,
        help=f"port, 0..{C.MAX_PORT} (%(default)s; 0 picks a free one)",
    )
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--api-key", metavar="KEY", help="the key callers send (default: random)")
    keys.add_argument(
        "--no-api-key",
        action="store_true",
        help="accept callers without a key (only on a loopback --host)",
    )
    p.add_argument(
        "--routing",
        choices=C.ROUTINGS,
        default=C.DEFAULT_ROUTING,
        help="header: the route header, every deployment (default); path: /predict/v1/..., "
        "deployments with Multiple Inference Endpoints",
    )
    group = p.add_argument_group("authentication")
    group.add_argument(
        "--auth",
        choices=AUTH_CHOICES,
        metavar="METHOD",
        help="how to sign requests: " + ", ".join(AUTH_CHOICES) + " (default: resource "
        "principal in notebooks and jobs, else the config file profile)",
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
        "--region", help="the deployment's region, when its OCID or URL does not tell it"
    )
    group.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow a plain http:// deployment URL to a host that is not loopback",
    )
    group.add_argument(
        "--tracing",
        action="store_true",
        help="emit odsc_llm's OpenTelemetry spans (needs odsc-llm[otel] and your SDK set-up)",
    )
    # make_auth reads these; the proxy's upstream bounds are its own.
    p.set_defaults(handler=_cmd_proxy, timeout=None, max_retries=None)


def exports(base_url: str, api_key: str | None) -> str:
    """The lines printed on stdout once the proxy listens."""
    lines = [
        f"export OPENAI_BASE_URL={base_url}/v1",
        *([f"export OPENAI_API_KEY={shlex.quote(api_key)}"] if api_key else []),
        f"export ANTHROPIC_BASE_URL={base_url}",
        *([f"export ANTHROPIC_API_KEY={shlex.quote(api_key)}"] if api_key else []),
    ]
    return "\n".join(lines) + "\n"


def _shown(base_url: str) -> str:
    # Listening on every interface: this machine's loopback address is the one to use.
    return base_url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:")


class _BatchedStderr(logging.Handler):
    """The access log on stderr, written by a thread of its own every
    ``PROXY_LOG_FLUSH`` seconds: a slow or full stderr (a pipe nobody reads yet) never
    stalls the event loop, and a request costs an append, not a thread wake-up."""

    def __init__(self) -> None:
        from .. import _constants as C

        super().__init__()
        self._lines: collections.deque[str] = collections.deque()
        self._stop = threading.Event()
        self._every = C.PROXY_LOG_FLUSH
        self._thread = threading.Thread(target=self._run, name="odsc-llm-proxy-log", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        self._lines.append(record.getMessage())

    def _flush_lines(self) -> None:
        lines = []
        while self._lines:
            lines.append(self._lines.popleft())
        if lines and sys.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write("\n".join(lines) + "\n")
                sys.stderr.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._flush_lines()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._flush_lines()
        super().close()


def _access_log() -> logging.Handler:
    from ..proxy import LOGGER_NAME

    handler = _BatchedStderr()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler


def _cmd_proxy(args: argparse.Namespace, out: Output) -> int:
    from .._errors import InvalidRequestError
    from ..proxy import create_app
    from ..proxy._serve import is_loopback, run
    from ._connect import make_auth, resolve_deployment

    if args.no_api_key and not is_loopback(args.host):
        err(
            f"error: --no-api-key is refused on {args.host}, which is not loopback: anyone "
            "who reaches it could use your OCI credentials (drop --no-api-key, or --host "
            "127.0.0.1)"
        )
        return EXIT_USAGE
    api_key = None if args.no_api_key else (args.api_key or secrets.token_urlsafe(24))
    if args.proxy_config is not None and args.deployment is not None:
        raise UsageError("give DEPLOYMENT or --config, not both: a config names its deployments")
    options: dict[str, Any] = {"auth": make_auth(args), "api_key": api_key}
    if args.proxy_config is not None:
        options["config"] = args.proxy_config
    else:
        options["deployment"] = resolve_deployment(
            args.deployment, region=args.region, allow_insecure=args.allow_insecure
        )
    if args.tracing:
        options["tracing"] = True
    try:
        app = create_app(routing=args.routing, **options)
    except InvalidRequestError as exc:  # a config file that cannot be used
        raise UsageError(str(exc)) from None
    log = _access_log()

    def ready(base_url: str) -> None:
        shown = _shown(base_url)
        out.write(exports(shown, api_key))
        served = ", ".join(sorted(app.served.models)) or "every model name"
        err(f"listening on {shown} ({served}); Ctrl-C or SIGTERM stops it")

    try:
        run(app, host=args.host, port=args.port, on_ready=ready)
    finally:
        log.close()  # writes what is still queued
    err("stopped")
    return EXIT_OK
