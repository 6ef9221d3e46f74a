"""CLI messages speak CLI: the library's Python advice becomes flags and variables.

Each rewrite rule of ``odsc_llm.cli._messages`` is checked on the message the library
really produces (not a copy of it), so a reworded library message shows up here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from odsc_llm import Client, Deployment, auth
from odsc_llm._errors import OdscLLMError
from odsc_llm._status_errors import make_status_error
from odsc_llm.cli._messages import REWRITES, for_cli

# Python advice that must never reach a CLI user.
PYTHON_ADVICE = re.compile(
    r"\b(config_file|profile|region|port|allow_insecure|stream_endpoint|deployment|routing)="
    r"|odsc_llm\.auth\.|auth\.default\(\)|Deployment\.from_url|\bapi_key\(\)"
)
OCID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaaexample"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    # key_file points at an existing file: oci checks it exists when reading the profile.
    path.write_text(
        "[KEY]\nuser=ocid1.user.oc1..x\nfingerprint=aa\ntenancy=ocid1.tenancy.oc1..x\n"
        f"region=us-ashburn-1\nkey_file={path}\n"
        f"[SESS]\nsecurity_token_file={tmp_path / 'token'}\nkey_file={path}\n"
    )
    return path


def _busy_port() -> None:
    from odsc_llm.testing import LocalDeployment

    with LocalDeployment() as running, LocalDeployment(port=running.port):
        pass


def _status_409() -> None:
    request = httpx.Request("POST", f"https://example.com/{OCID}/predictWithResponseStream")
    body = {"code": "ExternalServerIncorrectState", "message": "not streaming"}
    raise make_status_error(httpx.Response(409, json=body, request=request))


def _status_404_path_form() -> None:
    request = httpx.Request("GET", f"https://example.com/{OCID}/predict/v1/models")
    body = {"code": "NotAuthorizedOrNotFound", "message": "not found"}
    raise make_status_error(httpx.Response(404, json=body, request=request))


def _triggers(config: Path, tmp_path: Path) -> dict[str, tuple[Callable[[], object], str]]:
    """name -> (a call that fails in the library, what the CLI message must say)."""
    missing = str(tmp_path / "missing")
    return {
        "no config file": (lambda: auth.api_key(config_file=missing), "pass --config-file"),
        "no such profile": (
            lambda: auth.api_key(profile="NOPE", config_file=str(config)),
            "Pass --profile (or set OCI_CLI_PROFILE)",
        ),
        "session profile as api key": (
            lambda: auth.api_key(profile="SESS", config_file=str(config)),
            "--auth security_token --profile SESS (or leave --auth out)",
        ),
        "api-key profile as session": (
            lambda: auth.security_token(profile="KEY", config_file=str(config)),
            "--auth api_key --profile KEY",
        ),
        "resource principal elsewhere": (
            auth.resource_principal,
            "--auth api_key or --auth security_token",
        ),
        "no credentials": (auth.default, "--auth instance_principal, in OKE --auth oke_"),
        "unknown region key": (
            lambda: Deployment.from_ocid("ocid1.datasciencemodeldeployment.oc1.zzz.abc"),
            "Pass --region REGION",
        ),
        "plain http": (
            lambda: Deployment.from_url(f"http://example.com/{OCID}"),
            "pass --allow-insecure",
        ),
        "unknown realm": (
            lambda: Deployment.from_ocid("ocid1.datasciencemodeldeployment.oc99.iad.abc"),
            "give the deployment's URL instead",
        ),
        "port in use": (_busy_port, "Pass --port 0"),
        "409 on the stream endpoint": (_status_409, "pass --stream-endpoint predict"),
        "404 on the path form": (_status_404_path_form, "Use --routing header (the default"),
        "no deployment": (
            lambda: Client(auth=httpx.BasicAuth("u", "p")),
            "-d/--deployment), or set ODSC_LLM_DEPLOYMENT",
        ),
    }


@pytest.fixture
def library_messages(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, tuple[str, str]]]:
    """name -> (the library's real message, what the CLI version must say)."""
    for name in ("OCI_RESOURCE_PRINCIPAL_VERSION", "OCI_CLI_PROFILE", "ODSC_LLM_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OCI_CONFIG_FILE", str(tmp_path / "missing"))
    found: dict[str, tuple[str, str]] = {}
    for name, (call, expected) in _triggers(config, tmp_path).items():
        with pytest.raises(OdscLLMError) as info:
            call()
        found[name] = (str(info.value), expected)
    yield found


def test_each_library_message_becomes_cli_advice(
    library_messages: dict[str, tuple[str, str]],
) -> None:
    for name, (message, expected) in library_messages.items():
        assert PYTHON_ADVICE.search(message), f"{name}: no Python advice left to rewrite"
        text = for_cli(message)
        assert expected in text, f"{name}: {text}"
        assert not PYTHON_ADVICE.search(text), f"{name}: {text}"
        assert "\n" not in text


def test_every_rewrite_rule_matches_a_real_message(
    library_messages: dict[str, tuple[str, str]],
) -> None:
    messages = [" ".join(message.split()) for message, _ in library_messages.values()]
    unused = [p.pattern for p, _ in REWRITES if not any(p.search(m) for m in messages)]
    assert unused == []


def test_rewrites_leave_other_messages_alone() -> None:
    text = "401 Unauthorized: the signature does not match (opc-request-id: r-1)"
    assert for_cli(text) == text
    assert for_cli("two\n  lines") == "two lines"
