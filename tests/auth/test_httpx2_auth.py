"""``odsc_llm.auth.for_httpx2``: OCIAuth as the ``auth=`` of httpx2 clients, one signing path.

httpx2 is the main environment's (openai >= 2 installs it); the openai 1.x environment
runs the integration tests only.
"""

from __future__ import annotations

import email.utils
import subprocess
import sys
import textwrap
import threading
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import AuthError
from odsc_llm.auth import OCIAuth, for_httpx2

httpx2 = pytest.importorskip("httpx2", reason="httpx2 is not installed (pip install httpx2)")

URL = "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.abc"
FIXED_DATE = "Thu, 05 Nov 2026 08:30:00 GMT"
SIGNED = ("authorization", "date", "x-content-sha256", "content-length", "content-type", "host")


@pytest.fixture
def api_signer(oci_key_pem: bytes, oci_ids: tuple[str, str, str]) -> Any:
    import oci

    tenancy, user, fingerprint = oci_ids
    return oci.signer.Signer(tenancy, user, fingerprint, None, private_key_content=oci_key_pem)


@pytest.fixture
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """oci takes ``date`` from email.utils.formatdate: fix it, so signatures compare."""
    monkeypatch.setattr(email.utils, "formatdate", lambda *a, **k: FIXED_DATE)


def _sent_with(lib: Any, auth: Any, asynchronous: bool = False) -> Any:
    """The request a ``lib`` client with ``auth`` sends for one POST (a mock answers)."""
    seen: list[Any] = []

    def handle(request: Any) -> Any:
        seen.append(request)
        return lib.Response(200, json={})

    body = b'{"model": "odsc-llm", "prompt": "hi"}'
    headers = {"content-type": "application/json", "route": "/v1/completions?x=1"}
    if not asynchronous:
        with lib.Client(transport=lib.MockTransport(handle), auth=auth) as client:
            client.post(URL + "/predict", content=body, headers=headers)
        return seen[0]

    async def ahandle(request: Any) -> Any:
        await request.aread()
        return handle(request)

    async def run() -> None:
        async with lib.AsyncClient(transport=lib.MockTransport(ahandle), auth=auth) as client:
            await client.post(URL + "/predict", content=body, headers=headers)

    import asyncio

    asyncio.run(run())
    return seen[0]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_the_httpx2_request_is_signed_exactly_as_on_httpx(
    fixed_date: None, api_signer: Any, asynchronous: bool
) -> None:
    auth = OCIAuth(api_signer)
    ours = _sent_with(httpx2, for_httpx2(auth), asynchronous)
    theirs = _sent_with(httpx, auth, asynchronous)
    assert isinstance(ours, httpx2.Request)
    assert ours.headers["authorization"].startswith("Signature ")
    for name in SIGNED:
        assert ours.headers.get(name) == theirs.headers.get(name), name
    assert ours.headers["route"] == "/v1/completions?x=1"
    assert ours.content == theirs.content


class _CountingRefresh:
    def __init__(self) -> None:
        self.threads: list[int] = []

    def __call__(self) -> None:
        self.threads.append(threading.get_ident())


def _401_then_200(seen: list[str]) -> Any:
    def handle(request: Any) -> Any:
        seen.append(request.headers["authorization"])
        return httpx2.Response(401 if len(seen) == 1 else 200, json={})

    return handle


def test_a_401_refreshes_once_and_resends_once(api_signer: Any) -> None:
    refresh, seen = _CountingRefresh(), []
    auth = for_httpx2(OCIAuth(api_signer, refresh=refresh))
    with httpx2.Client(transport=httpx2.MockTransport(_401_then_200(seen)), auth=auth) as client:
        assert client.post(URL + "/predict", json={"p": 1}).status_code == 200
    assert len(refresh.threads) == 1 and len(seen) == 2


async def test_async_401_refreshes_in_a_worker_thread(api_signer: Any) -> None:
    refresh, seen = _CountingRefresh(), []
    handle = _401_then_200(seen)

    async def ahandle(request: Any) -> Any:
        return handle(request)

    auth = for_httpx2(OCIAuth(api_signer, refresh=refresh))
    transport = httpx2.MockTransport(ahandle)
    async with httpx2.AsyncClient(transport=transport, auth=auth) as client:
        assert (await client.get(URL + "/predict")).status_code == 200
    assert len(seen) == 2
    assert refresh.threads and refresh.threads[0] != threading.get_ident()  # off the loop


def test_against_the_emulator_which_verifies_the_signature(emulator: Any) -> None:
    with httpx2.Client(auth=for_httpx2(emulator.auth)) as client:
        response = client.post(
            emulator.deployment.predict_url,
            json={"prompt": "hi", "max_tokens": 5},
            headers={"route": "/v1/completions"},
        )
    assert response.status_code == 200, response.text
    assert emulator.requests[0].status == 200


def test_resolving_an_httpx2_auth_gives_the_auth_it_wraps(api_signer: Any) -> None:
    auth = OCIAuth(api_signer)
    wrapped = for_httpx2(auth)
    assert isinstance(wrapped, httpx2.Auth)
    assert odsc_llm.auth.resolve(wrapped) is auth
    assert for_httpx2(wrapped).auth is auth  # never wrapped twice
    assert wrapped.signer is api_signer and "OCIAuth" in repr(wrapped)


def test_what_is_not_an_auth_is_refused() -> None:
    with pytest.raises(AuthError, match="from_signer"):
        for_httpx2("not an auth")


def test_without_httpx2_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, api_signer: Any
) -> None:
    monkeypatch.setitem(sys.modules, "httpx2", None)
    monkeypatch.delitem(sys.modules, "odsc_llm.auth._httpx2_auth", raising=False)
    with pytest.raises(ImportError, match=r"odsc-llm\[httpx2\]"):
        for_httpx2(OCIAuth(api_signer))


def test_httpx_users_never_import_httpx2() -> None:
    """httpx2 is optional: odsc_llm, its auth and the httpx flavor of the OpenAI adapter
    load without it (checked in a fresh interpreter: this one has it loaded)."""
    code = textwrap.dedent(
        """
        import sys, httpx, odsc_llm
        from odsc_llm.integrations.openai import async_http_client, http_client
        dep = "https://h.example/ocid1.datasciencemodeldeployment.oc1.iad.x"
        http_client(dep, httpx.Auth(), flavor="httpx")
        async_http_client(dep, httpx.Auth(), flavor="httpx")
        odsc_llm.auth.resolve(httpx.Auth())
        assert "httpx2" not in sys.modules, "httpx2 was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
