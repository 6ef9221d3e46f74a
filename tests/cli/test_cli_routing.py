"""``--routing header|path`` on the commands that call a deployment, and the routing
``odsc-llm info`` says fits: the real command in a subprocess against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from odsc_llm.testing import LocalDeployment
from tests.support.cli import run_cli

# command, its arguments, the route it calls and the endpoint it calls it on
COMMANDS = [
    (["complete", "hi"], "/v1/completions", "predictWithResponseStream"),
    (["chat", "hi", "--no-stream"], "/v1/chat/completions", "predict"),
    (["embed", "hi"], "/v1/embeddings", "predict"),
]


class Emulator:
    def __init__(self, local: LocalDeployment, config: str) -> None:
        self.local, self.config = local, config

    def run(self, command: str, *rest: str) -> tuple[int, str, str]:
        result = run_cli(command, self.local.url, *rest, "--config-file", self.config)
        return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def module_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with LocalDeployment() as local:
        yield Emulator(local, str(local.write_oci_config(tmp_path_factory.mktemp("oci"))))


@pytest.fixture
def emu(module_emulator: Emulator) -> Iterator[Emulator]:
    plane = module_emulator.local.control_plane
    module_emulator.local.reset()
    yield module_emulator
    module_emulator.local.reset()
    plane.predict_api_specification, plane.custom_http_endpoints = None, []


@pytest.mark.parametrize(("args", "route", "endpoint"), COMMANDS)
@pytest.mark.parametrize("flag", [[], ["--routing", "header"]])
def test_header_routing_is_the_default(
    emu: Emulator, args: list[str], route: str, endpoint: str, flag: list[str]
) -> None:
    status, _, stderr = emu.run(*args, *flag)
    assert status == 0, stderr
    (request,) = emu.local.requests
    assert request.path == f"/{emu.local.ocid}/{endpoint}"
    assert request.headers["route"] == route


@pytest.mark.parametrize(("args", "route", "endpoint"), COMMANDS)
def test_path_routing_puts_the_route_in_the_url(
    emu: Emulator, args: list[str], route: str, endpoint: str
) -> None:
    # An MIE deployment (the emulator routes what its control plane reports): a classic
    # one answers the path form 404, below.
    emu.local.control_plane.predict_api_specification = "openai"
    status, _, stderr = emu.run(*args, "--routing", "path")
    assert status == 0, stderr
    (request,) = emu.local.requests
    assert request.path == f"/{emu.local.ocid}/{endpoint}{route}"
    assert "route" not in request.headers


def test_an_unknown_routing_is_a_usage_error(emu: Emulator) -> None:
    status, _, stderr = emu.run("complete", "hi", "--routing", "paths")
    assert status == 2
    assert "--routing" in stderr and "'header', 'path'" in stderr
    assert emu.local.requests == []


def test_info_has_no_routing_option(emu: Emulator) -> None:
    """``info`` asks the control plane, not the deployment: the flag would do nothing."""
    status, _, stderr = emu.run("info", "--routing", "path")
    assert status == 2 and "--routing" in stderr


def test_a_404_to_the_path_form_says_the_flag_that_fixes_it(emu: Emulator) -> None:
    # The emulator is a classic deployment: the path form gets the service's own 404.
    status, _, stderr = emu.run("embed", "hi", "--routing", "path", "--max-retries", "0")
    assert status == 1
    assert "(/predict/v1/embeddings: --routing path)" in stderr
    assert "Use --routing header (the default" in stderr
    assert "routing=" not in stderr  # CLI advice, not Python


def test_info_prints_the_routing_that_fits_a_classic_deployment(emu: Emulator) -> None:
    status, stdout, stderr = emu.run("info")
    assert status == 0, stderr
    assert "routing:" in stdout and stdout.split("routing:")[1].split()[0] == "header"
    assert "predict_api_specification" not in stdout  # unset: not printed
    status, stdout, stderr = emu.run("info", "--json")
    data = json.loads(stdout)
    assert data["routing"] == "header" and data["predict_api_specification"] is None
    assert data["custom_http_endpoints"] == []


def test_info_prints_the_endpoints_and_routing_of_an_mie_deployment(emu: Emulator) -> None:
    plane = emu.local.control_plane
    plane.predict_api_specification = "openai"
    plane.custom_http_endpoints = [("/v1/score", ["POST"]), ("/v1/items/{}", ["GET", "POST"])]
    status, stdout, stderr = emu.run("info")
    assert status == 0, stderr
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in stdout.splitlines()}
    assert lines["routing"] == "path"
    assert lines["predict_api_specification"] == "openai"
    assert lines["custom_http_endpoints"] == "/v1/score (POST), /v1/items/{} (GET, POST)"
    status, stdout, stderr = emu.run("info", "--json")
    data = json.loads(stdout)
    assert data["routing"] == "path"
    assert data["custom_http_endpoints"][1] == {
        "suffix": "/v1/items/{}",
        "methods": ["GET", "POST"],
    }
