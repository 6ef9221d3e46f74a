"""Small CLI gaps of issue 21: a reader that goes away, typos in options, empty prompts,
``shapes --json``, and ``logs --since`` beyond what one search can span.

Real subprocesses (``python -m odsc_llm``), against the ``odsc_llm_local`` emulator
where a deployment is needed.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.cli import ROOT, TIMEOUT, cli_env, run_cli

if TYPE_CHECKING:
    from odsc_llm.testing import LocalDeployment

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")


@pytest.fixture
def config(odsc_llm_local: LocalDeployment, tmp_path: Path) -> str:
    return str(odsc_llm_local.write_oci_config(tmp_path / "oci"))


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# --------------------------------------------------------- a reader that goes away


def _into_a_closed_pipe(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """``argv`` with stdout a pipe whose reader is already gone: every write is EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "odsc_llm", *argv],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            env=cli_env(),
            cwd=ROOT,
        )
    finally:
        os.close(write_end)


@posix_only
@pytest.mark.parametrize(
    "command",
    [
        ("shapes",),
        ("info", "--local-only"),
        ("info",),
        ("logs",),
        ("complete", "hello"),
        ("complete", "hello", "--no-stream"),
        ("chat", "hello", "--json"),
        ("embed", "a", "b"),
    ],
)
def test_a_reader_gone_before_the_first_write_is_exit_0(
    odsc_llm_local: LocalDeployment, config: str, command: tuple[str, ...]
) -> None:
    name, *rest = command
    odsc_llm_local.add_log_line("INFO one record to print")
    argv = [name] if name == "shapes" else [name, odsc_llm_local.url, *rest, "-v"]
    if name != "shapes":
        argv += ["--config-file", config]
    result = _into_a_closed_pipe(argv)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr and "error" not in stderr


@posix_only
@pytest.mark.parametrize(
    ("command", "reader"),
    [
        (("complete", "PROMPT"), "head -c 10"),
        (("info", "--local-only"), "head -n 1"),
        (("logs",), "head -n 1"),
    ],
)
def test_head_ends_the_command_with_exit_0_every_time(
    odsc_llm_local: LocalDeployment, config: str, command: tuple[str, ...], reader: str
) -> None:
    odsc_llm_local.token_delay = 0.005
    for i in range(30):
        odsc_llm_local.add_log_line(f"INFO record {i}")
    prompt = " ".join(f"word{i}" for i in range(300))
    name, *rest = command
    args = [prompt if word == "PROMPT" else word for word in rest]
    argv = [sys.executable, "-m", "odsc_llm", name, odsc_llm_local.url, *args]
    pipeline = f"{shlex.join([*argv, '--config-file', config])} | {reader} >/dev/null"
    script = f"for i in 1 2 3; do {pipeline}; echo ${{PIPESTATUS[0]}}; done"
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, timeout=3 * TIMEOUT, env=cli_env(), cwd=ROOT
    )
    assert result.stdout.split() == [b"0", b"0", b"0"], result.stderr.decode()
    assert result.stderr == b""


def test_help_says_a_reader_going_away_is_exit_0() -> None:
    text = " ".join(run_cli("--help").stdout.split())
    assert "a reader that goes away (| head) is 0" in text


# --------------------------------------------------------------- a typo in an option


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("--temprature", "--temperature"),
        ("--temprature=0.5", "--temperature"),
        ("--max-tokns", "--max-tokens"),
        ("--no-steram", "--no-stream"),
    ],
)
def test_a_mistyped_option_gets_did_you_mean(typo: str, meant: str) -> None:
    argv = ["complete", "https://x.example/ocid1.datasciencemodeldeployment.oc1.iad.x", "hi"]
    value = [] if "=" in typo or typo == "--no-steram" else ["0.5"]
    result = run_cli(*argv, typo, *value)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert f"did you mean {meant}?" in line and typo.split("=")[0] in line


def test_an_unknown_option_without_a_near_one_is_still_named() -> None:
    result = run_cli("shapes", "--zzzzzz")
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "unrecognized arguments: --zzzzzz" in line and "did you mean" not in line


# ---------------------------------------------------------------- an empty prompt


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (("complete", ""), ""),
        (("complete", "  \n"), ""),
        (("complete", "-"), ""),
        (("complete", "-", "--no-stream"), "\n\n"),
        (("chat", ""), ""),
        (("embed", "a", ""), ""),
    ],
)
def test_an_empty_prompt_is_a_usage_error_and_nothing_is_sent(
    odsc_llm_local: LocalDeployment, config: str, argv: tuple[str, ...], stdin: str
) -> None:
    name, *rest = argv
    result = run_cli(name, odsc_llm_local.url, *rest, "--config-file", config, input=stdin)
    assert result.returncode == 2
    assert "is empty" in _one_line(result.stderr)
    assert result.stdout == ""
    assert odsc_llm_local.requests == []


# ------------------------------------------------------------------- shapes --json


def test_shapes_json_lists_every_shape() -> None:
    from odsc_llm import shapes

    result = run_cli("shapes", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [s["name"] for s in data["shapes"]] == [s.name for s in shapes.list_shapes()]
    a10 = next(s for s in data["shapes"] if s["name"] == "VM.GPU.A10.1")
    assert a10["gpu_count"] == 1 and a10["total_gpu_memory_gb"] == 24
    assert "fits" not in a10 and "estimate" not in data


def test_shapes_json_with_params_says_which_fit() -> None:
    from odsc_llm import shapes

    result = run_cli("shapes", "--json", "--params", "7", "--shape", "VM.GPU3.1")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    fit = shapes.fits("VM.GPU3.1", 7)
    (row,) = data["shapes"]
    assert row["fits"] is fit.ok and row["notes"] == list(fit.notes)
    assert data["estimate"]["total_gb"] == pytest.approx(fit.estimate.total_gb)
    assert data["smallest_fit"] == ("VM.GPU3.1" if fit.ok else None)


# ---------------------------------------------------------- logs --since beyond 14 days


@pytest.mark.parametrize("since", ["30d", "2000-01-01T00:00Z"])
def test_logs_since_beyond_one_search_says_so(
    odsc_llm_local: LocalDeployment, config: str, since: str
) -> None:
    odsc_llm_local.add_log_line("INFO a record")
    argv = ["logs", odsc_llm_local.url, "--since", since, "--config-file", config]
    result = run_cli(*argv)
    assert result.returncode == 0, result.stderr
    assert "a record" in result.stdout
    line = _one_line(result.stderr)
    assert "14 days" in line and "--since" in line


def test_logs_since_within_one_search_is_quiet(
    odsc_llm_local: LocalDeployment, config: str
) -> None:
    argv = ["logs", odsc_llm_local.url, "--since", "13d", "--config-file", config]
    result = run_cli(*argv)
    assert (result.returncode, result.stderr) == (0, "")
