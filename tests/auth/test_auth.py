"""OCIAuth: golden signing tests against oci's own signers, re-signing, 401, async."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from odsc_llm import AuthError
from odsc_llm.auth import OCIAuth, from_signer

OCI_TENANCY = "ocid1.tenancy.oc1..aaaaaaaatenancy"
OCI_USER = "ocid1.user.oc1..aaaaaaaauser"
OCI_FINGERPRINT = ":".join(["ab"] * 16)


def oci_make_token(exp_in: float = 3600.0, **claims: object) -> str:
    import time

    import jwt

    now = int(time.time())
    payload = {"iat": now, "exp": int(now + exp_in), **claims}
    return jwt.encode(payload, "not-a-real-secret-0123456789abcdef", algorithm="HS256")


FIXED_DATE = "Thu, 05 Nov 2026 08:30:00 GMT"
SIGNED_HEADERS = (
    "date",
    "host",
    "content-type",
    "content-length",
    "x-content-sha256",
    "authorization",
)
URL = "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.abc"

# (method, url, body bytes or None, extra headers)
CASES: list[tuple[str, str, bytes | None, dict[str, str]]] = [
    (
        "POST",
        URL + "/predict",
        json.dumps({"model": "odsc-llm", "prompt": "hi", "max_tokens": 5}).encode(),
        {"content-type": "application/json"},
    ),
    (
        "POST",
        URL + "/predict",
        json.dumps({"prompt": "héllo wörld ✓ 日本語"}, ensure_ascii=False).encode("utf-8"),
        {"content-type": "application/json"},
    ),
    ("POST", URL + "/predict", b"", {}),
    ("POST", URL + "/predict", None, {}),
    ("GET", URL + "?limit=10&name=a b&tag=é", None, {}),
    ("GET", URL, None, {}),
    ("GET", "https://example.com:8443/x/y", None, {"accept": "application/json"}),
    ("PUT", URL + "/x", b'{"a":1}', {"content-type": "application/json", "route": "/v1/x"}),
]
IDS = ["post-json", "post-utf8", "post-empty", "post-none", "get-query", "get", "port", "put"]


@pytest.fixture
def oci_fixed_date(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """oci takes `date` from email.utils.formatdate: fix it."""
    monkeypatch.setattr(email.utils, "formatdate", lambda *a, **k: FIXED_DATE)
    yield


@pytest.fixture
def oci_api_signer(oci_key_pem: bytes) -> Any:
    import oci

    return oci.signer.Signer(
        OCI_TENANCY, OCI_USER, OCI_FINGERPRINT, None, private_key_content=oci_key_pem
    )


@pytest.fixture
def oci_token_signer(oci_rsa_key: Any) -> Any:
    import oci

    return oci.auth.signers.SecurityTokenSigner(oci_make_token(), oci_rsa_key)


def _sign_with_httpx(
    auth: OCIAuth, method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> httpx.Request:
    request = httpx.Request(method, url, content=body, headers=headers)
    flow = auth.sync_auth_flow(request)
    signed = next(flow)
    flow.close()
    return signed


def _sign_with_requests(
    signer: Any, method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> dict[str, str]:
    import requests

    prepared = requests.Request(method, url, data=body, headers=headers).prepare()
    signer(prepared)
    result = {k.lower(): v for k, v in prepared.headers.items()}
    # requests adds Host at send time, from the URL
    result.setdefault("host", requests.utils.urlparse(url).netloc)
    return result


def _compare(
    auth: OCIAuth, signer: Any, case: tuple[str, str, bytes | None, dict[str, str]]
) -> httpx.Request:
    method, url, body, headers = case
    ours = _sign_with_httpx(auth, method, url, body, headers)
    theirs = _sign_with_requests(signer, method, url, body, headers)
    for name in SIGNED_HEADERS:
        assert ours.headers.get(name) == theirs.get(name), name
    # and what httpx puts on the wire is what was signed: one value per header
    for name in SIGNED_HEADERS:
        assert len(ours.headers.get_list(name)) == (1 if name in theirs else 0), name
    return ours


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_api_key(oci_fixed_date: None, oci_api_signer: Any, case: Any) -> None:
    signed = _compare(OCIAuth(oci_api_signer), oci_api_signer, case)
    authz = signed.headers["authorization"]
    assert authz.startswith('Signature algorithm="rsa-sha256",headers="date (request-target) host')
    assert f'keyId="{OCI_TENANCY}/{OCI_USER}/{OCI_FINGERPRINT}"' in authz


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_security_token(oci_fixed_date: None, oci_token_signer: Any, case: Any) -> None:
    signed = _compare(OCIAuth(oci_token_signer), oci_token_signer, case)
    assert f'keyId="ST${oci_token_signer.api_key[3:]}"' in signed.headers["authorization"]


def test_body_signature_verifies(oci_api_signer: Any, oci_rsa_key: Any) -> None:
    """Belt and braces: the signature verifies with the public key over the sent headers."""
    import base64
    import re

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    request = _sign_with_httpx(OCIAuth(oci_api_signer), *CASES[1])
    authz = request.headers["authorization"]
    names = re.search(r'headers="([^"]+)"', authz).group(1).split()  # type: ignore[union-attr]
    signature = base64.b64decode(re.search(r'signature="([^"]+)"', authz).group(1))  # type: ignore[union-attr]
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): post {request.url.raw_path.decode()}")
        else:
            lines.append(f"{name}: {request.headers[name]}")
    oci_rsa_key.public_key().verify(
        signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert int(request.headers["content-length"]) == len(request.content)


def test_signer_attribute_and_from_signer(oci_api_signer: Any) -> None:
    auth = from_signer(oci_api_signer)
    assert isinstance(auth, OCIAuth) and isinstance(auth, httpx.Auth)
    assert auth.signer is oci_api_signer
    assert auth.requires_request_body is True
    assert from_signer(auth) is auth
    assert OCIAuth(auth).signer is oci_api_signer


def test_resign_on_each_send_fresh_date(
    oci_api_signer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dates = iter(["Thu, 05 Nov 2026 08:30:00 GMT", "Thu, 05 Nov 2026 08:30:07 GMT"])
    monkeypatch.setattr(email.utils, "formatdate", lambda *a, **k: next(dates))
    auth = OCIAuth(oci_api_signer)
    request = httpx.Request("POST", URL + "/predict", json={"prompt": "x"})
    seen = []
    for _ in range(2):  # the same Request object sent twice (a retry)
        flow = auth.sync_auth_flow(request)
        signed = next(flow)
        seen.append((signed.headers["date"], signed.headers["authorization"]))
        assert len(signed.headers.get_list("date")) == 1
        assert len(signed.headers.get_list("authorization")) == 1
        assert len(signed.headers.get_list("x-content-sha256")) == 1
    assert [d for d, _ in seen] == [
        "Thu, 05 Nov 2026 08:30:00 GMT",
        "Thu, 05 Nov 2026 08:30:07 GMT",
    ]
    assert seen[0][1] != seen[1][1]


def test_resign_through_client(oci_api_signer: Any) -> None:
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, json={"ok": True})

    with httpx.Client(
        transport=httpx.MockTransport(handler), auth=OCIAuth(oci_api_signer)
    ) as client:
        request = client.build_request("POST", URL + "/predict", json={"a": "é"})
        client.send(request)
        client.send(request)  # re-sent: signed again, not refused
    assert len(received) == 2
    assert all(r.headers["authorization"].startswith("Signature ") for r in received)


def test_refuses_caller_authorization(oci_api_signer: Any) -> None:
    request = httpx.Request("GET", URL, headers={"Authorization": "Bearer sk-secret-value"})
    with pytest.raises(AuthError, match="Authorization") as info:
        next(OCIAuth(oci_api_signer).sync_auth_flow(request))
    assert "sk-secret-value" not in str(info.value)


def test_refuses_client_default_authorization(oci_api_signer: Any) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    with (
        httpx.Client(
            transport=transport,
            auth=OCIAuth(oci_api_signer),
            headers={"authorization": "Basic eA=="},
        ) as client,
        pytest.raises(AuthError),
    ):
        client.get(URL)


def test_api_key_signer_no_refresh_on_401(oci_api_signer: Any) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, json={"code": "NotAuthenticated", "message": "no"})

    with httpx.Client(
        transport=httpx.MockTransport(handler), auth=OCIAuth(oci_api_signer)
    ) as client:
        assert client.get(URL).status_code == 401
    assert len(calls) == 1


class _CountingTokenSigner:
    """A token signer stand-in: wraps a SecurityTokenSigner, counts refreshes."""

    def __init__(self, key: Any) -> None:
        import oci

        self.refreshes = 0
        self.inner = oci.auth.signers.SecurityTokenSigner(oci_make_token(), key)
        self.key = key

    def refresh_security_token(self) -> None:
        import oci

        self.refreshes += 1
        self.inner = oci.auth.signers.SecurityTokenSigner(
            oci_make_token(n=self.refreshes), self.key
        )

    def __call__(self, request: Any) -> Any:
        return self.inner(request)


def _401_then_200() -> tuple[httpx.MockTransport, list[str]]:
    """A transport answering 401 then 200; records the Authorization of each send."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(401 if len(seen) == 1 else 200, json={})

    return httpx.MockTransport(handler), seen


