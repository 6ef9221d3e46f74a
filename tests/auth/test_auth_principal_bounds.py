"""Principals that cannot reach their metadata service fail in time, in one line (issue 21).

Instance principals read the instance metadata service (``OCI_METADATA_BASE_URL``
points oci's signer at 127.0.0.1 here); resource principals 2.1 fetch a token from
their token endpoint. Off OCI neither answers: the call ends at its ``timeout`` with
one line that says what is needed and what to do instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import odsc_llm
from odsc_llm.errors import AuthError, InvalidRequestError
from tests.support import bounds as support
from tests.support.bounds import SLACK, TIMEOUT, bounded
from tests.support.hostile import HostileServer

IP_LINE = re.compile(
    r"^instance principals need an OCI compute instance; the instance metadata service "
    r"http://127\.0\.0\.1:\d+/opc/v2: "
)
RP_LINE = re.compile(
    r"^resource principals need an OCI notebook session, job or function; "
    r"the token endpoint http://127\.0\.0\.1:\d+: "
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No resource principal; the metadata service on a closed loopback port unless a
    test says otherwise, so that nothing here can ever reach the real link-local one."""
    monkeypatch.delenv("OCI_RESOURCE_PRINCIPAL_VERSION", raising=False)
    port = support.closed_port()
    monkeypatch.setenv("OCI_METADATA_BASE_URL", f"http://127.0.0.1:{port}/opc/v2")
    return monkeypatch


def check(error: BaseException | None, line: re.Pattern[str], cause: str) -> str:
    assert isinstance(error, AuthError), repr(error)
    text = str(error)
    assert "\n" not in text and len(text) <= 300, text
    assert line.match(text), text
    assert cause in text, text
    return text


def test_instance_principal_without_metadata_answer_ends_at_its_timeout(
    clean_env: pytest.MonkeyPatch, silent_server: HostileServer
) -> None:
    clean_env.setenv("OCI_METADATA_BASE_URL", f"{silent_server.origin}/opc/v2")
    error, took = bounded(lambda: odsc_llm.auth.instance_principal(timeout=TIMEOUT, max_retries=0))
    text = check(error, IP_LINE, f"no answer within {TIMEOUT:g} s (timeout 2 s, 0 retries)")
    assert text.endswith("Off OCI compute instances use api_key() or security_token().")
    assert took < TIMEOUT + SLACK


def test_instance_principal_refused_is_one_line_by_default(
    clean_env: pytest.MonkeyPatch,
) -> None:
    error, took = bounded(odsc_llm.auth.instance_principal)
    check(error, IP_LINE, "connection refused (timeout 30 s, 2 retries)")
    assert took < 30 + SLACK


@pytest.mark.parametrize("retries", [0, 1])
def test_instance_principal_max_retries_drives_ocis_retry_strategy(
    clean_env: pytest.MonkeyPatch, hang_up_server: HostileServer, retries: int
) -> None:
    clean_env.setenv("OCI_METADATA_BASE_URL", f"{hang_up_server.origin}/opc/v2")
    error, _ = bounded(lambda: odsc_llm.auth.instance_principal(timeout=15, max_retries=retries))
    check(error, IP_LINE, "closed")
    assert hang_up_server.connections == retries + 1


def test_instance_principal_refuses_bad_bounds(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidRequestError, match="timeout"):
        odsc_llm.auth.instance_principal(timeout=-1)
    with pytest.raises(InvalidRequestError, match="max_retries"):
        odsc_llm.auth.instance_principal(max_retries=-1)


def test_resource_principal_without_token_endpoint_answer_ends_at_its_timeout(
    clean_env: pytest.MonkeyPatch, silent_server: HostileServer, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "rp.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    for name, value in {
        "OCI_RESOURCE_PRINCIPAL_VERSION": "2.1",
        "OCI_RESOURCE_PRINCIPAL_RPT_ENDPOINT": silent_server.origin,
        "OCI_RESOURCE_PRINCIPAL_RPST_ENDPOINT": silent_server.origin,
        "OCI_RESOURCE_PRINCIPAL_RESOURCE_ID": "ocid1.datasciencenotebooksession.oc1..x",
        "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(pem),
        "OCI_RESOURCE_PRINCIPAL_REGION": "us-ashburn-1",
    }.items():
        clean_env.setenv(name, value)
    error, took = bounded(lambda: odsc_llm.auth.resource_principal(timeout=TIMEOUT))
    check(error, RP_LINE, f"no answer within {TIMEOUT:g} s")
    assert took < TIMEOUT + SLACK
