"""The CLI never shows a traceback, and its options say what they mean.

Real subprocesses against the ``odsc_llm_local`` emulator: bad bytes on stdin, a
closed stdout, a full disk, a reader that goes away; the deployment rule with
``$ODSC_LLM_DEPLOYMENT``; range-checked options; defaults read from the constants.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from odsc_llm import cli
from odsc_llm._constants import ENV_DEPLOYMENT
from tests.support.cli import OCID, ROOT, TIMEOUT, URL, cli_env, run_cli, run_python

if TYPE_CHECKING:
    from odsc_llm.testing import LocalDeployment

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file descriptors")


@pytest.fixture
def config(odsc_llm_local: LocalDeployment, tmp_path: Path) -> str:
    return str(odsc_llm_local.write_oci_config(tmp_path))


def run_bytes(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, **popen: object
) -> subprocess.CompletedProcess[bytes]:
    """``python -m odsc_llm ARGS`` with bytes on stdin, bounded by TIMEOUT."""
    options: dict[str, object] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    options.update(popen)
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "odsc_llm", *args],
        input=stdin,
        timeout=TIMEOUT,
        env=env if env is not None else cli_env(),
        cwd=ROOT,
        **options,
    )


def _one_error_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


# ------------------------------------------------------------------------ stdin


@pytest.mark.parametrize(
    ("command", "stdin", "said"),
    [
        (("complete", "-", "--no-stream"), b"caf\xe9 ok\n", "caf\ufffd ok"),
        (("complete", "-"), b"\xff\xfe bom?\n", "\ufffd\ufffd bom?"),
        (("chat",), b"bad \xc3\x28 byte\n", "bad \ufffd( byte"),
    ],
)
def test_invalid_utf8_on_stdin_becomes_replacement_characters(
    odsc_llm_local: LocalDeployment, config: str, command: tuple[str, ...], stdin: bytes, said: str
) -> None:
    name, *rest = command
    result = run_bytes(name, odsc_llm_local.url, *rest, "--config-file", config, stdin=stdin)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == f"You said: {said}\n"
    assert result.stderr == b""


def command_help(name: str) -> str:
    """``odsc-llm NAME --help``, on one line."""
    parser = cli.build_parser(name)
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(action.choices[name].format_help().split())


def test_help_says_how_stdin_is_decoded() -> None:
    for command in ("complete", "chat"):
        assert "bytes that are not UTF-8 become U+FFFD" in command_help(command)


# ------------------------------------------------------------------------ stdout


def _against(local: LocalDeployment, config: str, command: tuple[str, ...]) -> list[str]:
    """The command line of ``command``, aimed at ``local`` unless it needs no deployment."""
    name, *rest = command
    return [name] if name == "shapes" else [name, local.url, *rest, "--config-file", config]


@posix_only
@pytest.mark.parametrize("command", [("shapes",), ("complete", "hello"), ("info", "--json")])
def test_closed_stdout_is_one_line_and_exit_1(
    odsc_llm_local: LocalDeployment, config: str, command: tuple[str, ...]
) -> None:
    argv = _against(odsc_llm_local, config, command)
    result = run_bytes(*argv, stdout=None, preexec_fn=lambda: os.close(1))
    assert result.returncode == 1
    assert "standard output is closed" in _one_error_line(result.stderr)
    assert odsc_llm_local.requests == []  # nothing was asked before giving up


@posix_only
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "command", [("shapes",), ("complete", "hello"), ("complete", "x", "--no-stream")]
)
def test_full_disk_is_one_line_and_exit_1(
    odsc_llm_local: LocalDeployment, config: str, command: tuple[str, ...]
) -> None:
    argv = _against(odsc_llm_local, config, command)
    with open("/dev/full", "wb") as full:
        result = run_bytes(*argv, stdout=full)
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert "cannot write to standard output" in line and "No space left" in line


@posix_only
def test_reader_going_away_stays_quiet(
    odsc_llm_local: LocalDeployment, config: str, tmp_path: Path
) -> None:
    odsc_llm_local.token_delay = 0.01
    prompt = " ".join(f"word{i}" for i in range(200))  # far more than 10 bytes
    argv = [sys.executable, "-m", "odsc_llm", "complete", odsc_llm_local.url, prompt]
    errors = tmp_path / "stderr"
    command = f"{shlex.join([*argv, '--config-file', config])} 2>{errors} | head -c 10"
    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, timeout=TIMEOUT, env=cli_env(), cwd=ROOT
    )
    assert result.stdout == b"You said: "
    assert errors.read_bytes() == b""


# ------------------------------------------------------------------ the deployment rule


def test_url_looking_text_after_double_dash_is_text_when_the_variable_is_set(
    odsc_llm_local: LocalDeployment, config: str
) -> None:
    # Before '--' such a positional is the deployment (tests/cli/test_cli_positionals.py).
    env = cli_env(**{ENV_DEPLOYMENT: odsc_llm_local.url, "OCI_CONFIG_FILE": config})
    result = run_cli("chat", "--no-stream", "--", "https://example.com/ocid1.x", env=env)
    assert (result.returncode, result.stdout) == (0, "You said: https://example.com/ocid1.x\n")
    result = run_cli("complete", "--", OCID, env=env)
    assert (result.returncode, result.stdout) == (0, f"You said: {OCID}\n"), result.stderr
    result = run_cli("embed", "--", URL, "two", env=env)
    assert result.returncode == 0, result.stderr
    assert odsc_llm_local.requests[-1].json()["input"] == [URL, "two"]
    # Two texts for one prompt: a one-line usage error that says why.
    result = run_cli("complete", "--", URL, "hello", env=env)
    assert result.returncode == 2
    assert "every positional is text" in _one_error_line(result.stderr.encode())


def test_dash_d_wins_and_double_dash_ends_options(
    odsc_llm_local: LocalDeployment, config: str
) -> None:
    env = cli_env(**{ENV_DEPLOYMENT: URL, "OCI_CONFIG_FILE": config})  # not the emulator
    result = run_cli("complete", "-d", odsc_llm_local.url, "--", "-5 degrees?", env=env)
    assert (result.returncode, result.stdout) == (0, "You said: -5 degrees?\n"), result.stderr
    result = run_cli("info", "-d", odsc_llm_local.url, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert f'"endpoint": "{odsc_llm_local.url}"' in result.stdout


def test_help_documents_the_rule() -> None:
    assert "-d DEPLOYMENT" in command_help("chat")
    chat = run_cli("chat", "--help")
    assert "every positional is text" in " ".join(chat.stdout.split())
    assert "'--' ends the options" in " ".join(chat.stdout.split())


# ------------------------------------------------------------------ options and messages


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-tokens", "0"),
        ("--max-tokens", "two"),
        ("--temperature", "2.5"),
        ("--temperature", "-0.1"),
        ("--temperature", "nan"),
        ("--top-p", "0"),
        ("--top-p", "1.5"),
        ("--timeout", "0"),
        ("--max-retries", "-1"),
    ],
)
def test_generation_options_are_range_checked(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["complete", URL, "hi", f"{option}={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"argument {option}" in err and value in err


def test_range_limits_themselves_are_accepted() -> None:
    argv = ["complete", URL, "hi", "--max-tokens", "1", "--temperature", "2", "--top-p", "1"]
    args = cli.build_parser("complete").parse_args(argv)
    assert (args.max_tokens, args.temperature, args.top_p) == (1, 2.0, 1.0)
    args = cli.build_parser("complete").parse_args([*argv[:3], "--temperature", "0"])
    assert args.temperature == 0.0


@pytest.mark.parametrize("suffix", ["/predit", "/predict/extra", "/v1/completions"])
def test_path_typo_names_the_suffix(suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The library's own message (tests/test_url_suffix.py), exit 2 like argparse's errors.
    assert cli.main(["info", "--local-only", URL + suffix]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"unknown path suffix `{suffix}`" in err and "expected `/predict` or nothing" in err


@pytest.mark.parametrize("suffix", ["", "/", "/predict", "/predictWithResponseStream"])
def test_known_path_suffixes_are_accepted(suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info", "--local-only", "--json", URL + suffix]) == 0
    assert OCID in capsys.readouterr().out


def test_region_option_reaches_the_deployment(capsys: pytest.CaptureFixture[str]) -> None:
    unknown_key = "ocid1.datasciencemodeldeployment.oc1.zzz.abc"
    assert cli.main(["info", "--local-only", unknown_key]) == 2
    assert "--region" in capsys.readouterr().err
    assert cli.main(["info", "--local-only", "--region", "us-phoenix-1", unknown_key]) == 0
    assert "region:      us-phoenix-1" in capsys.readouterr().out


def test_missing_config_file_names_the_flag(tmp_path: Path) -> None:
    result = run_cli("complete", URL, "hi", "--config-file", str(tmp_path / "nope"))
    assert result.returncode == 1
    line = _one_error_line(result.stderr.encode())
    assert "pass --config-file / set OCI_CONFIG_FILE" in line and "config_file=" not in line


def test_busy_port_names_the_flag(odsc_llm_local: LocalDeployment, tmp_path: Path) -> None:
    result = run_cli(
        "serve-local", "--port", str(odsc_llm_local.port), "--config-dir", str(tmp_path)
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Pass --port 0 to pick a free one" in result.stderr.splitlines()[-1]


def test_serve_local_and_testing_main_share_one_parser() -> None:
    from odsc_llm.cli._serve import standalone_parser

    def options(parser: object) -> dict[str, object]:
        return {a.dest: (a.option_strings, a.default, a.help) for a in parser._actions}  # type: ignore[attr-defined]

    serve_local = cli.build_parser("serve-local").parse_args(["serve-local"]).parser
    assert options(standalone_parser("python -m odsc_llm.testing")) == options(serve_local)
    result = subprocess.run(
        [sys.executable, "-m", "odsc_llm.testing", "--port", "-1"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=cli_env(),
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "argument --port" in _one_error_line(result.stderr.encode())


def test_help_defaults_come_from_the_constants() -> None:
    from odsc_llm import _constants, shapes
    from odsc_llm.cli._deployments import format_age
    from odsc_llm.control_plane import DEFAULT_FOLLOW_INTERVAL, DEFAULT_LOG_LIMIT, DEFAULT_LOG_SINCE

    args = cli.build_parser("logs").parse_args(["logs", OCID])
    assert (args.since, args.limit, args.poll_interval) == (
        DEFAULT_LOG_SINCE,
        DEFAULT_LOG_LIMIT,
        DEFAULT_FOLLOW_INTERVAL,
    )
    logs_help = " ".join(args.parser.format_help().split())
    assert f"(default: {format_age(DEFAULT_LOG_SINCE)})" in logs_help
    assert format_age(DEFAULT_LOG_SINCE) == "1d" and "1h" not in logs_help
    args = cli.build_parser("complete").parse_args(["complete", "x"])
    assert args.stream_endpoint == _constants.DEFAULT_STREAM_ENDPOINT
    assert f"model name (default: {_constants.DEFAULT_MODEL})" in args.parser.format_help()
    args = cli.build_parser("shapes").parse_args(["shapes"])
    assert (args.dtype, args.context_tokens, args.gpu_memory_utilization) == (
        shapes.DEFAULT_DTYPE,
        shapes.DEFAULT_CONTEXT_TOKENS,
        shapes.DEFAULT_GPU_MEMORY_UTILIZATION,
    )
    args = cli.build_parser("serve-local").parse_args(["serve-local"])
    assert (args.host, args.port, args.token_delay) == (
        _constants.LOCAL_HOST,
        _constants.LOCAL_PORT,
        _constants.LOCAL_TOKEN_DELAY,
    )


def test_top_level_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom odsc_llm.cli import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('httpx', 'pydantic', 'oci') if m in sys.modules), "
        "file=sys.stderr)"
    )
    result = run_python(code)
    assert "shapes" in result.stdout and "serve-local" in result.stdout
    assert result.stderr.strip() == "[]"


def test_shapes_shows_the_notes_instead_of_a_bare_yes(capsys: pytest.CaptureFixture[str]) -> None:
    from odsc_llm import shapes

    assert cli.main(["shapes", "--params", "1"]) == 0
    out = capsys.readouterr().out
    v100 = next(line for line in out.splitlines() if line.startswith("VM.GPU3.1 "))
    assert not v100.rstrip().endswith("yes")
    for note in shapes.fits("VM.GPU3.1", 1).notes + shapes.fits("VM.GPU2.1", 1).notes:
        assert note in out
    assert cli.main(["shapes", "--shape", "VM.GPU2.1"]) == 0
    assert "below vLLM's minimum 7.0" in capsys.readouterr().out


def test_an_unexpected_error_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from odsc_llm.cli import _shapes

    def broken(args: object, out: object) -> int:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(_shapes, "_cmd_shapes", broken)
    assert cli.main(["shapes"]) == 1
    err = capsys.readouterr().err
    assert err == "odsc-llm: internal error, please report it: RuntimeError: boom second line\n"


def test_output_reports_a_failed_write_once() -> None:
    import io

    from odsc_llm.cli._base import Output, OutputError

    class Full(io.StringIO):
        def flush(self) -> None:
            raise OSError(28, "No space left on device")

    out = Output(Full())
    with pytest.raises(OutputError, match="No space left on device"):
        out.write("text")
    out.write("more")  # nothing raised again: a `finally` closing the line stays quiet
    out.end_line()


@pytest.mark.parametrize("since", ["0m", "-5m", "nanh", "1e400d"])
def test_logs_since_must_be_a_positive_age(since: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["logs", OCID, f"--since={since}"])
    assert info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