def test_401_refreshes_once_and_resends_once(oci_rsa_key: Any) -> None:
    signer = _CountingTokenSigner(oci_rsa_key)
    transport, seen = _401_then_200()
    with httpx.Client(transport=transport, auth=OCIAuth(signer)) as client:
        response = client.post(URL + "/predict", json={"p": 1})
    assert response.status_code == 200
    assert signer.refreshes == 1
    assert len(seen) == 2
    assert seen[0] != seen[1]  # new token, signed afresh


def test_401_twice_gives_up_after_one_resend(oci_rsa_key: Any) -> None:
    signer = _CountingTokenSigner(oci_rsa_key)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=OCIAuth(signer)) as client:
        assert client.get(URL).status_code == 401
    assert (len(seen), signer.refreshes) == (2, 1)


def test_explicit_refresh_callable(oci_api_signer: Any) -> None:
    refreshed = []
    transport, seen = _401_then_200()
    auth = OCIAuth(oci_api_signer, refresh=lambda: refreshed.append(1))
    with httpx.Client(transport=transport, auth=auth) as client:
        assert client.get(URL).status_code == 200
    assert refreshed == [1] and len(seen) == 2


async def test_async_flow(oci_fixed_date: None, oci_api_signer: Any) -> None:
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, json={"ok": True})

    auth = OCIAuth(oci_api_signer)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        response = await client.post(CASES[1][1], content=CASES[1][2], headers=CASES[1][3])
    assert response.status_code == 200
    theirs = _sign_with_requests(oci_api_signer, *CASES[1])
    for name in SIGNED_HEADERS:
        assert received[0].headers.get(name) == theirs.get(name), name


