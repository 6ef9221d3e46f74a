"""Auth providers: config files, pass phrases, session tokens, default(), and AuthError.

Every error names the file, profile or key at fault and how to fix it; no secret (key,
pass phrase, token, Authorization header) appears in a message, repr or log line.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import AuthError
from odsc_llm import auth as oauth

URL = "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.abc"
PASS_PHRASE = "correct-horse-battery-staple-42"
WriteConfig = Callable[..., Path]


def _signed(auth: oauth.OCIAuth, method: str = "POST") -> httpx.Request:
    request = httpx.Request(method, URL + "/predict", json={"prompt": "hi"})
    flow = auth.sync_auth_flow(request)
    signed = next(flow)
    flow.close()
    return signed


def _key_id(request: httpx.Request) -> str:
    authz = request.headers["authorization"]
    return authz.split('keyId="', 1)[1].split('"', 1)[0]


@pytest.fixture
def oci_clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No OCI variables; HOME in tmp (so ~/.oci/config does not exist)."""
    for name in list(os.environ):
        if name.startswith(("OCI_", "KUBERNETES_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def oci_secrets(oci_key_pem: bytes) -> list[str]:
    """Strings that must never show up: key material and the pass phrase."""
    body_line = oci_key_pem.decode().splitlines()[1]
    return [PASS_PHRASE, body_line, "PRIVATE KEY-----\n"]


@pytest.fixture
def oci_encrypted_key_file(tmp_path: Path, oci_rsa_key: Any) -> Path:
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / "encrypted.pem"
    path.write_bytes(
        oci_rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(PASS_PHRASE.encode()),
        )
    )
    return path


def _session_profile(tmp_path: Path, key_file: Path, token: str) -> dict[str, str]:
    token_file = tmp_path / "token"
    token_file.write_text(token)
    return {
        "fingerprint": ":".join(["cd"] * 16),
        "key_file": str(key_file),
        "tenancy": "ocid1.tenancy.oc1..aaaa",
        "region": "us-ashburn-1",
        "security_token_file": str(token_file),
    }


def _assert_clean(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


# -- api_key -------------------------------------------------------------------------


def test_api_key_signs(
    oci_write_config: WriteConfig, oci_api_key_profile: dict[str, str], oci_ids: Any
) -> None:
    path = oci_write_config({"DEFAULT": oci_api_key_profile})
    auth = oauth.api_key(config_file=str(path))
    assert type(auth.signer).__name__ == "Signer"
    assert _key_id(_signed(auth)) == "/".join(oci_ids)
    assert "api_key" in repr(auth) and "DEFAULT" in repr(auth)
    assert auth.region == "us-ashburn-1"  # the profile's region, for control-plane calls


def test_api_key_other_profile_and_tilde(
    oci_write_config: WriteConfig,
    oci_api_key_profile: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    path = oci_write_config({"DEFAULT": {"region": "x"}, "work": oci_api_key_profile})
    monkeypatch.setenv("HOME", str(tmp_path))
    auth = oauth.api_key(profile="work", config_file="~/" + path.name)
    assert _key_id(_signed(auth)).endswith(oci_api_key_profile["fingerprint"])


def test_api_key_with_pass_phrase(
    oci_write_config: WriteConfig,
    oci_api_key_profile: dict[str, str],
    oci_encrypted_key_file: Path,
    oci_secrets: list[str],
) -> None:
    profile = {
        **oci_api_key_profile,
        "key_file": str(oci_encrypted_key_file),
        "pass_phrase": PASS_PHRASE,
    }
    auth = oauth.api_key(config_file=str(oci_write_config({"DEFAULT": profile})))
    request = _signed(auth)
    assert request.headers["authorization"].startswith("Signature ")
    _assert_clean(repr(auth) + repr(auth.signer), oci_secrets)


def test_wrong_pass_phrase(
    oci_write_config: WriteConfig,
    oci_api_key_profile: dict[str, str],
    oci_encrypted_key_file: Path,
    oci_secrets: list[str],
) -> None:
    wrong = "not-the-pass-phrase-9876"
    profile = {**oci_api_key_profile, "key_file": str(oci_encrypted_key_file), "pass_phrase": wrong}
    path = oci_write_config({"DEFAULT": profile})
    with pytest.raises(AuthError) as info:
        oauth.api_key(config_file=str(path))
    message = str(info.value)
    assert "pass_phrase" in message and str(oci_encrypted_key_file) in message
    assert "[DEFAULT]" in message and str(path) in message
    _assert_clean(message, [*oci_secrets, wrong])


def test_missing_pass_phrase(
    oci_write_config: WriteConfig,
    oci_api_key_profile: dict[str, str],
    oci_encrypted_key_file: Path,
) -> None:
    profile = {**oci_api_key_profile, "key_file": str(oci_encrypted_key_file)}
    path = oci_write_config({"DEFAULT": profile})
    with pytest.raises(AuthError, match=r"encrypted.*pass_phrase"):
        oauth.api_key(config_file=str(path))


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "config"
    with pytest.raises(AuthError) as info:
        oauth.api_key(config_file=str(missing))
    assert str(missing) in str(info.value)
    assert "oci setup config" in str(info.value)
    assert isinstance(info.value, odsc_llm.OdscLLMError)


def test_missing_profile(
    oci_write_config: WriteConfig, oci_api_key_profile: dict[str, str]
) -> None:
    path = oci_write_config({"DEFAULT": oci_api_key_profile, "other": {"region": "x"}})
    with pytest.raises(AuthError) as info:
        oauth.api_key(profile="prod", config_file=str(path))
    message = str(info.value)
    assert "[prod]" in message and str(path) in message
    assert "DEFAULT" in message and "other" in message  # lists what is there


def test_missing_default_profile(
    oci_write_config: WriteConfig, oci_api_key_profile: dict[str, str]
) -> None:
    path = oci_write_config({"work": oci_api_key_profile})
    with pytest.raises(AuthError, match=r"\[DEFAULT\] not found.*work"):
        oauth.api_key(config_file=str(path))


def test_missing_key_file(
    oci_write_config: WriteConfig, oci_api_key_profile: dict[str, str], tmp_path: Path
) -> None:
    gone = tmp_path / "gone.pem"
    path = oci_write_config({"DEFAULT": {**oci_api_key_profile, "key_file": str(gone)}})
    with pytest.raises(AuthError) as info:
        oauth.api_key(config_file=str(path))
    message = str(info.value)
    assert str(gone) in message and "key_file" in message and "[DEFAULT]" in message


def test_public_key_instead_of_private(
    oci_write_config: WriteConfig,
    oci_api_key_profile: dict[str, str],
    oci_rsa_key: Any,
    tmp_path: Path,
) -> None:
    from cryptography.hazmat.primitives import serialization

    public = tmp_path / "public.pem"
    public.write_bytes(
        oci_rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    path = oci_write_config({"DEFAULT": {**oci_api_key_profile, "key_file": str(public)}})
    with pytest.raises(AuthError, match="public key"):
        oauth.api_key(config_file=str(path))


def test_api_key_on_session_profile_points_to_security_token(
    oci_write_config: WriteConfig, oci_key_file: Path, tmp_path: Path, oci_make_token: Any
) -> None:
    path = oci_write_config({"s": _session_profile(tmp_path, oci_key_file, oci_make_token())})
    with pytest.raises(AuthError) as info:
        oauth.api_key(profile="s", config_file=str(path))
    assert "user" in str(info.value) and "security_token(profile='s')" in str(info.value)


# -- security_token ------------------------------------------------------------------


def test_security_token_signs_without_user(
    oci_write_config: WriteConfig, oci_key_file: Path, tmp_path: Path, oci_make_token: Any
) -> None:
    token = oci_make_token()
    path = oci_write_config({"DEFAULT": _session_profile(tmp_path, oci_key_file, token)})
    auth = oauth.security_token(config_file=str(path))
    assert _key_id(_signed(auth)) == f"ST${token}"
    assert token not in repr(auth) and token not in repr(auth.signer)
    assert isinstance(auth.signer, __import__("oci").auth.signers.SecurityTokenSigner)
    profile = _session_profile(tmp_path, oci_key_file, token)
    path = oci_write_config({"DEFAULT": {**profile, "region": "eu-frankfurt-1"}})
    assert oauth.security_token(config_file=str(path)).region == "eu-frankfurt-1"
    assert oauth.from_signer(auth.signer).region is None  # a bare signer knows no region
    assert oauth.OCIAuth(auth.signer, region="uk-london-1").region == "uk-london-1"


@pytest.mark.parametrize("content", [None, "", "  \n"], ids=["missing", "empty", "blank"])
def test_token_file_missing_or_empty(
    oci_write_config: WriteConfig,
    oci_key_file: Path,
    tmp_path: Path,
    oci_make_token: Any,
    content: str | None,
) -> None:
    profile = _session_profile(tmp_path, oci_key_file, oci_make_token())
    token_file = Path(profile["security_token_file"])
    if content is None:
        token_file.unlink()
    else:
        token_file.write_text(content)
    path = oci_write_config({"sess": profile})
    with pytest.raises(AuthError) as info:
        oauth.security_token(profile="sess", config_file=str(path))
    message = str(info.value)
    assert str(token_file) in message and "[sess]" in message
    assert "oci session refresh --profile sess" in message


def test_session_profile_without_token_file(
    oci_write_config: WriteConfig, oci_api_key_profile: dict[str, str]
) -> None:
    path = oci_write_config({"DEFAULT": oci_api_key_profile})
    with pytest.raises(AuthError, match=r"security_token_file.*api_key"):
        oauth.security_token(config_file=str(path))


def test_expired_token_fails_at_once(
    oci_write_config: WriteConfig, oci_key_file: Path, tmp_path: Path, oci_make_token: Any
) -> None:
    token = oci_make_token(exp_in=-120)
    path = oci_write_config({"dev": _session_profile(tmp_path, oci_key_file, token)})
    with pytest.raises(AuthError) as info:
        oauth.security_token(profile="dev", config_file=str(path))
    message = str(info.value)
    assert "expired" in message and "oci session refresh --profile dev" in message
    assert token not in message


def test_token_near_expiry_warns_once(
    oci_write_config: WriteConfig,
    oci_key_file: Path,
    tmp_path: Path,
    oci_make_token: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = oci_make_token(exp_in=120)
    path = oci_write_config({"dev": _session_profile(tmp_path, oci_key_file, token)})
    with caplog.at_level(logging.DEBUG):
        auth = oauth.security_token(profile="dev", config_file=str(path))
        for _ in range(3):
            auth.signer._next_check = 0.0  # look at the files on every send
            _signed(auth)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "expires in" in warnings[0].getMessage()
    assert "oci session refresh --profile dev" in warnings[0].getMessage()
    assert all(token not in r.getMessage() for r in caplog.records)


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_token_file_reloaded_when_changed(
    oci_write_config: WriteConfig, oci_key_file: Path, tmp_path: Path, oci_make_token: Any
) -> None:
    old, new = oci_make_token(), oci_make_token(exp_in=7200)
    profile = _session_profile(tmp_path, oci_key_file, old)
    auth = oauth.security_token(config_file=str(oci_write_config({"DEFAULT": profile})))
    assert _key_id(_signed(auth)) == f"ST${old}"
    _rewrite(Path(profile["security_token_file"]), new)
    # within the check interval: no stat, the old token is still used
    auth.signer._next_check = time.monotonic() + 60
    assert _key_id(_signed(auth)) == f"ST${old}"
    auth.signer._next_check = 0.0  # the interval has passed
    assert _key_id(_signed(auth)) == f"ST${new}"


def test_token_file_not_stat_on_every_request(
    oci_write_config: WriteConfig,
    oci_key_file: Path,
    tmp_path: Path,
    oci_make_token: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = _session_profile(tmp_path, oci_key_file, oci_make_token())
    auth = oauth.security_token(config_file=str(oci_write_config({"DEFAULT": profile})))
    stats: list[str] = []
    real_stat = os.stat

    def counting_stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        stats.append(str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting_stat)
    for _ in range(50):
        _signed(auth)
    assert len(stats) <= 4  # at most one look (token + key) per check interval


def test_token_expiring_during_use_raises(
    oci_write_config: WriteConfig, oci_key_file: Path, tmp_path: Path, oci_make_token: Any
) -> None:
    profile = _session_profile(tmp_path, oci_key_file, oci_make_token())
    auth = oauth.security_token(
        profile="DEFAULT", config_file=str(oci_write_config({"DEFAULT": profile}))
    )
    auth.signer._exp = time.time() - 1  # the token ran out meanwhile; file unchanged
    auth.signer._wake_at = auth.signer._exp
    with pytest.raises(AuthError, match=r"expired.*oci session refresh --profile DEFAULT"):
        _signed(auth)


def test_401_rereads_token_file(
    oci_write_config: WriteConfig, oci_key_file: Path, tmp_path: Path, oci_make_token: Any
) -> None:
    old, new = oci_make_token(), oci_make_token(exp_in=7000)
    profile = _session_profile(tmp_path, oci_key_file, old)
    token_file = Path(profile["security_token_file"])
    auth = oauth.security_token(config_file=str(oci_write_config({"DEFAULT": profile})))
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(_key_id(request))
        if len(seen) == 1:
            _rewrite(token_file, new)  # e.g. `oci session refresh` ran meanwhile
            return httpx.Response(401)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        assert client.get(URL).status_code == 200
    assert seen == [f"ST${old}", f"ST${new}"]


async def test_async_token_reload_off_the_event_loop(
    oci_write_config: WriteConfig,
    oci_key_file: Path,
    tmp_path: Path,
    oci_make_token: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = oci_make_token(), oci_make_token(exp_in=7000)
    profile = _session_profile(tmp_path, oci_key_file, old)
    auth = oauth.security_token(config_file=str(oci_write_config({"DEFAULT": profile})))
    loop_thread = threading.get_ident()
    stat_threads: list[int] = []
    real_stat = os.stat

    def spy_stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        stat_threads.append(threading.get_ident())
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", spy_stat)
    seen: list[str] = []
    transport = httpx.MockTransport(lambda r: (seen.append(_key_id(r)), httpx.Response(200))[1])
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        await client.get(URL)  # within the interval: signed on the loop, no stat
        assert stat_threads == []
        _rewrite(Path(profile["security_token_file"]), new)
        stat_threads.clear()  # _rewrite's own stat
        auth.signer._next_check = 0.0
        await client.get(URL)  # due: files looked at in a worker thread
    assert seen == [f"ST${old}", f"ST${new}"]
    assert stat_threads and loop_thread not in stat_threads


# -- resource principal, instance principal, OKE -------------------------------------


@pytest.fixture
def oci_rp_env(
    oci_clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    oci_key_file: Path,
    oci_make_token: Any,
) -> Path:
    """Resource principal v2.2 with the token and key in files (as in notebook sessions)."""
    rpst = tmp_path / "rpst"
    rpst.write_text(oci_make_token(res_tenant="ocid1.tenancy.oc1..t", res_compartment="c"))
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2")
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_RPST", str(rpst))
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", str(oci_key_file))
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_REGION", "us-ashburn-1")
    return rpst


def test_resource_principal(oci_rp_env: Path) -> None:
    auth = oauth.resource_principal()
    assert _key_id(_signed(auth)) == f"ST${oci_rp_env.read_text()}"
    assert "resource_principal" in repr(auth)


def test_resource_principal_401_refresh(oci_rp_env: Path, oci_make_token: Any) -> None:
    auth = oauth.resource_principal()
    new = oci_make_token(exp_in=5000, res_tenant="ocid1.tenancy.oc1..t", res_compartment="c")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(_key_id(request))
        if len(seen) == 1:
            oci_rp_env.write_text(new)
            return httpx.Response(401)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        assert client.post(URL + "/predict", json={}).status_code == 200
    assert seen[1] == f"ST${new}" and seen[0] != seen[1]


def test_resource_principal_error(oci_clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "9.9")
    with pytest.raises(AuthError, match=r"resource principal.*OCI_RESOURCE_PRINCIPAL_VERSION"):
        oauth.resource_principal()


def test_instance_principal_error_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    import oci

    def boom(**kwargs: Any) -> Any:
        raise ConnectionError("metadata service unreachable")

    monkeypatch.setattr(oci.auth.signers, "InstancePrincipalsSecurityTokenSigner", boom)
    with pytest.raises(AuthError, match=r"instance principal.*compute instances"):
        oauth.instance_principal()


def test_oke_workload_identity_error_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    import oci

    def boom(**kwargs: Any) -> Any:
        raise OSError("no service account token")

    monkeypatch.setattr(
        oci.auth.signers, "get_oke_workload_identity_resource_principal_signer", boom
    )
    with pytest.raises(AuthError, match="OKE workload identity"):
        oauth.oke_workload_identity()


# -- default() -----------------------------------------------------------------------


def test_default_resource_principal_first(
    oci_rp_env: Path,
    oci_write_config: WriteConfig,
    oci_api_key_profile: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OCI_CONFIG_FILE", str(oci_write_config({"DEFAULT": oci_api_key_profile})))
    assert "resource_principal" in repr(oauth.default())


def test_default_api_key_from_env_config(
    oci_clean_env: Path,
    oci_write_config: WriteConfig,
    oci_api_key_profile: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = oci_write_config({"DEFAULT": {"region": "x"}, "team": oci_api_key_profile})
    monkeypatch.setenv("OCI_CONFIG_FILE", str(path))
    monkeypatch.setenv("OCI_CLI_PROFILE", "team")
    auth = oauth.default()
    assert "api_key" in repr(auth) and "'team'" in repr(auth)


def test_default_security_token_from_home_config(
    oci_clean_env: Path, oci_key_file: Path, tmp_path: Path, oci_make_token: Any
) -> None:
    token = oci_make_token()
    oci_dir = oci_clean_env / ".oci"
    oci_dir.mkdir()
    profile = _session_profile(tmp_path, oci_key_file, token)
    (oci_dir / "config").write_text(
        "[DEFAULT]\n" + "".join(f"{k}={v}\n" for k, v in profile.items())
    )
    auth = oauth.default()
    assert "security_token" in repr(auth)
    assert _key_id(_signed(auth)) == f"ST${token}"


def test_default_nothing_found(oci_clean_env: Path) -> None:
    with pytest.raises(AuthError) as info:
        oauth.default()
    message = str(info.value)
    assert "OCI_RESOURCE_PRINCIPAL_VERSION" in message
    assert str(oci_clean_env / ".oci" / "config") in message
    assert "'DEFAULT'" in message
    assert "oci setup config" in message and "oci session authenticate" in message


def test_default_names_env_config_file(
    oci_clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OCI_CONFIG_FILE", str(tmp_path / "custom"))
    monkeypatch.setenv("OCI_CLI_PROFILE", "p1")
    with pytest.raises(AuthError, match=r"custom.*OCI_CONFIG_FILE.*'p1'"):
        oauth.default()


def test_default_broken_profile_says_why(
    oci_clean_env: Path, oci_write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCI_CONFIG_FILE", str(oci_write_config({"other": {"region": "x"}})))
    with pytest.raises(AuthError, match=r"\[DEFAULT\] not found"):
        oauth.default()


# -- no secrets anywhere -------------------------------------------------------------


def test_no_secret_in_messages_reprs_or_logs(
    oci_write_config: WriteConfig,
    oci_api_key_profile: dict[str, str],
    oci_encrypted_key_file: Path,
    oci_key_file: Path,
    oci_secrets: list[str],
    oci_make_token: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = oci_make_token(exp_in=100)
    secrets = [*oci_secrets, token, token.split(".")[1]]
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        good = oci_write_config(
            {
                "DEFAULT": {
                    **oci_api_key_profile,
                    "key_file": str(oci_encrypted_key_file),
                    "pass_phrase": PASS_PHRASE,
                },
                "bad": {
                    **oci_api_key_profile,
                    "key_file": str(oci_encrypted_key_file),
                    "pass_phrase": PASS_PHRASE + "x",
                },
                "sess": _session_profile(tmp_path, oci_key_file, token),
            }
        )
        for auth in (
            oauth.api_key(config_file=str(good)),
            oauth.security_token(profile="sess", config_file=str(good)),
        ):
            request = _signed(auth)
            texts += [repr(auth), str(auth), repr(auth.signer), repr(request)]
            secrets.append(request.headers["authorization"])
            secrets.append(request.headers["authorization"].split('signature="')[1])
            # a caller's Authorization is refused without echoing it
            bad_request = httpx.Request("GET", URL, headers={"authorization": "Bearer " + token})
            with pytest.raises(AuthError) as info:
                next(auth.sync_auth_flow(bad_request))
            texts.append(str(info.value))
        with pytest.raises(AuthError) as info:
            oauth.api_key(profile="bad", config_file=str(good))
        texts.append(str(info.value))
        expired = oci_make_token(exp_in=-5)
        secrets.append(expired)
        Path(tmp_path / "token").write_text(expired)
        with pytest.raises(AuthError) as info:
            oauth.security_token(profile="sess", config_file=str(good))
        texts.append(str(info.value))
    texts += [r.getMessage() for r in caplog.records]
    blob = "\n".join(texts)
    assert "api_key" in blob and "expired" in blob  # the texts are the real ones
    _assert_clean(blob, secrets)


async def test_resource_principal_async_refresh_off_loop(
    oci_rp_env: Path, oci_make_token: Any
) -> None:
    claims = {"res_tenant": "ocid1.tenancy.oc1..t", "res_compartment": "c"}
    signer = oauth.resource_principal().signer
    real = signer.get_security_token
    threads: list[int] = []

    def spy() -> Any:
        threads.append(threading.get_ident())
        return real()

    signer.get_security_token = spy
    auth = oauth.from_signer(signer)
    loop_thread = threading.get_ident()
    seen: list[str] = []
    transport = httpx.MockTransport(lambda r: (seen.append(_key_id(r)), httpx.Response(200))[1])
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        await client.get(URL)  # valid token: on the loop, no refresh check needed
        assert threads == []
        # the token in use now expires within 30 s; a fresh one waits in the file
        oci_rp_env.write_text(oci_make_token(exp_in=30, **claims))
        signer.refresh_security_token()
        fresh = oci_make_token(exp_in=3000, **claims)
        oci_rp_env.write_text(fresh)
        await client.get(URL)
    assert threads and loop_thread not in threads
    assert seen[-1] == f"ST${fresh}"


def test_token_file_briefly_gone_keeps_valid_token(
    oci_write_config: WriteConfig,
    oci_key_file: Path,
    tmp_path: Path,
    oci_make_token: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = oci_make_token()
    profile = _session_profile(tmp_path, oci_key_file, token)
    auth = oauth.security_token(config_file=str(oci_write_config({"DEFAULT": profile})))
    Path(profile["security_token_file"]).unlink()  # e.g. being rewritten
    auth.signer._next_check = 0.0
    with caplog.at_level(logging.WARNING):
        assert _key_id(_signed(auth)) == f"ST${token}"  # still valid: keep it
    assert "Keeping the current session token" in caplog.text and token not in caplog.text
    with pytest.raises(AuthError, match="does not exist"):
        auth.signer.refresh_security_token()  # after a 401: a missing file is an error


# -- a key the service does not know: the 401 names the key and fingerprint ----------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_wrong_fingerprint_401_names_the_key_and_fingerprint(
    emulator: Any, tmp_path: Path, mode: str
) -> None:
    config = emulator.write_oci_config(tmp_path)
    wrong = ":".join(["ee"] * 16)
    text = config.read_text()
    config.write_text(text.replace(f"fingerprint={emulator.fingerprint}", f"fingerprint={wrong}"))
    auth = oauth.api_key(config_file=str(config))
    if mode == "sync":
        with (
            emulator.client(auth=auth, max_retries=0) as client,
            pytest.raises(odsc_llm.AuthenticationError) as info,
        ):
            client.completions.create(prompt="x")
    else:
        async with emulator.async_client(auth=auth, max_retries=0) as aclient:
            with pytest.raises(odsc_llm.AuthenticationError) as info:
                await aclient.completions.create(prompt="x")
    hint = str(info.value).partition("Hint: ")[2]
    assert "fingerprint" in hint and "key_file" in hint, hint
    assert "clock" in hint and "session token" in hint  # the other causes stay named
