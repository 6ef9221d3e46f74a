"""A positional that is a deployment URL or OCID is the deployment, whatever
``$ODSC_LLM_DEPLOYMENT`` says; a text that really is such a URL goes after ``--``.

Real subprocesses against the ``odsc_llm_local`` emulator, with the variable set the
way ``odsc-llm serve-local`` tells a user to (issue 21, point 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from odsc_llm._constants import ENV_DEPLOYMENT
from tests.support.cli import OCID, URL, cli_env, run_cli

if TYPE_CHECKING:
    from odsc_llm.testing import LocalDeployment


@pytest.fixture
def env(odsc_llm_local: LocalDeployment, tmp_path: Path) -> dict[str, str]:
    """serve-local's two exports: the emulator in the variable, its config file."""
    config = str(odsc_llm_local.write_oci_config(tmp_path))
    return cli_env(**{ENV_DEPLOYMENT: odsc_llm_local.url, "OCI_CONFIG_FILE": config})


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_readme_lines_after_the_export_use_the_deployment(
    odsc_llm_local: LocalDeployment, env: dict[str, str]
) -> None:
    dep = odsc_llm_local.url
    result = run_cli("embed", dep, "first text", "second text", env=env)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 2
    assert odsc_llm_local.requests[-1].json()["input"] == ["first text", "second text"]
    result = run_cli("chat", dep, input="hello\n", env=env)
    assert (result.returncode, result.stdout) == (0, "You said: hello\n"), result.stderr
    result = run_cli("complete", dep, "Hi", "--no-stream", env=env)
    assert (result.returncode, result.stdout) == (0, "You said: Hi\n"), result.stderr
    result = run_cli("chat", dep, "Hello", "--system", "Be brief", env=env)
    assert (result.returncode, result.stdout) == (0, "You said: Hello\n"), result.stderr


def test_a_positional_deployment_wins_over_the_variable(
    odsc_llm_local: LocalDeployment, env: dict[str, str]
) -> None:
    env[ENV_DEPLOYMENT] = URL  # another deployment: never asked
    result = run_cli("complete", odsc_llm_local.url, "Hi", "--no-stream", env=env)
    assert (result.returncode, result.stdout) == (0, "You said: Hi\n"), result.stderr


@pytest.mark.parametrize("command", ["complete", "embed"])
def test_the_deployment_alone_is_a_missing_text_not_a_text(
    odsc_llm_local: LocalDeployment, env: dict[str, str], command: str
) -> None:
    result = run_cli(command, odsc_llm_local.url, env=env)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "missing after the deployment" in line and "'--'" in line
    assert odsc_llm_local.requests == []


def test_a_text_that_is_a_url_goes_after_double_dash(
    odsc_llm_local: LocalDeployment, env: dict[str, str]
) -> None:
    result = run_cli("chat", "--no-stream", "--", "https://example.com/ocid1.x", env=env)
    assert (result.returncode, result.stdout) == (0, "You said: https://example.com/ocid1.x\n")
    result = run_cli("complete", "--", OCID, env=env)
    assert (result.returncode, result.stdout) == (0, f"You said: {OCID}\n"), result.stderr
    result = run_cli("embed", "--", URL, "two", env=env)
    assert result.returncode == 0, result.stderr
    assert odsc_llm_local.requests[-1].json()["input"] == [URL, "two"]
    # The deployment before '--', the URL-looking prompt after it.
    result = run_cli("complete", "--no-stream", odsc_llm_local.url, "--", URL, env=env)
    assert (result.returncode, result.stdout) == (0, f"You said: {URL}\n"), result.stderr


def test_a_deployment_positional_with_dash_d_is_given_twice(
    odsc_llm_local: LocalDeployment, env: dict[str, str]
) -> None:
    result = run_cli("complete", "-d", odsc_llm_local.url, URL, env=env)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "twice" in line and "'--'" in line
    result = run_cli("complete", "-d", odsc_llm_local.url, "--no-stream", "--", URL, env=env)
    assert (result.returncode, result.stdout) == (0, f"You said: {URL}\n"), result.stderr


def test_help_states_the_rule() -> None:
    for command in ("complete", "chat", "embed"):
        text = " ".join(run_cli(command, "--help").stdout.split())
        assert "a positional that is a deployment URL or OCID is the deployment" in text
        assert "after '--'" in text