async def test_async_401_refresh_in_thread(oci_rsa_key: Any) -> None:
    import threading

    main = threading.get_ident()
    signer = _CountingTokenSigner(oci_rsa_key)
    threads: list[int] = []
    original = signer.refresh_security_token

    def refresh() -> None:
        threads.append(threading.get_ident())
        original()

    signer.refresh_security_token = refresh  # type: ignore[method-assign]
    transport, seen = _401_then_200()
    async with httpx.AsyncClient(transport=transport, auth=OCIAuth(signer)) as client:
        response = await client.get(URL)
    assert response.status_code == 200 and len(seen) == 2
    assert threads and threads[0] != main  # never on the event loop


async def test_async_blocking_signer_runs_in_thread(oci_api_signer: Any) -> None:
    import threading

    main = threading.get_ident()
    where: list[int] = []

    def blocking_signer(request: Any) -> Any:
        where.append(threading.get_ident())
        return oci_api_signer(request)

    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    async with httpx.AsyncClient(transport=transport, auth=OCIAuth(blocking_signer)) as client:
        await client.get(URL)
    assert where and where[0] != main


async def test_async_plain_signer_stays_on_loop(oci_api_signer: Any) -> None:
    import threading

    main = threading.get_ident()
    where: list[int] = []

    class Spy:
        def __call__(self, request: Any) -> Any:
            where.append(threading.get_ident())
            return oci_api_signer(request)

    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    async with httpx.AsyncClient(
        transport=transport, auth=OCIAuth(Spy(), blocking=False)
    ) as client:
        await client.get(URL)
    assert where == [main]


def test_repr_is_safe(oci_token_signer: Any) -> None:
    token = oci_token_signer.api_key[3:]
    auth = OCIAuth(oci_token_signer)
    request = _sign_with_httpx(auth, "GET", URL, None, {})
    text = repr(auth) + str(auth)
    assert "SecurityTokenSigner" in text
    assert token not in text
    assert request.headers["authorization"] not in text


def test_not_a_signer() -> None:
    with pytest.raises(AuthError, match="oci signer"):
        OCIAuth("not a signer")


class _FakeFederationClient:
    """Stands in for oci's X509FederationClient (instance principals) without a network."""

    def __init__(self, key: Any) -> None:
        import types

        from oci.auth.security_token_container import SecurityTokenContainer

        self._container = SecurityTokenContainer
        self.session_key_supplier = types.SimpleNamespace(
            get_key_pair=lambda: {"private": key, "public": key.public_key()}
        )
        self.security_token = SecurityTokenContainer(None, oci_make_token())
        self.refresh_threads: list[int] = []

    def get_security_token(self) -> str:
        if not self.security_token.valid_with_jitter():
            return self.refresh_security_token()
        return str(self.security_token.security_token)

    def refresh_security_token(self) -> str:  # the blocking call to the auth service
        import threading

        self.refresh_threads.append(threading.get_ident())
        n = len(self.refresh_threads)
        self.security_token = self._container(None, oci_make_token(n=n))
        return str(self.security_token.security_token)


