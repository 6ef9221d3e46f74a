"""A deployment URL with an unknown path after the OCID (``.../predict/v1``) gets ONE
message, naming the suffix, from ``Deployment.from_url``, both clients and the CLI
(issue 21, point 11)."""

from __future__ import annotations

import pytest

from odsc_llm import AsyncClient, Client, Deployment, InvalidDeploymentError
from odsc_llm.cli._messages import for_cli
from tests.support.cli import OCID, URL, run_cli

SUFFIXES = ["/predict/v1", "/predit", "/v1/completions", "/predictWithResponseStream/x"]


def _message(url: str) -> str:
    with pytest.raises(InvalidDeploymentError) as info:
        Deployment.from_url(url)
    return str(info.value)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_from_url_names_the_suffix_not_a_missing_ocid(suffix: str) -> None:
    message = _message(URL + suffix)
    assert f"unknown path suffix `{suffix}`" in message
    assert "no deployment OCID" not in message
    assert "expected `/predict` or nothing" in message


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_client_gives_the_same_message(suffix: str) -> None:
    with pytest.raises(InvalidDeploymentError) as info:
        Client(URL + suffix, auth=None)
    assert str(info.value) == _message(URL + suffix)


@pytest.mark.parametrize("suffix", SUFFIXES)
async def test_async_client_gives_the_same_message(suffix: str) -> None:
    with pytest.raises(InvalidDeploymentError) as info:
        AsyncClient(URL + suffix, auth=None)
    assert str(info.value) == _message(URL + suffix)


@pytest.mark.parametrize("command", [("complete", "hi"), ("info", "--local-only")])
def test_the_cli_prints_the_library_message(command: tuple[str, ...]) -> None:
    name, *rest = command
    url = URL + "/predict/v1"
    result = run_cli(name, url, *rest)
    assert result.returncode == 2
    assert result.stderr == f"odsc-llm: error: {for_cli(_message(url))}\n"


def test_a_url_without_any_ocid_still_says_so() -> None:
    message = _message("https://modeldeployment.us-ashburn-1.oci.customer-oci.com/predict")
    assert "no deployment OCID" in message
    assert OCID not in message
