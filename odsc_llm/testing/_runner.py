"""``serve_forever``: run a LocalDeployment in the foreground, and leave nothing behind."""

from __future__ import annotations

import ipaddress
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._local import LocalDeployment

__all__ = ["serve", "serve_forever", "startup_banner"]

#: Signals that stop ``serve_forever`` as cleanly as Ctrl-C does (where the OS has them).
_STOP_SIGNALS = ("SIGTERM", "SIGHUP")


def serve_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    upstream: str | None = None,
    token_delay: float = 0.02,
    ocid: str | None = None,
    config_dir: str | Path | None = None,
    announce: Callable[[str], Any] | None = None,
    api_specification: str | None = None,
    custom_endpoints: Iterable[tuple[str, Iterable[str]]] = (),
) -> None:
    """Run a :class:`LocalDeployment` in the foreground until Ctrl-C.

    Writes an OCI config (profiles ``DEFAULT`` and ``SESSION``) and the key into
    ``config_dir`` (a new temporary directory by default), then tells ``announce``
    (default: stdout) the URL and how to point a client at it. This is
    ``python -m odsc_llm.testing`` and ``odsc-llm serve-local`` (also importable as
    ``odsc_llm.testing.serve``). ``api_specification`` and ``custom_endpoints`` make it a
    Multiple Inference Endpoints deployment (see :class:`LocalDeployment`).

    Ctrl-C, SIGTERM and SIGHUP stop it (one line, ``Stopping.``) and it returns; the
    temporary directory is removed then, and on any error (e.g. the port is taken:
    :class:`~odsc_llm.OdscLLMError`). A ``config_dir`` you gave is kept.
    """

    def _stdout(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    say = announce or _stdout
    local = LocalDeployment(
        token_delay=token_delay,
        upstream=upstream,
        host=host,
        port=port,
        ocid=ocid,
        api_specification=api_specification,
        custom_endpoints=custom_endpoints,
    )
    previous: dict[signal.Signals, Any] = {}
    stopping = False
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (docker stop, CI) and SIGHUP stop it as cleanly as Ctrl-C does.
        for name in _STOP_SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, _raise_keyboard_interrupt)
    try:
        with local:
            config = local.write_oci_config(Path(config_dir) if config_dir else None)
            say(startup_banner(local, config))
            try:
                while local._thread is not None and local._thread.is_alive():
                    local._thread.join(0.5)
            except KeyboardInterrupt:
                stopping = True
                say("\nStopping.\n")
    except KeyboardInterrupt:  # during start-up, or a second one while stopping
        if not stopping:
            say("\nStopping.\n")
    finally:
        local.stop()  # also when start() failed: nothing of ours stays behind
        for number, handler in previous.items():
            signal.signal(number, handler)


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def startup_banner(local: LocalDeployment, config: Path) -> str:
    """What ``serve_forever`` prints: the URL, the config file, and how to use them."""
    mode = f"gateway to {local.upstream}" if local.upstream else "emulated model 'odsc-llm'"
    return (
        f"odsc_llm local deployment ({mode})\n"
        f"  URL:    {local.url}\n"
        f"  routes: {_routes(local)}\n"
        f"  config: {config}  (profiles DEFAULT = API key, SESSION = security token)\n"
        "\nPoint a client at it:\n"
        f"  export OCI_CONFIG_FILE={config}\n"
        f"  export ODSC_LLM_DEPLOYMENT={local.url}\n"
        '  python -c "import odsc_llm; c = odsc_llm.Client(); '
        "print(c.completions.create(prompt='hello').choices[0].text)\"\n"
        "\nDeploy on its control plane (odsc-llm deploy, wait, deployments, scale, ...):\n"
        f"  export ODSC_LLM_CONTROL_PLANE_ENDPOINT={local.base_url} OCI_REGION=us-ashburn-1\n"
        f"  export NB_SESSION_COMPARTMENT_OCID={local.compartment_id}\n"
        f"  export PROJECT_OCID={local.project_id}\n"
        f"  export MODEL_OCID={local.model_id}\n"
        f"{_remote_note(local)}"
        "\nPress Ctrl-C to stop.\n"
    )


def _routes(local: LocalDeployment) -> str:
    """What the deployment routes, and the client routing that fits it."""
    if local.api_specification is None and not local.custom_endpoints:
        return "classic: /predict with the `route` header (routing='header')"
    extra = [f"{suffix} ({','.join(methods)})" for suffix, methods in local.custom_endpoints]
    if local.api_specification is not None:
        extra.insert(0, f"the {local.api_specification} paths")
    return (
        f"Multiple Inference Endpoints: also /predict + {', '.join(extra)} "
        f"(routing='{local.routing}')"
    )


def _remote_note(local: LocalDeployment) -> str:
    """When it listens beyond loopback: how another machine reaches it (plain http)."""
    try:
        if local.host == "localhost" or ipaddress.ip_address(local.host).is_loopback:
            return ""
    except ValueError:  # a host name
        pass
    return (
        f"\nIt listens on {local.host or 'every interface'}: from another machine, use this "
        f"machine's address instead of {urlsplit(local.base_url).hostname}. That is plain "
        "http, which a client refuses unless told: odsc-llm --allow-insecure, or "
        "Deployment.from_url(url, allow_insecure=True) for a Client.\n"
    )


#: ``odsc_llm.testing.serve`` is ``serve_forever`` (what ``odsc-llm serve-local`` calls).
serve = serve_forever
