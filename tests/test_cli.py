"""Tests of the ``odsc-llm`` command.

Argument handling is tested in-process; everything that talks to a deployment runs the
real command in a subprocess (``python -m odsc_llm``) against the local emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from odsc_llm import cli

ROOT = Path(__file__).resolve().parents[1]
OCID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaaexample"
URL = f"https://modeldeployment.us-ashburn-1.oci.customer-oci.com/{OCID}"
TIMEOUT = 30  # bound of every subprocess, in seconds


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODSC_LLM_", "OCI_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(
    *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m odsc_llm ARGS`` in a subprocess, bounded by TIMEOUT."""
    return subprocess.run(
        [sys.executable, "-m", "odsc_llm", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env if env is not None else _env(),
        cwd=ROOT,
    )


# ------------------------------------------------------------------ argument parsing


@pytest.fixture(autouse=True)
def _no_env_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli.ENV_DEPLOYMENT, raising=False)


def test_complete_parses_deployment_prompt_and_options() -> None:
    argv = "--max-tokens 5 --temperature 0.5 --top-p 0.9 --stop a --stop b --no-stream --json"
    args = cli.build_parser().parse_args(["complete", URL, "hello there", *argv.split()])
    assert (args.deployment, args.prompt) == (URL, "hello there")
    assert args.stream is False and args.json is True
    assert cli._generation_kwargs(args) == {
        "max_tokens": 5,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["a", "b"],
    }


def test_complete_defaults_stream_and_passes_only_given_options() -> None:
    args = cli.build_parser().parse_args(["complete", "just a prompt", "--stop", "x"])
    assert args.deployment is None and args.prompt == "just a prompt"
    assert args.stream is True and args.json is False
    assert cli._generation_kwargs(args) == {"stop": "x"}


def test_deployment_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli.ENV_DEPLOYMENT, URL)
    dep = cli._resolve_deployment(None)
    assert dep.ocid == OCID and dep.region == "us-ashburn-1"
    # An explicit deployment wins over the environment.
    other = URL.replace("us-ashburn-1", "eu-frankfurt-1")
    assert cli._resolve_deployment(other).region == "eu-frankfurt-1"


def test_missing_deployment_is_a_usage_error() -> None:
    with pytest.raises(cli.UsageError, match=cli.ENV_DEPLOYMENT):
        cli._resolve_deployment(None)


def test_chat_single_positional_is_the_deployment_or_the_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["chat", URL])
    assert cli._shift_positionals(args.deployment, [], may_shift=True) == (URL, [])
    args = parser.parse_args(["chat", "hello"])
    # Without $ODSC_LLM_DEPLOYMENT, a lone value is taken as the deployment (and fails).
    assert cli._shift_positionals(args.deployment, [], may_shift=True) == ("hello", [])
    monkeypatch.setenv(cli.ENV_DEPLOYMENT, URL)
    assert cli._shift_positionals(args.deployment, [], may_shift=True) == (None, ["hello"])
    args = parser.parse_args(["chat", OCID, "hi", "--system", "be brief"])
    assert (args.deployment, args.message, args.system) == (OCID, "hi", "be brief")


def test_embed_texts_with_and_without_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["embed", OCID, "a", "b"])
    assert cli._shift_positionals(args.deployment, args.texts, may_shift=True) == (
        OCID,
        ["a", "b"],
    )
    args = parser.parse_args(["embed", "only"])
    assert (args.deployment, args.texts) == (None, ["only"])
    monkeypatch.setenv(cli.ENV_DEPLOYMENT, URL)
    args = parser.parse_args(["embed", "a", "b"])
    assert cli._shift_positionals(args.deployment, args.texts, may_shift=True) == (
        None,
        ["a", "b"],
    )


def test_auth_choice_is_validated(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["complete", URL, "x", "--auth", "password"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_profile_with_principal_auth_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["complete", URL, "x", "--auth", "instance_principal", "--profile", "P"])
    assert info.value.code == 2
    assert "--profile" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "complete" in capsys.readouterr().err


def test_info_local_only_prints_parsed_deployment(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info", "--local-only", OCID + "  "]) == 0
    out = capsys.readouterr().out
    assert f"ocid:        {OCID}" in out
    assert "region:      us-ashburn-1" in out
    assert f"predict_url: {URL}/predict" in out
    assert f"stream_url:  {URL}/predictWithResponseStream" in out


def test_info_local_only_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info", "--local-only", "--json", URL + "/predict"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "ocid": OCID,
        "region": "us-ashburn-1",
        "endpoint": URL,
        "predict_url": URL + "/predict",
        "stream_url": URL + "/predictWithResponseStream",
    }


def test_bad_deployment_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info", "--local-only", "https://example.com/not-a-deployment"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("odsc-llm: error: ") and err.count("\n") == 1
    assert "no deployment OCID" in err


def test_report_error_appends_request_id_once(capsys: pytest.CaptureFixture[str]) -> None:
    from odsc_llm import StreamError

    cli._report_error(StreamError("stream cut\nbefore [DONE]", request_id="rid-1"))
    cli._report_error(StreamError("failed (opc-request-id: rid-2)", request_id="rid-2"))
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "odsc-llm: error: stream cut before [DONE] (opc-request-id: rid-1)",
        "odsc-llm: error: failed (opc-request-id: rid-2)",
    ]


def test_output_tracks_open_line() -> None:
    import io

    buffer = io.StringIO()
    out = cli._Output(buffer)
    out.end_line()
    out.write("tok")
    out.write("")
    out.end_line()
    out.end_line()
    out.line("x")
    assert buffer.getvalue() == "tok\nx\n"


def test_help_is_fast_and_does_not_import_oci() -> None:
    code = (
        "import sys; from odsc_llm import cli; cli.build_parser().format_help(); "
        "print(sorted(m for m in ('oci', 'odsc_llm._client', 'odsc_llm.testing') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_module_entry_point_help() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("complete", "chat", "embed", "info", "serve-local"):
        assert command in result.stdout


def test_subprocess_bad_deployment_exits_2() -> None:
    result = run_cli("complete", "ocid1.notadeployment.oc1.iad.x", "hello")
    assert result.returncode == 2
    assert "not a model deployment OCID" in result.stderr
    assert "Traceback" not in result.stderr


def test_subprocess_missing_deployment_exits_2() -> None:
    result = run_cli("complete", "hello")
    assert result.returncode == 2
    assert cli.ENV_DEPLOYMENT in result.stderr
