"""Shared test fixtures. Auth fixtures are prefixed ``oci_``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .support import clients
from .support.bounds import hang_up, silent
from .support.deployments import DEPLOYMENT_KINDS, DeploymentKind
from .support.hostile import HostileServer

# Instance principals ask the instance metadata service (169.254.169.254 by default): no
# test may send anything off this machine, so every test (and every subprocess it starts)
# finds it on a closed loopback port unless the test points it at a server of its own.
os.environ["OCI_METADATA_BASE_URL"] = "http://127.0.0.1:9/opc/v2"


@pytest.fixture(params=["sync", "async", "aiohttp"])
def sync(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Which client a ``Twin`` test runs on: ``Client`` (True), or ``AsyncClient`` (False)
    on httpx's transport or on aiohttp's (``transport="aiohttp"``). For tests against real
    sockets (a mock of httpx's transport never sees the aiohttp one)."""
    transport = "aiohttp" if request.param == "aiohttp" else "httpx"
    monkeypatch.setattr(clients, "ASYNC_TRANSPORT", transport)
    return bool(request.param == "sync")


@pytest.fixture(params=["httpx", "aiohttp"])
def async_transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The transport of an async-only test's ``AsyncClient`` (``transport=...``)."""
    monkeypatch.setattr(clients, "ASYNC_TRANSPORT", request.param)
    return str(request.param)


OCI_TENANCY = "ocid1.tenancy.oc1..aaaaaaaatenancy"
OCI_USER = "ocid1.user.oc1..aaaaaaaauser"
OCI_FINGERPRINT = ":".join(["ab"] * 16)


@pytest.fixture(scope="session")
def oci_rsa_key() -> object:
    """A throwaway RSA-2048 private key (cryptography object), made once per session."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def oci_key_pem(oci_rsa_key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return oci_rsa_key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def oci_key_file(tmp_path: Path, oci_key_pem: bytes) -> Path:
    path = tmp_path / "oci_api_key.pem"
    path.write_bytes(oci_key_pem)
    return path


def _make_token(exp_in: float = 3600.0, **claims: object) -> str:
    import jwt

    now = int(time.time())
    payload = {"iat": now, "exp": int(now + exp_in), "sub": "ocid1.user.oc1..x", **claims}
    return jwt.encode(payload, "not-a-real-secret-0123456789abcdef", algorithm="HS256")


@pytest.fixture
def oci_make_token() -> Callable[..., str]:
    """make(exp_in=3600.0, **claims): a session-token-shaped JWT expiring exp_in s from now."""
    return _make_token


@pytest.fixture
def oci_ids() -> tuple[str, str, str]:
    """(tenancy, user, fingerprint) used by the API-key fixtures."""
    return OCI_TENANCY, OCI_USER, OCI_FINGERPRINT


@pytest.fixture
def oci_write_config(tmp_path: Path) -> Callable[[dict[str, dict[str, str]]], Path]:
    """Write an OCI config file from {profile: {key: value}}; returns its path."""

    def write(profiles: dict[str, dict[str, str]], name: str = "config") -> Path:
        path = tmp_path / name
        lines: list[str] = []
        for profile, values in profiles.items():
            lines.append(f"[{profile}]")
            lines.extend(f"{k}={v}" for k, v in values.items())
            lines.append("")
        path.write_text("\n".join(lines))
        return path

    return write


@pytest.fixture
def oci_api_key_profile(oci_key_file: Path) -> dict[str, str]:
    return {
        "user": OCI_USER,
        "tenancy": OCI_TENANCY,
        "fingerprint": OCI_FINGERPRINT,
        "key_file": str(oci_key_file),
        "region": "us-ashburn-1",
    }


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Any:
    """The package's own ``odsc_llm_local`` fixture (reset before and after each test),
    skipped with the reason when the ``testing`` extra's server is not installed."""
    pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")
    return request.getfixturevalue("odsc_llm_local")


@pytest.fixture(scope="session")
def mie_emulator_session() -> Iterator[Any]:
    """One emulator of a deployment with Multiple Inference Endpoints for the session."""
    pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")
    from odsc_llm.testing import LocalDeployment

    with LocalDeployment(**DEPLOYMENT_KINDS["mie"]) as local:
        yield local


@pytest.fixture
def mie_emulator(mie_emulator_session: Any) -> Iterator[Any]:
    """An MIE emulator (``api_specification="openai"``: the path form ``/predict/v1/...``
    is routed too), reset before and after the test; ``emulator`` is a classic one."""
    mie_emulator_session.reset()
    yield mie_emulator_session
    mie_emulator_session.reset()


@pytest.fixture
def emulator_for(request: pytest.FixtureRequest) -> Callable[[str], Any]:
    """``emulator_for(routing)``: the emulator that routing fits, a classic deployment for
    ``"header"`` and an MIE one for ``"path"`` (each reset before and after)."""

    def pick(routing: str) -> Any:
        return request.getfixturevalue("emulator" if routing == "header" else "mie_emulator")

    return pick


@pytest.fixture(scope="session", params=list(DEPLOYMENT_KINDS))
def deployment_kind_session(request: pytest.FixtureRequest) -> Iterator[DeploymentKind]:
    """One emulator per deployment kind for the session (tests/support/deployments.py)."""
    pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")
    from odsc_llm.testing import LocalDeployment

    with LocalDeployment(**DEPLOYMENT_KINDS[request.param]) as local:
        yield DeploymentKind(request.param, local)


@pytest.fixture
def deployment_kind(deployment_kind_session: DeploymentKind) -> Iterator[DeploymentKind]:
    """The test runs once per kind: ``classic`` (routes by the ``route`` header only) and
    ``mie`` (also ``/predict/v1/...``); ``.local`` is the emulator (reset before and
    after), ``.routing`` the client routing that fits (``"header"`` / ``"path"``)."""
    local = deployment_kind_session.local
    local.reset()
    yield deployment_kind_session
    local.reset()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Under CI (``CI`` set, as `.ci/run` runs), a skipped test fails: what CI cannot
    run is a missing install step, not a test to pass over. On a developer's machine the
    tiers that need extra set-up (the real model, Ray) skip and say what to install."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """The same for a whole module skipped at collection (``importorskip`` at the top)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {reason}"


@pytest.fixture
def silent_server() -> Iterator[HostileServer]:
    """A loopback server that accepts and never answers (tests/support/bounds.py)."""
    with HostileServer(silent) as server:
        yield server


@pytest.fixture
def hang_up_server() -> Iterator[HostileServer]:
    """A loopback server that reads a request and hangs up without an answer."""
    with HostileServer(hang_up) as server:
        yield server
