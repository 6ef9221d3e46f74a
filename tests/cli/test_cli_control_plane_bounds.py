"""``odsc-llm info`` / ``logs`` with no network (issue 21, points 7 and 11), in subprocesses.

The control plane of a deployment on loopback is its own host and port: here a server
that never answers, or a closed port. The command obeys ``--timeout`` and
``--max-retries``, says what it is waiting for after 2 s, and ends with one line of at
most 300 characters.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from odsc_llm.testing import LocalDeployment
from tests.support import bounds as support
from tests.support.bounds import SLACK
from tests.support.cli import cli_env, run_cli
from tests.support.hostile import OCID, HostileServer

#: Over the 2 s after which the CLI says what it waits for.
TIMEOUT = 3.0


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(LocalDeployment().write_oci_config(tmp_path_factory.mktemp("oci")))


def env() -> dict[str, str]:
    """No OCI variables, and no way to the real metadata service (a closed local port)."""
    return cli_env(OCI_METADATA_BASE_URL=f"http://127.0.0.1:{support.closed_port()}/opc/v2")


def timed(*args: str, env: dict[str, str]) -> tuple[int, list[str], float]:
    start = time.monotonic()
    result = run_cli(*args, env=env)
    return result.returncode, result.stderr.splitlines(), time.monotonic() - start


def check_error_line(line: str, pattern: str) -> None:
    assert len(line) <= 300, line
    assert re.match(r"^odsc-llm: error: " + pattern, line), line


@pytest.mark.parametrize("command", [("info",), ("logs", "--limit", "5")])
def test_no_answer_obeys_timeout_and_says_what_it_waits_for(
    silent_server: HostileServer, config: str, command: tuple[str, ...]
) -> None:
    code, lines, took = timed(
        *command,
        "-d",
        silent_server.url,
        "--config-file",
        config,
        "--timeout",
        f"{TIMEOUT:g}",
        "--max-retries",
        "0",
        env=env(),
    )
    assert code == 1 and len(lines) == 2, lines
    origin = silent_server.origin
    assert lines[0] == (
        f"odsc-llm: waiting for GetModelDeployment {origin} (up to 3 s; Ctrl-C to stop)"
    )
    check_error_line(
        lines[1],
        re.escape(
            f"GetModelDeployment {silent_server.origin}: no answer within 3 s (timeout 3 s, 0 "
        )
        + r"retries\); ",
    )
    assert took < TIMEOUT + SLACK


def test_a_quick_failure_says_nothing_about_waiting(config: str) -> None:
    origin = f"http://127.0.0.1:{support.closed_port()}"
    code, lines, _ = timed(
        "info", "-d", f"{origin}/{OCID}", "--config-file", config, "--max-retries", "0", env=env()
    )
    assert code == 1 and len(lines) == 1, lines
    check_error_line(lines[0], re.escape(f"GetModelDeployment {origin}: connection refused"))


def test_instance_principal_off_oci_is_one_line(
    silent_server: HostileServer, tmp_path: Path
) -> None:
    metadata = f"{silent_server.origin}/opc/v2"
    code, lines, took = timed(
        "info",
        "-d",
        silent_server.url,
        "--auth",
        "instance_principal",
        "--timeout",
        f"{TIMEOUT:g}",
        "--max-retries",
        "0",
        env=cli_env(OCI_METADATA_BASE_URL=metadata, HOME=str(tmp_path)),
    )
    assert code == 1 and len(lines) == 2, lines
    assert lines[0] == (
        f"odsc-llm: waiting for the instance metadata service {metadata} (up to 3 s; "
        "Ctrl-C to stop)"
    )
    check_error_line(
        lines[1],
        re.escape(
            "instance principals need an OCI compute instance; the instance metadata service "
            f"{metadata}: no answer within 3 s (timeout 3 s, 0 retries). Off OCI compute "
            "instances use --auth api_key or --auth security_token."
        ),
    )
    assert took < TIMEOUT + SLACK


def test_instance_principal_refused_by_default_is_one_line(tmp_path: Path) -> None:
    code, lines, _ = timed(
        "info",
        "-d",
        f"http://127.0.0.1:{support.closed_port()}/{OCID}",
        "--auth",
        "instance_principal",
        "--max-retries",  # refused at once, never retried: done before the 2 s notice,
        "0",  # however busy the machine (oci's backoff between retries is not)
        env=env(),
    )
    assert code == 1 and len(lines) == 1, lines
    check_error_line(lines[0], "instance principals need an OCI compute instance; .*refused")
