"""The proxy with clients in other languages: Node's ``openai`` package, Java with the
JDK alone, and ``curl -N``; each streams a chat through ``odsc-llm proxy``.

Node and the JDK are on the machine image (CI installs them); the npm package goes into
a temporary folder from the npm registry.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from odsc_llm.testing import LocalDeployment

from ..support.proxy import ProxyProcess, env_for

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT / "tests" / "proxy" / "snippets"
BOUND = 180  # seconds: npm install and the JDK's compile-and-run are slow on 2 cores


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} is needed on PATH for this test (see CONTRIBUTING.md)"
    return path


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    with LocalDeployment() as local:
        config = str(local.write_oci_config(tmp_path_factory.mktemp("oci")))
        with ProxyProcess(local.url, env=env_for(config)) as running:
            running.wait_ready()
            yield running


def _env(proxy: ProxyProcess) -> dict[str, str]:
    env = env_for("/nonexistent")  # no OCI credentials: the tools have none either
    env.update({name: value.strip("'") for name, value in proxy.exports.items()})
    return env


def test_node_openai_package_streams(
    proxy: ProxyProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("node")
    install = subprocess.run(
        [_tool("npm"), "install", "--no-audit", "--no-fund", "--loglevel=error", "openai@5"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert install.returncode == 0, install.stderr
    script = folder / "stream_chat.mjs"
    shutil.copy(SNIPPETS / "stream_chat.mjs", script)
    done = subprocess.run(
        [_tool("node"), str(script)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=BOUND,
        env=_env(proxy),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "You said: hello from node"


def test_java_with_the_jdk_alone_streams(proxy: ProxyProcess, tmp_path: Path) -> None:
    source = tmp_path / "StreamChat.java"
    shutil.copy(SNIPPETS / "StreamChat.java", source)
    done = subprocess.run(
        [_tool("java"), str(source)],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env=_env(proxy),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "You said: hello from java"


def test_curl_streams(proxy: ProxyProcess) -> None:
    key = proxy.exports["OPENAI_API_KEY"].strip("'")
    body = '{"model": "any", "stream": true, "messages": [{"role": "user", "content": "curl"}]}'
    done = subprocess.run(
        [
            _tool("curl"),
            "-sSN",
            "--fail-with-body",
            f"{proxy.exports['OPENAI_BASE_URL']}/chat/completions",
            "-H",
            f"Authorization: Bearer {key}",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env=_env(proxy),
    )
    assert done.returncode == 0, done.stderr + done.stdout
    events = [e for e in done.stdout.split("\n\n") if e]
    assert events[-1] == "data: [DONE]" and len(events) >= 4
    assert all(e.startswith("data: ") for e in events)
