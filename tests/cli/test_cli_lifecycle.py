"""The lifecycle commands through a real ``python -m odsc_llm`` subprocess, against the
emulator's control plane (``--control-plane-endpoint``), signed with its config file."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from odsc_llm.testing import LocalDeployment
from tests.support.cli import ROOT, TIMEOUT, cli_env, run_cli


class Emu:
    def __init__(self, local: LocalDeployment, config: Path) -> None:
        self.local = local
        self.config = str(config)

    def env(self, **extra: str) -> dict[str, str]:
        return cli_env(OCI_REGION="us-ashburn-1",
                       ODSC_LLM_CONTROL_PLANE_ENDPOINT=self.local.base_url, **extra)  # fmt: skip

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--config-file", self.config, env=env or self.env())

    def deploy(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            "deploy", self.local.model_id, "--shape", "VM.GPU.A10.1",
            "--compartment", self.local.compartment_id, "--project", self.local.project_id,
            "--poll-interval", "0.05", *extra,
        )  # fmt: skip


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emu]:
    with LocalDeployment() as local:
        yield Emu(local, local.write_oci_config(tmp_path_factory.mktemp("oci")))


@pytest.fixture
def emu(shared: Emu) -> Iterator[Emu]:
    shared.local.reset()
    shared.local.lifecycle.transition_seconds = 0.1
    yield shared
    shared.local.reset()


def _ocid(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[0]


def test_deploy_wait_scale_deactivate_activate_delete(emu: Emu) -> None:
    result = emu.deploy("--name", "cli-life", "--params", "--max-model-len 8192", "--wait")
    assert result.returncode == 0, result.stderr
    first, last = result.stdout.splitlines()[0], result.stdout.splitlines()[-1]
    ocid = first.split()[0]
    assert first.split()[1] == "CREATING" and first.split()[2].endswith(ocid)
    assert last == f"{ocid} ACTIVE"
    assert "CREATING" in result.stderr or "ACTIVE" in result.stderr  # progress lines
    env = emu.local.lifecycle.deployments[ocid].body["modelDeploymentConfigurationDetails"][
        "environmentConfigurationDetails"
    ]["environmentVariables"]
    assert env["PARAMS"].endswith("--max-model-len 8192")

    url = f"{emu.local.base_url}/{ocid}"
    scaled = emu.run("scale", url, "--instances", "2", "--wait", "--poll-interval", "0.05")
    assert scaled.stdout.splitlines()[-1] == f"{ocid} ACTIVE", scaled.stderr
    assert (
        emu.local.lifecycle.deployments[ocid].body["modelDeploymentConfigurationDetails"][
            "modelConfigurationDetails"
        ]["scalingPolicy"]["instanceCount"]
        == 2
    )
    for command, state in (("deactivate", "INACTIVE"), ("activate", "ACTIVE")):
        done = emu.run(command, url, "--wait", "--poll-interval", "0.05")
        assert done.stdout.splitlines()[-1] == f"{ocid} {state}", done.stderr
    again = emu.run("activate", url)
    assert again.returncode == 1 and "already ACTIVE" in again.stderr
    deleted = emu.run("delete", ocid, "--yes", "--wait", "--poll-interval", "0.05")
    assert deleted.stdout.splitlines()[-1] == f"{ocid} DELETED", deleted.stderr


def test_delete_on_a_pipe_refuses_without_yes(emu: Emu) -> None:
    ocid = _ocid(emu.deploy())
    result = emu.run("delete", ocid)
    assert result.returncode == 2
    assert "--yes" in result.stderr and "Traceback" not in result.stderr
    assert emu.local.lifecycle.deployments[ocid].state == "CREATING"


def test_wait_resumes_and_deployments_lists(emu: Emu) -> None:
    ocid = _ocid(emu.deploy("--name", "listed"))
    waited = emu.run("wait", ocid, "--poll-interval", "0.05")
    assert waited.stdout.strip() == f"{ocid} ACTIVE", waited.stderr
    listed = emu.run("deployments", "--compartment", emu.local.compartment_id,
                     "--state", "ACTIVE", "--name", "listed")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["NAME", "STATE", "SHAPE", "INSTANCES", "CREATED", "URL"]
    assert row.split()[:4] == ["listed", "ACTIVE", "VM.GPU.A10.1", "1"]


def test_compartment_and_project_come_from_the_notebook_variables(emu: Emu) -> None:
    env = emu.env(NB_SESSION_COMPARTMENT_OCID=emu.local.compartment_id,
                  PROJECT_OCID=emu.local.project_id)  # fmt: skip
    result = emu.run("deploy", emu.local.model_id, "--shape", "VM.GPU.A10.1", env=env)
    assert result.returncode == 0, result.stderr
    missing = emu.run("deploy", emu.local.model_id, "--shape", "VM.GPU.A10.1")
    assert missing.returncode == 2
    assert "--compartment" in missing.stderr and "NB_SESSION_COMPARTMENT_OCID" in missing.stderr
    assert "PROJECT_COMPARTMENT_OCID" in missing.stderr


def test_deploy_refuses_a_model_that_does_not_fit(emu: Emu) -> None:
    result = emu.deploy("--params-billion", "70")
    assert result.returncode == 1
    assert "does not fit VM.GPU.A10.1" in result.stderr and "--force" not in result.stdout
    assert not emu.local.lifecycle.deployments


def test_containers_lists_the_families(emu: Emu) -> None:
    result = emu.run("containers")
    assert result.returncode == 0, result.stderr
    families = {line.split()[0] for line in result.stdout.splitlines()[1:]}
    assert families == {"odsc-vllm-serving", "odsc-llama-cpp-serving", "odsc-tei-serving"}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_waiting_not_the_operation(emu: Emu) -> None:
    emu.local.lifecycle.transition_seconds = 60.0
    args = ["deploy", emu.local.model_id, "--shape", "VM.GPU.A10.1", "--compartment",
            emu.local.compartment_id, "--project", emu.local.project_id, "--wait",
            "--poll-interval", "0.05", "--config-file", emu.config]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "odsc_llm", *args], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=emu.env(), cwd=ROOT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the OCID and URL come at once
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    ocid = first.split()[0]
    assert proc.returncode == 130
    assert f"odsc-llm wait {ocid}" in err and "Traceback" not in err
    assert emu.local.lifecycle.deployments[ocid].state == "CREATING"  # it goes on
