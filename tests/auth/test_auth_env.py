"""Providers honour the environment as the oci CLI does; signer kinds come from a table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import AuthError
from odsc_llm.auth._signers import signing_plan
from odsc_llm.testing import LocalDeployment


@pytest.fixture
def config_dir(odsc_llm_local: LocalDeployment, tmp_path: Path) -> Path:
    return Path(odsc_llm_local.write_oci_config(tmp_path)).parent


def _works(local: LocalDeployment, auth: httpx.Auth) -> None:
    with odsc_llm.Client(local.deployment, auth=auth, max_retries=0) as client:
        assert client.completions.create(prompt="hi").choices[0].text == "You said: hi"


@pytest.mark.parametrize(
    ("provider", "profile"),
    [(odsc_llm.auth.api_key, "DEFAULT"), (odsc_llm.auth.security_token, "SESSION")],
)
def test_providers_read_oci_config_file_and_profile(
    odsc_llm_local: LocalDeployment,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    provider: Any,
    profile: str,
) -> None:
    """After serve-local's `export OCI_CONFIG_FILE=...`, no argument is needed."""
    monkeypatch.setenv("OCI_CONFIG_FILE", str(config_dir / "config"))
    monkeypatch.setenv("OCI_CLI_PROFILE", profile)
    auth = provider()
    assert str(config_dir / "config") in repr(auth) and repr(profile) in repr(auth)
    _works(odsc_llm_local, auth)


def test_arguments_win_over_the_environment(
    odsc_llm_local: LocalDeployment, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCI_CONFIG_FILE", str(config_dir / "missing"))
    monkeypatch.setenv("OCI_CLI_PROFILE", "NOPE")
    auth = odsc_llm.auth.api_key(profile="DEFAULT", config_file=str(config_dir / "config"))
    _works(odsc_llm_local, auth)


def test_environment_profile_that_does_not_exist_is_named(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCI_CONFIG_FILE", str(config_dir / "config"))
    monkeypatch.setenv("OCI_CLI_PROFILE", "NOPE")
    with pytest.raises(AuthError, match="NOPE"):
        odsc_llm.auth.api_key()


def test_config_location_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCI_CONFIG_FILE", raising=False)
    monkeypatch.delenv("OCI_CLI_PROFILE", raising=False)
    path, profile = odsc_llm.auth.config_location()
    assert (path, profile) == (os.path.expanduser("~/.oci/config"), "DEFAULT")
    monkeypatch.setenv("OCI_CONFIG_FILE", "~/elsewhere/cfg")
    monkeypatch.setenv("OCI_CLI_PROFILE", "P")
    assert odsc_llm.auth.config_location() == (os.path.expanduser("~/elsewhere/cfg"), "P")
    assert odsc_llm.auth.config_location("Q", "/x/c") == ("/x/c", "Q")


def test_from_config_picks_the_profiles_kind(
    odsc_llm_local: LocalDeployment, config_dir: Path
) -> None:
    config = str(config_dir / "config")
    assert "api_key" in repr(odsc_llm.auth.from_config("DEFAULT", config))
    session = odsc_llm.auth.from_config("SESSION", config)
    assert "security_token" in repr(session)
    _works(odsc_llm_local, session)


# -- the signer-kind table ------------------------------------------------------------------


class Signer:  # a user's class that happens to share oci's name
    def __call__(self, request: Any) -> None:
        pass


def test_signer_kinds_of_oci_signers(odsc_llm_local: LocalDeployment) -> None:
    import oci

    api = odsc_llm_local.signer()
    assert isinstance(api, oci.signer.Signer)
    assert signing_plan(api).io_due() is False  # a key in memory: CPU only
    assert signing_plan(odsc_llm_local.security_token_signer()).io_due() is False


def test_a_class_named_signer_is_not_taken_for_ocis() -> None:
    plan = signing_plan(Signer())
    assert plan.io_due() is True and plan.pre_sign is None  # unknown: off the event loop


def test_unlisted_subclass_of_a_key_signer_is_not_trusted(
    odsc_llm_local: LocalDeployment,
) -> None:
    import oci

    class Wrapped(oci.auth.signers.SecurityTokenSigner):  # type: ignore[misc]
        pass

    plain = odsc_llm_local.security_token_signer()
    wrapped = Wrapped(odsc_llm_local.security_token, plain.private_key)
    assert signing_plan(plain).io_due() is False
    assert signing_plan(wrapped).io_due() is True


def test_resource_principal_family_refreshes_before_signing() -> None:
    calls: list[str] = []

    class SomePrincipal:
        def get_security_token(self) -> str:
            calls.append("refresh")
            return "t"

        def __call__(self, request: Any) -> None:
            calls.append("sign")

    plan = signing_plan(SomePrincipal())
    assert plan.pre_sign is not None
    plan.pre_sign()
    assert calls == ["refresh"]
    assert plan.io_due() is True  # no readable token expiry: assume it may block
