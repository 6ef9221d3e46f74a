"""What the proxy tests share: a proxy app on uvicorn in a background thread, and a
``odsc-llm proxy`` subprocess that has printed its export lines."""

from __future__ import annotations

import contextlib
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import uvicorn

from odsc_llm.proxy import ProxyApp
from odsc_llm.proxy._serve import uvicorn_options

from .cli import ROOT, TIMEOUT, cli_env

KEY = "test-proxy-key"


@contextlib.contextmanager
def running(app: ProxyApp) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and a free port; yields ``http://127.0.0.1:PORT``."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, **uvicorn_options())  # as odsc_llm.proxy.serve runs it
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: server.run(sockets=[sock]), daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the proxy did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(TIMEOUT)
        sock.close()


class ProxyProcess:
    """``python -m odsc_llm proxy ARGS`` until stopped; ``exports`` are its stdout lines."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "odsc_llm", "proxy", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env if env is not None else cli_env(),
            cwd=ROOT,
        )
        self.exports: dict[str, str] = {}
        self.lines: list[str] = []
        self._rest: queue.Queue[str] | None = None
        # stderr is read as it comes: a full pipe would block the proxy's access log.
        self._err: list[str] = []
        stderr = self.process.stderr
        assert stderr is not None
        self._err_reader = threading.Thread(target=lambda: self._err.extend(stderr), daemon=True)
        self._err_reader.start()

    def wait_ready(self, count: int = 4) -> dict[str, str]:
        """Read the export lines (``count`` of them) within TIMEOUT."""
        stdout = self.process.stdout
        assert stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        # A thread reads: a text pipe buffers lines a selector cannot see.
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        deadline = time.monotonic() + TIMEOUT
        while len(self.exports) < count:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no export lines; stderr: {self.stop()[2]}") from None
            self.lines.append(line)
            name, _, value = line.strip().removeprefix("export ").partition("=")
            self.exports[name] = value
        self._rest = lines
        return self.exports

    @property
    def base_url(self) -> str:
        return self.exports["OPENAI_BASE_URL"].removesuffix("/v1")

    def send(self, number: int = signal.SIGTERM) -> None:
        self.process.send_signal(number)

    def stop(self, number: int = signal.SIGTERM) -> tuple[int, str, str]:
        """Signal it, wait (bounded), return (status, rest of stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(number)
        try:
            self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._err_reader.join(TIMEOUT)
        err = "".join(self._err)
        out = ""
        if self._rest is not None:
            time.sleep(0.05)  # the reader thread hands over what stdout still had
            while not self._rest.empty():
                out += self._rest.get()
        elif self.process.stdout is not None:
            out = self.process.stdout.read()
        return self.process.returncode, out, err

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.stop()


def env_for(config_file: str, **extra: str) -> dict[str, str]:
    """The CLI environment with ``OCI_CONFIG_FILE`` set (the emulator's key pair)."""
    return cli_env(OCI_CONFIG_FILE=config_file, **extra)
