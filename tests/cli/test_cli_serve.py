"""``odsc-llm serve-local`` takes only what it can honour (issue 21, point 10): a port
in 0..65535, a ``--config-dir`` it can make (said why not), an absolute config whatever
the folder it was given, and a URL the client accepts whatever ``--host`` it listens on.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from odsc_llm._constants import ENV_DEPLOYMENT
from tests.support.cli import ROOT, TIMEOUT, cli_env, run_cli

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "internal error" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("module", ["odsc_llm", "odsc_llm.testing"])
@pytest.mark.parametrize("port", ["70000", "65536", "-1"])
def test_a_port_out_of_range_is_a_usage_error(module: str, port: str, tmp_path: Path) -> None:
    words = ["serve-local"] if module == "odsc_llm" else []
    result = subprocess.run(
        [sys.executable, "-m", module, *words, "--port", port, "--config-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=cli_env(),
        cwd=ROOT,
    )
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "argument --port" in line and "65535" in line and port in line
    assert not (tmp_path / "config").exists()


@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_a_config_dir_that_cannot_be_made_says_why(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("in the way")
    target = tmp_path / where
    result = run_cli("serve-local", "--port", "0", "--config-dir", str(target))
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "--config-dir" in line and str(target) in line
    assert "not a directory" in line.lower()


class Served:
    """A ``serve-local`` child and its banner."""

    def __init__(self, proc: subprocess.Popen[bytes], banner: str) -> None:
        self.proc = proc
        self.banner = banner

    def export(self, name: str) -> str:
        found = re.search(rf"export {name}=(\S+)", self.banner)
        assert found, self.banner
        return found.group(1)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str, cwd: Path = ROOT) -> Served:
        proc = subprocess.Popen(
            [sys.executable, "-m", "odsc_llm", "serve-local", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(),
            cwd=cwd,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        started.append(proc)
        assert proc.stdout is not None
        seen = b""
        deadline = time.monotonic() + TIMEOUT
        while b"Press Ctrl-C" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:
                    break
                seen += data
        assert b"Press Ctrl-C" in seen, seen.decode()
        return Served(proc, seen.decode())

    yield start
    for proc in started:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        assert proc.returncode == 0 and b"Traceback" not in err


def _complete(served: Served, text: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(
        **{
            ENV_DEPLOYMENT: served.export(ENV_DEPLOYMENT),
            "OCI_CONFIG_FILE": served.export("OCI_CONFIG_FILE"),
        }
    )
    return run_cli("complete", text, "--no-stream", env=env)  # from ROOT, another folder


@posix_only
def test_a_relative_config_dir_works_from_any_folder(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    served = serve("--config-dir", "rel", cwd=tmp_path)
    config = Path(served.export("OCI_CONFIG_FILE"))
    assert config.is_absolute() and config == tmp_path / "rel" / "config"
    key_files = re.findall(r"^key_file=(.+)$", config.read_text(), re.MULTILINE)
    assert key_files and all(Path(k).is_absolute() for k in key_files)
    result = _complete(served, "from elsewhere")
    assert (result.returncode, result.stdout) == (0, "You said: from elsewhere\n"), result.stderr


@posix_only
def test_listening_on_every_interface_prints_a_loopback_url(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    served = serve("--host", "0.0.0.0", "--config-dir", str(tmp_path))
    url = served.export(ENV_DEPLOYMENT)
    assert url.startswith("http://127.0.0.1:"), served.banner
    text = " ".join(served.banner.split())
    assert "--allow-insecure" in text and "allow_insecure=True" in text
    result = _complete(served, "on all interfaces")
    assert (result.returncode, result.stdout) == (0, "You said: on all interfaces\n"), result.stderr
