"""Tests of the ``odsc-llm`` command.

Argument handling is tested in-process; everything that talks to a deployment runs the
real command in a subprocess (``python -m odsc_llm``) against the local emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from odsc_llm import cli
from odsc_llm._constants import ENV_DEPLOYMENT
from odsc_llm.cli import _base, _connect, _deployments, _generate, _messages
from tests.support.cli import OCID, ROOT, TIMEOUT, URL, run_cli, run_python
from tests.support.cli import cli_env as _env

if TYPE_CHECKING:
    from odsc_llm.testing import LocalDeployment


# ------------------------------------------------------------------ argument parsing


@pytest.fixture(autouse=True)
def _no_env_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_DEPLOYMENT, raising=False)


def test_complete_parses_deployment_prompt_and_options() -> None:
    argv = "--max-tokens 5 --temperature 0.5 --top-p 0.9 --stop a --stop b --no-stream --json"
    args = cli.build_parser().parse_args(["complete", URL, "hello there", *argv.split()])
    assert (args.deployment, args.prompt) == (URL, "hello there")
    assert args.stream is False and args.json is True
    assert _generate.generation_kwargs(args) == {
        "max_tokens": 5,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["a", "b"],
    }


def test_complete_defaults_stream_and_passes_only_given_options() -> None:
    args = cli.build_parser().parse_args(["complete", "just a prompt", "--stop", "x"])
    assert args.deployment is None and args.prompt == "just a prompt"
    assert args.stream is True and args.json is False
    assert _generate.generation_kwargs(args) == {"stop": "x"}


def test_deployment_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DEPLOYMENT, URL)
    dep = _connect.resolve_deployment(None)
    assert dep.ocid == OCID and dep.region == "us-ashburn-1"
    # An explicit deployment wins over the environment.
    other = URL.replace("us-ashburn-1", "eu-frankfurt-1")
    assert _connect.resolve_deployment(other).region == "eu-frankfurt-1"


@pytest.mark.parametrize("command", ["complete", "embed"])
def test_deployment_without_text_is_a_usage_error(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([command, URL])
    assert info.value.code == 2
    assert "missing after the deployment" in capsys.readouterr().err


def test_missing_deployment_is_a_usage_error() -> None:
    with pytest.raises(_base.UsageError, match=ENV_DEPLOYMENT):
        _connect.resolve_deployment(None)


def test_chat_single_positional_is_the_deployment_or_the_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["chat", URL])
    assert _connect.split_positionals(args.deployment, []) == (URL, [])
    args = parser.parse_args(["chat", "hello"])
    # Without $ODSC_LLM_DEPLOYMENT, a lone value is taken as the deployment (and fails).
    assert _connect.split_positionals(args.deployment, []) == ("hello", [])
    monkeypatch.setenv(ENV_DEPLOYMENT, URL)
    assert _connect.split_positionals(args.deployment, []) == (None, ["hello"])
    args = parser.parse_args(["chat", OCID, "hi", "--system", "be brief"])
    assert (args.deployment, args.message, args.system) == (OCID, "hi", "be brief")


def test_embed_texts_with_and_without_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["embed", OCID, "a", "b"])
    assert _connect.split_positionals(args.deployment, args.texts) == (
        OCID,
        ["a", "b"],
    )
    args = parser.parse_args(["embed", "only"])
    assert (args.deployment, args.texts) == (None, ["only"])
    monkeypatch.setenv(ENV_DEPLOYMENT, URL)
    args = parser.parse_args(["embed", "a", "b"])
    assert _connect.split_positionals(args.deployment, args.texts) == (
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

    _messages.report_error(StreamError("stream cut\nbefore [DONE]", request_id="rid-1"))
    _messages.report_error(StreamError("failed (opc-request-id: rid-2)", request_id="rid-2"))
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "odsc-llm: error: stream cut before [DONE] (opc-request-id: rid-1)",
        "odsc-llm: error: failed (opc-request-id: rid-2)",
    ]


def test_output_tracks_open_line() -> None:
    import io

    buffer = io.StringIO()
    out = _base.Output(buffer)
    out.end_line()
    out.write("tok")
    out.write("")
    out.end_line()
    out.end_line()
    out.line("x")
    assert buffer.getvalue() == "tok\nx\n"


def test_meter_rates() -> None:
    ticks = iter([10.0, 10.5, 12.5])  # start, first token, end
    meter = _base.Meter(streamed=True, clock=lambda: next(ticks))
    meter.request_id = "rid"
    for text in ("a", "", "b", "c"):  # 3 tokens: 2 after the first, in 2 s
        meter.token(text)
    meter.done()
    assert meter.summary() == (
        "request id: rid; time to first token: 0.500 s; 3 tokens in 2.500 s (1.0 tokens/s)"
    )
    ticks = iter([0.0, 2.0])
    whole = _base.Meter(streamed=False, clock=lambda: next(ticks))
    whole.usage_tokens = 10
    whole.done()
    assert whole.summary() == "request id: -; 10 tokens in 2.000 s (5.0 tokens/s)"


def test_help_is_fast_and_does_not_import_oci() -> None:
    code = (
        "import sys; from odsc_llm import cli; cli.build_parser().format_help(); "
        "print(sorted(m for m in ('oci', 'odsc_llm._client', 'odsc_llm.testing') "
        "if m in sys.modules))"
    )
    result = run_python(code)
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
    assert ENV_DEPLOYMENT in result.stderr


# ------------------------------------------------------------- in-process, faked oci


def test_logs_passes_options_and_prints_records(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime, timedelta, timezone

    from odsc_llm import Deployment
    from odsc_llm.control_plane import LogRecord

    calls: list[dict[str, object]] = []
    sentinel = object()

    def fake_logs(self: Deployment, auth: object = None, **kwargs: object) -> list[LogRecord]:
        calls.append({"ocid": self.ocid, "auth": auth, **kwargs})
        when = datetime(2025, 1, 31, 12, 0, 5, tzinfo=timezone.utc)
        return [LogRecord(time=when, level="ERROR", message="CUDA out of memory")]

    monkeypatch.setattr(Deployment, "logs", fake_logs)
    monkeypatch.setattr(_connect, "make_auth", lambda args: sentinel)
    argv = ["logs", OCID, "--kind", "access", "--limit", "5", "--since", "30m"]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == "2025-01-31 12:00:05 ERROR    CUDA out of memory\n"
    assert calls == [
        {
            "ocid": OCID,
            "auth": sentinel,
            "kind": "access",
            "since": timedelta(minutes=30),
            "limit": 5,
        }
    ]
    assert cli.main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["message"] == "CUDA out of memory"


def test_logs_since_accepts_iso_time_and_rejects_nonsense(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from datetime import datetime, timezone

    assert _deployments.parse_since("2025-01-31T12:00Z") == datetime(
        2025, 1, 31, 12, tzinfo=timezone.utc
    )
    with pytest.raises(SystemExit) as info:
        cli.main(["logs", OCID, "--since", "yesterday"])
    assert info.value.code == 2
    assert "neither an age" in capsys.readouterr().err


def test_info_asks_the_control_plane(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from odsc_llm import Deployment
    from odsc_llm.control_plane import DeploymentInfo

    def fake_fetch(self: Deployment, auth: object = None) -> DeploymentInfo:
        return DeploymentInfo(
            ocid=self.ocid,
            region=self.region,
            state="ACTIVE",
            display_name="my-llm",
            shape="VM.GPU.A10.2",
            model_name="Mistral-7B-Instruct",
            endpoint=self.endpoint,
            predict_log_id="ocid1.log.oc1..p",
            freeform_tags={"OCI_AQUA": "active", "aqua_model_name": "Mistral-7B-Instruct"},
        )

    monkeypatch.setattr(Deployment, "fetch", fake_fetch)
    monkeypatch.setattr(_connect, "make_auth", lambda args: None)
    assert cli.main(["info", URL]) == 0
    out = capsys.readouterr().out
    for expected in ("state", "ACTIVE", "VM.GPU.A10.2", "Mistral-7B-Instruct", "p", URL):
        assert expected in out
    assert "stream_url" in out
    # Aligned on the keys printed (not on the unset ones left out).
    assert "freeform_tags:  OCI_AQUA=active, aqua_model_name=Mistral-7B-Instruct" in out
    assert "routing:        header" in out
    assert cli.main(["info", URL, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "ACTIVE" and data["predict_url"] == URL + "/predict"


def test_info_control_plane_error_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from odsc_llm import Deployment
    from odsc_llm._errors import ControlPlaneError

    def failing_fetch(self: Deployment, auth: object = None) -> None:
        raise ControlPlaneError(
            "GetModelDeployment failed: 404 NotAuthorizedOrNotFound (opc-request-id: r-9)",
            status_code=404,
            request_id="r-9",
        )

    monkeypatch.setattr(Deployment, "fetch", failing_fetch)
    monkeypatch.setattr(_connect, "make_auth", lambda args: None)
    assert cli.main(["info", OCID]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "404" in err and "r-9" in err


def test_shapes_table_and_recommendation(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["shapes", "--params", "7"]) == 0
    out = capsys.readouterr().out
    assert "VM.GPU.A10.1" in out and "FITS" in out
    assert "Smallest shape that fits: VM.GPU.A10.1" in out
    assert cli.main(["shapes"]) == 0
    assert "BM.GPU.H100.8" in capsys.readouterr().out


def test_shapes_bad_dtype_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["shapes", "--params", "7", "--dtype", "float3"])
    assert info.value.code == 2
    assert "float3" in capsys.readouterr().err


# ------------------------------------------------- subprocess against the local emulator


class Emulator:
    """A running LocalDeployment plus the OCI config file that signs for it."""

    def __init__(self, local: LocalDeployment, config: Path) -> None:
        self.local = local
        self.config = str(config)
        self.url = local.url

    def run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """The command against this emulator (URL and --config-file given explicitly)."""
        command, *rest = args
        return run_cli(command, self.url, *rest, "--config-file", self.config, input=input)

    def last_body(self) -> dict[str, object]:
        body: dict[str, object] = self.local.requests[-1].json()
        return body


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    from odsc_llm.testing import LocalDeployment

    with LocalDeployment() as local:
        config = local.write_oci_config(tmp_path_factory.mktemp("oci"))
        yield Emulator(local, config)


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    emulator.local.reset()
    yield emulator
    emulator.local.reset()


def test_complete_streams_the_answer(emu: Emulator) -> None:
    result = emu.run("complete", "hello there")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hello there\n"
    assert result.stderr == ""
    assert emu.local.requests[-1].path.endswith("/predictWithResponseStream")
    assert emu.last_body()["stream"] is True


def test_complete_no_stream_and_options(emu: Emulator) -> None:
    result = emu.run(
        "complete",
        "one two three four",
        "--no-stream",
        "--max-tokens",
        "2",
        "--temperature",
        "0.2",
        "--top-p",
        "0.5",
        "--stop",
        "zzz",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said:\n"
    assert emu.local.requests[-1].path.endswith("/predict")
    body = emu.last_body()
    assert body["max_tokens"] == 2 and body["temperature"] == 0.2 and body["top_p"] == 0.5
    assert body["stop"] == "zzz" and not body.get("stream")


def test_complete_prompt_from_stdin(emu: Emulator) -> None:
    result = emu.run("complete", "-", "--no-stream", input="from\nstdin\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: from stdin\n"


def test_complete_json_stream_is_json_lines(emu: Emulator) -> None:
    result = emu.run("complete", "a b", "--json")
    assert result.returncode == 0, result.stderr
    chunks = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(chunks) > 1
    assert "".join(c["choices"][0]["text"] for c in chunks) == "You said: a b"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_complete_json_no_stream_is_the_response(emu: Emulator) -> None:
    result = emu.run("complete", "a b", "--json", "--no-stream")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["object"] == "text_completion"
    assert data["choices"][0]["text"] == "You said: a b"
    assert data["usage"]["completion_tokens"] >= 1


def test_verbose_reports_request_id_and_speed(emu: Emulator) -> None:
    result = emu.run("complete", "x y z", "--verbose")
    assert result.returncode == 0, result.stderr
    request_id = emu.local.requests[-1].request_id
    assert request_id and f"request id: {request_id}" in result.stderr
    assert "time to first token:" in result.stderr and "tokens/s" in result.stderr
    assert result.stdout == "You said: x y z\n"


def test_deployment_and_credentials_from_environment(emu: Emulator) -> None:
    env = _env(**{ENV_DEPLOYMENT: emu.url, "OCI_CONFIG_FILE": emu.config})
    result = run_cli("complete", "from env", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: from env\n"


def test_security_token_profile(emu: Emulator) -> None:
    result = emu.run("complete", "session", "--profile", "SESSION")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: session\n"
    assert emu.local.requests[-1].headers["authorization"].count("ST$") == 1


def test_chat_one_shot_with_system_prompt(emu: Emulator) -> None:
    result = emu.run("chat", "hi there", "--system", "be brief")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hi there\n"
    assert emu.last_body()["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi there"},
    ]


def test_chat_interactive_keeps_the_conversation(emu: Emulator) -> None:
    result = emu.run("chat", input="first\n\nsecond\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: first\nYou said: second\n"
    assert result.stderr == ""  # no prompt when stdin is not a terminal
    assert emu.last_body()["messages"] == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "You said: first"},
        {"role": "user", "content": "second"},
    ]


def test_chat_interactive_reset_and_exit(emu: Emulator) -> None:
    result = emu.run("chat", "--no-stream", input="first\n/reset\nsecond\n/exit\nnever\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: first\nYou said: second\n"
    assert emu.last_body()["messages"] == [{"role": "user", "content": "second"}]


def test_embed_prints_vectors(emu: Emulator) -> None:
    from odsc_llm.testing import embed

    result = emu.run("embed", "alpha", "beta gamma")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [embed("alpha"), embed("beta gamma")]


def test_info_of_the_emulator_asks_its_control_plane(emu: Emulator) -> None:
    emu.local.state = "UPDATING"
    result = emu.run("info", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ocid"] == emu.local.ocid and data["endpoint"] == emu.url
    assert data["stream_url"] == emu.url + "/predictWithResponseStream"
    assert data["state"] == "UPDATING"  # from GET /20190101/modelDeployments/{id}
    assert any(r.path.startswith("/20190101/modelDeployments/") for r in emu.local.requests)


def test_logs_of_the_emulator_come_from_its_log_search(emu: Emulator) -> None:
    emu.local.add_log_line("ERROR torch.OutOfMemoryError: CUDA out of memory")
    result = emu.run("logs", "--kind", "predict", "--since", "1h", "--limit", "50")
    assert result.returncode == 0, result.stderr
    assert "CUDA out of memory" in result.stdout
    assert any(r.path.startswith("/20190909/search") for r in emu.local.requests)


def test_wrong_key_is_401_with_request_id(emu: Emulator, tmp_path: Path) -> None:
    from odsc_llm.testing import LocalDeployment

    other = LocalDeployment()  # not started: only its (different) key pair is used
    wrong_config = other.write_oci_config(tmp_path)
    result = run_cli("complete", emu.url, "hello", "--config-file", str(wrong_config))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    request_id = emu.local.requests[-1].request_id
    assert emu.local.requests[-1].status == 401 and request_id
    assert lines[0].startswith("odsc-llm: error: 401")
    assert f"opc-request-id: {request_id}" in lines[0]


def test_injected_status_error_exits_1(emu: Emulator) -> None:
    emu.local.faults.push(status=404, code="NotAuthorizedOrNotFound", message="nope")
    result = emu.run("chat", "hi", "--max-retries", "0")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("odsc-llm: error: 404") and "nope" in result.stderr
    assert str(emu.local.requests[-1].request_id) in result.stderr


def test_stream_cut_before_done_exits_1(emu: Emulator) -> None:
    emu.local.faults.push(cut_before_done=True)
    result = emu.run("complete", "one two three", "--max-retries", "0")
    assert result.returncode == 1
    assert result.stdout.startswith("You") and result.stdout.endswith("\n")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert str(emu.local.requests[-1].request_id) in result.stderr


def _read_until(proc: subprocess.Popen[bytes], marker: bytes, limit: float) -> bytes:
    """Read proc's stdout until ``marker`` shows up (or ``limit`` seconds pass)."""
    import select
    import time

    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + limit
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            seen += data
    return seen


