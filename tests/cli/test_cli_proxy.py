"""``odsc-llm proxy`` through a real subprocess: export lines, keys, signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from odsc_llm.testing import LocalDeployment

from ..support.cli import ROOT, TIMEOUT, run_cli
from ..support.proxy import ProxyProcess, env_for


@pytest.fixture(scope="module")
def local() -> Iterator[LocalDeployment]:
    with LocalDeployment() as deployment:
        yield deployment


@pytest.fixture(scope="module")
def oci_config(local: LocalDeployment, tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(local.write_oci_config(tmp_path_factory.mktemp("oci")))


def test_prints_exports_then_serves(local: LocalDeployment, oci_config: str) -> None:
    with ProxyProcess(local.url, env=env_for(oci_config)) as proxy:
        exports = proxy.wait_ready()
        assert list(exports) == [
            "OPENAI_BASE_URL",
            "OPENAI_API_KEY",
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_API_KEY",
        ]
        assert all(line.startswith("export ") for line in proxy.lines)
        key = exports["OPENAI_API_KEY"]
        assert key == exports["ANTHROPIC_API_KEY"] and len(key) >= 24  # random
        assert exports["OPENAI_BASE_URL"] == exports["ANTHROPIC_BASE_URL"] + "/v1"
        assert ":8765" not in exports["ANTHROPIC_BASE_URL"]  # --port 0: a free port
        client = openai.OpenAI(base_url=exports["OPENAI_BASE_URL"], api_key=key, max_retries=0)
        answer = client.chat.completions.create(
            model="x", messages=[{"role": "user", "content": "via the cli"}]
        )
        assert answer.choices[0].message.content == "You said: via the cli"
        status, out, err = proxy.stop(signal.SIGINT)
    assert status == 0
    assert out == ""  # nothing but the export lines on stdout
    assert "status=200" in err and "path=/v1/chat/completions" in err  # the access log
    assert key not in err


def test_given_key_and_no_key(local: LocalDeployment, oci_config: str) -> None:
    with ProxyProcess(local.url, "--api-key", "my key", env=env_for(oci_config)) as proxy:
        assert proxy.wait_ready()["OPENAI_API_KEY"] == "'my key'"  # quoted for eval
        answer = httpx.post(
            f"{proxy.base_url}/v1/embeddings", json={"input": "a"}, headers={"x-api-key": "my key"}
        )
        assert answer.status_code == 200
    with ProxyProcess(local.url, "--no-api-key", env=env_for(oci_config)) as proxy:
        exports = proxy.wait_ready(count=2)
        assert list(exports) == ["OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"]
        answer = httpx.post(f"{proxy.base_url}/v1/embeddings", json={"input": "a"})
        assert answer.status_code == 200


def test_no_api_key_refused_off_loopback(local: LocalDeployment) -> None:
    done = run_cli("proxy", local.url, "--no-api-key", "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--no-api-key" in lines[0]
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--routing", "sideways"], "invalid choice"),
        (["--api-key", "k", "--no-api-key"], "not allowed with"),
        (["--config", "/nonexistent/proxy.toml"], "Cannot read the proxy config"),
    ],
)
def test_usage_errors(args: list[str], words: str, oci_config: str) -> None:
    done = run_cli("proxy", *args, "--port", "0", env=env_for(oci_config))
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and "Traceback" not in done.stderr


def test_bad_config_file(tmp_path: Path, oci_config: str) -> None:
    config = tmp_path / "proxy.toml"
    config.write_text('[models."a"]\ndeployments = [{ deployment = 3 }]\n')
    done = run_cli("proxy", "--config", str(config), "--port", "0", env=env_for(oci_config))
    assert done.returncode == 2 and 'models."a"' in done.stderr


def test_sigterm_during_streams_ends_them_and_exits_0(
    local: LocalDeployment, oci_config: str
) -> None:
    local.token_delay = 0.5  # far longer than the grace: these streams cannot finish
    try:
        with ProxyProcess(local.url, "--no-api-key", env=env_for(oci_config)) as proxy:
            proxy.wait_ready(count=2)
            body = {"model": "m", "messages": [{"role": "user", "content": "w " * 100}]}
            texts: list[str] = []

            def stream() -> None:
                with httpx.stream(
                    "POST",
                    f"{proxy.base_url}/v1/chat/completions",
                    json={**body, "stream": True},
                    timeout=30,
                ) as answer:
                    texts.append("".join(answer.iter_text()))

            threads = [threading.Thread(target=stream) for _ in range(3)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while local.active_streams < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            signalled = time.monotonic()
            status, _, err = proxy.stop(signal.SIGTERM)
            took = time.monotonic() - signalled
            for thread in threads:
                thread.join(10)
    finally:
        local.token_delay = 0.0
    assert status == 0 and "stopped" in err
    assert took < 6 + 2  # 6 s asked for; the margin is the shared machine's
    assert len(texts) == 3
    for text in texts:
        events = [e for e in text.split("\n\n") if e]
        assert events[-1] == "data: [DONE]"
        assert "shutting down" in json.loads(events[-2].removeprefix("data: "))["error"]["message"]
    deadline = time.monotonic() + 5
    while local.active_streams and time.monotonic() < deadline:
        time.sleep(0.02)
    assert local.active_streams == 0


def test_sigterm_when_idle_exits_at_once(local: LocalDeployment, oci_config: str) -> None:
    with ProxyProcess(local.url, env=env_for(oci_config)) as proxy:
        proxy.wait_ready()
        signalled = time.monotonic()
        status, _, err = proxy.stop(signal.SIGTERM)
    assert status == 0 and time.monotonic() - signalled < 6
    assert "Traceback" not in err


def test_an_unread_stderr_never_stalls_the_proxy(local: LocalDeployment, oci_config: str) -> None:
    # Nobody reads stderr here until the end: the access log (~250 bytes a request) fills
    # the pipe (64 KiB) long before the last request; the requests must not notice.
    proxy = subprocess.Popen(
        [sys.executable, "-m", "odsc_llm", "proxy", local.url, "--no-api-key", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(oci_config),
        cwd=ROOT,
    )
    try:
        assert proxy.stdout is not None
        base = proxy.stdout.readline().strip().split("=", 1)[1]
        with httpx.Client(timeout=20) as client:
            for _ in range(600):
                answer = client.post(f"{base}/embeddings", json={"input": "a"})
                assert answer.status_code == 200
        proxy.send_signal(signal.SIGTERM)
        _, err = proxy.communicate(timeout=TIMEOUT)
    finally:
        if proxy.poll() is None:
            proxy.kill()
            proxy.communicate()
    assert proxy.returncode == 0
    assert err.count("status=200") == 600
