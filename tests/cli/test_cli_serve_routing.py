"""``serve-local --api-spec openai --custom-endpoint SUFFIX[:METHODS]`` (issue 23, point 2):
the served emulator routes what a classic or a Multiple Inference Endpoints deployment
routes, says which in its banner, and refuses bad values in one line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import odsc_llm
from odsc_llm._constants import ENV_DEPLOYMENT, MIE_MAX_CUSTOM_ENDPOINTS
from tests.cli.test_cli_serve import Served, posix_only, serve  # noqa: F401 (a fixture)
from tests.support.cli import ROOT, TIMEOUT, cli_env

NOT_ROUTED = "NotAuthorizedOrNotFound"


def _post(served: Served, path: str, body: object, **headers: str) -> httpx.Response:
    auth = odsc_llm.auth.api_key(config_file=served.export("OCI_CONFIG_FILE"))
    url = served.export(ENV_DEPLOYMENT) + path
    with httpx.Client(auth=auth, timeout=TIMEOUT) as http:
        return http.post(url, json=body, headers=headers)


def _get(served: Served, path: str) -> httpx.Response:
    auth = odsc_llm.auth.api_key(config_file=served.export("OCI_CONFIG_FILE"))
    url = served.export(ENV_DEPLOYMENT) + path
    with httpx.Client(auth=auth, timeout=TIMEOUT) as http:
        return http.get(url, headers={"content-length": "0"})


CHAT = {"messages": [{"role": "user", "content": "hi"}]}


@posix_only
def test_serve_local_is_a_classic_deployment_by_default(
    serve: Callable[..., Served],  # noqa: F811
    tmp_path: Path,
) -> None:
    served = serve("--config-dir", str(tmp_path))
    assert "classic" in served.banner and "routing='header'" in served.banner
    path_form = _post(served, "/predict/v1/chat/completions", CHAT)
    assert (path_form.status_code, path_form.json()["code"]) == (404, NOT_ROUTED)
    header_form = _post(served, "/predict", CHAT, route="/v1/chat/completions")
    assert header_form.json()["choices"][0]["message"]["content"] == "You said: hi"


@posix_only
def test_serve_local_api_spec_and_custom_endpoints_route_the_path_form(
    serve: Callable[..., Served],  # noqa: F811
    tmp_path: Path,
) -> None:
    served = serve(
        "--config-dir",
        str(tmp_path),
        "--api-spec",
        "openai",
        "--custom-endpoint",
        "/v1/items/{}:get,POST",
        "--custom-endpoint",
        "/custom/run",
    )
    banner = " ".join(served.banner.split())
    assert "Multiple Inference Endpoints" in banner and "routing='path'" in banner
    assert "/v1/items/{} (GET,POST)" in banner and "/custom/run (POST)" in banner
    chat = _post(served, "/predict/v1/chat/completions", CHAT)
    assert chat.json()["choices"][0]["message"]["content"] == "You said: hi"
    assert [m["id"] for m in _get(served, "/predict/v1/models").json()["data"]] == ["odsc-llm"]
    refused = _post(served, "/predict/v1/other", CHAT)
    assert (refused.status_code, refused.json()["code"]) == (404, NOT_ROUTED)
    # Custom endpoints are routed for their methods (the emulated model has no answer
    # there: the model server's own 405, not the service's refusal).
    assert _get(served, "/predict/v1/items/7").json() == {"detail": "Method Not Allowed"}
    assert _post(served, "/predict/custom/run", {"x": 1}).json() == {"detail": "Not Found"}
    assert _get(served, "/predict/custom/run").json()["code"] == NOT_ROUTED  # POST only


@pytest.mark.parametrize("module", ["odsc_llm", "odsc_llm.testing"])
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--api-spec", "anthropic"], ["--api-spec", "openai"]),
        (["--custom-endpoint", "/v1/items/{}:FETCH"], ["FETCH", "GET, POST"]),
        (["--custom-endpoint", "score"], ["starting with '/'"]),
        (["--custom-endpoint", "/a/{id}"], ["bad segment '{id}'"]),
        (
            [
                w
                for i in range(MIE_MAX_CUSTOM_ENDPOINTS + 1)
                for w in ("--custom-endpoint", f"/e{i}")
            ],
            [f"at most {MIE_MAX_CUSTOM_ENDPOINTS}"],
        ),
    ],
)
def test_bad_routing_options_are_one_line_usage_errors(
    module: str, args: list[str], words: list[str], tmp_path: Path
) -> None:
    command = ["serve-local"] if module == "odsc_llm" else []
    result = subprocess.run(
        [sys.executable, "-m", module, *command, "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=cli_env(),
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert all(word in line for word in words), line