def _popen(*args: str) -> subprocess.Popen[bytes]:
    import signal

    return subprocess.Popen(
        [sys.executable, "-m", "odsc_llm", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        cwd=ROOT,
        # A shell may start background jobs with SIGINT ignored; Python then never
        # raises KeyboardInterrupt. Restore the default so the test sends a real Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_stream_cleanly(emu: Emulator) -> None:
    import signal
    import time

    emu.local.token_delay = 0.1
    prompt = " ".join(f"w{i}" for i in range(300))  # ~30 s of tokens: cut short below
    proc = _popen("complete", emu.url, prompt, "--config-file", emu.config)
    try:
        seen = _read_until(proc, b"w0", limit=TIMEOUT)
        assert b"w0" in seen, "no token arrived"
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
    out = (seen + rest).decode()
    assert out.startswith("You said: w0") and out.endswith("\n")
    assert f"w{299}" not in out
    # The emulator sees the stream end soon after (bounded wait, no timing assertion).
    deadline = time.monotonic() + 10
    while emu.local.active_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emu.local.active_streams == 0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serve_local_prints_url_and_credentials(tmp_path: Path) -> None:
    import re
    import signal

    proc = _popen("serve-local", "--port", "0", "--config-dir", str(tmp_path))
    try:
        banner = _read_until(proc, b"Press Ctrl-C", limit=TIMEOUT).decode()
        url_match = re.search(r"URL:\s+(\S+)", banner)
        assert url_match, banner
        assert f"export OCI_CONFIG_FILE={tmp_path / 'config'}" in banner
        assert "odsc-llm complete" in banner
        env = _env(**{ENV_DEPLOYMENT: url_match.group(1)})
        env["OCI_CONFIG_FILE"] = str(tmp_path / "config")
        result = run_cli("complete", "through serve-local", "--no-stream", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "You said: through serve-local\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert b"Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX terminals")
def test_chat_prompts_on_stderr_only_for_a_terminal(emu: Emulator) -> None:
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "odsc_llm", "chat", emu.url, "--config-file", emu.config],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
            cwd=ROOT,
        )
        os.close(slave)
        slave = -1
        os.write(master, b"hi\n\x04")  # a line, then Ctrl-D (end of input)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0, err
    assert out == b"You said: hi\n"
    assert err.count(b"> ") == 2  # before the message, and before the end of input