def _key_id(request: httpx.Request) -> str:
    return request.headers["authorization"].split('keyId="', 1)[1].split('"', 1)[0]


def test_federation_signer_401_refresh(oci_rsa_key: Any) -> None:
    import oci

    client = _FakeFederationClient(oci_rsa_key)
    signer = oci.auth.signers.X509FederationClientBasedSecurityTokenSigner(client)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(_key_id(request))
        return httpx.Response(401 if len(seen) == 1 else 200)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=from_signer(signer)) as c:
        assert c.get(URL).status_code == 200
    assert len(client.refresh_threads) == 1
    assert seen[0] != seen[1] and seen[1] == f"ST${client.security_token.security_token}"


async def test_federation_signer_async_refresh_off_loop(oci_rsa_key: Any) -> None:
    import threading

    import oci
    from oci.auth.security_token_container import SecurityTokenContainer

    loop_thread = threading.get_ident()
    client = _FakeFederationClient(oci_rsa_key)
    signer = oci.auth.signers.X509FederationClientBasedSecurityTokenSigner(client)
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    async with httpx.AsyncClient(transport=transport, auth=from_signer(signer)) as c:
        await c.get(URL)  # valid token: signed on the loop, no refresh
        assert client.refresh_threads == []
        # the token now expires within oci's 60 s jitter: the next signing refreshes
        client.security_token = SecurityTokenContainer(None, oci_make_token(exp_in=30))
        await c.get(URL)
    assert len(client.refresh_threads) == 1
    assert client.refresh_threads[0] != loop_thread


async def test_blocking_false_runs_pre_sign_refresh_on_loop(oci_rsa_key: Any) -> None:
    """blocking=False: the caller vouches nothing blocks; the token still gets refreshed."""
    import threading

    import oci
    from oci.auth.security_token_container import SecurityTokenContainer

    client = _FakeFederationClient(oci_rsa_key)
    client.security_token = SecurityTokenContainer(None, oci_make_token(exp_in=30))
    signer = oci.auth.signers.X509FederationClientBasedSecurityTokenSigner(client)
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    async with httpx.AsyncClient(transport=transport, auth=OCIAuth(signer, blocking=False)) as c:
        await c.get(URL)
    assert client.refresh_threads == [threading.get_ident()]


def test_streamed_body_is_signed_with_its_length(oci_fixed_date: None, oci_api_signer: Any) -> None:
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    auth = OCIAuth(oci_api_signer)
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.post(
            URL + "/predict",
            content=iter([b'{"a":', b"1}"]),
            headers={"content-type": "application/json"},
        )
    sent = received[0]
    assert "transfer-encoding" not in sent.headers
    theirs = _sign_with_requests(
        oci_api_signer, "POST", URL + "/predict", b'{"a":1}', {"content-type": "application/json"}
    )
    for name in SIGNED_HEADERS:
        assert sent.headers.get(name) == theirs.get(name), name


async def test_async_streamed_body_is_signed(oci_fixed_date: None, oci_api_signer: Any) -> None:
    received: list[httpx.Request] = []

    async def chunks() -> Any:
        yield b'{"a":'
        yield b"1}"

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    auth = OCIAuth(oci_api_signer)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        await client.post(
            URL + "/predict", content=chunks(), headers={"content-type": "application/json"}
        )
    theirs = _sign_with_requests(
        oci_api_signer, "POST", URL + "/predict", b'{"a":1}', {"content-type": "application/json"}
    )
    for name in SIGNED_HEADERS:
        assert received[0].headers.get(name) == theirs.get(name), name


@pytest.mark.parametrize("kind", ["api_key", "security_token"])
def test_golden_provider_signers(
    oci_fixed_date: None,
    kind: str,
    oci_write_config: Any,
    oci_api_key_profile: dict[str, str],
    tmp_path: Any,
) -> None:
    """The signers the providers build sign like oci's, through httpx and through requests."""
    from odsc_llm import auth as oauth

    if kind == "api_key":
        path = oci_write_config({"DEFAULT": oci_api_key_profile})
        auth = oauth.api_key(config_file=str(path))
    else:
        token_file = tmp_path / "token"
        token_file.write_text(oci_make_token())
        profile = {
            "key_file": oci_api_key_profile["key_file"],
            "security_token_file": str(token_file),
        }
        auth = oauth.security_token(config_file=str(oci_write_config({"DEFAULT": profile})))
    for case in CASES:
        _compare(auth, auth.signer, case)
