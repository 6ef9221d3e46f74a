"""The OpenAI adapter's two flavors of HTTP client: ``httpx`` and ``httpx2``.

``flavor=None`` (the default) is what the installed openai sends through; every
guarantee of the adapter (signing, routing, the 409 hook, the origin check, a length on
body-less requests) holds for both. Cases for httpx2 exist only where openai >= 2 (and so
httpx2) is installed: in the openai 1.x environment they are not generated.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import AuthError, InvalidRequestError
from odsc_llm.integrations.openai import (
    async_http_client,
    async_openai_client,
    base_url,
    http_client,
    openai_client,
)
from odsc_llm.integrations.openai._options import default_flavor
from tests.support.routing import assert_all_signed, openai_flavors, sent

openai = pytest.importorskip(
    "openai", reason="openai is not installed (pip install 'odsc-llm[openai]')"
)
pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")

from odsc_llm.testing import LocalDeployment  # noqa: E402

FLAVORS = openai_flavors()
DEP = "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.abc"


def _lib(flavor: str) -> Any:
    return sys.modules[flavor] if flavor in sys.modules else __import__(flavor)


def _native() -> str:
    major = int(openai.__version__.split(".", 1)[0])
    return "httpx2" if major >= 2 else "httpx"


def test_the_default_flavor_is_what_openai_sends_through(emulator: LocalDeployment) -> None:
    assert default_flavor() == _native()
    lib = _lib(_native())
    assert isinstance(http_client(DEP, emulator.auth), lib.Client)
    assert isinstance(async_http_client(DEP, emulator.auth), lib.AsyncClient)
    assert isinstance(openai_client(DEP, auth=emulator.auth)._client, lib.Client)
    assert isinstance(async_openai_client(DEP, auth=emulator.auth)._client, lib.AsyncClient)


def test_models_list_on_the_default_client(emulator: LocalDeployment) -> None:
    """The GET goes out with content-length: 0 (the emulator, like the service, answers a
    GET without a length 411) and with the route header."""
    client = odsc_llm.openai_client(emulator.deployment, auth=emulator.auth, max_retries=0)
    assert [m.id for m in client.models.list()] == ["odsc-llm"]
    assert sent(emulator) == [("/predict", "/v1/models")]
    assert emulator.requests[0].headers["content-length"] == "0"
    assert_all_signed(emulator)


async def test_async_models_list_on_the_default_client(emulator: LocalDeployment) -> None:
    async with odsc_llm.async_openai_client(emulator.deployment, auth=emulator.auth) as client:
        assert [m.id async for m in client.models.list()] == ["odsc-llm"]
    assert sent(emulator) == [("/predict", "/v1/models")]
    assert emulator.requests[0].headers["content-length"] == "0"
    assert_all_signed(emulator)


@pytest.mark.parametrize("routing", ["header", "path"])
@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_bare_get_has_a_length(
    emulator_for: Callable[[str], LocalDeployment], flavor: Any, routing: Any
) -> None:
    """Any helper's GET, not only the SDK's, is sent with content-length: 0."""
    emulator = emulator_for(routing)
    with http_client(emulator.deployment, emulator.auth, flavor=flavor, routing=routing) as c:
        response = c.get(base_url(emulator.deployment) + "/models")
    assert response.status_code == 200, response.text
    assert emulator.requests[0].headers["content-length"] == "0"


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_async_bare_get_has_a_length(emulator: LocalDeployment, flavor: Any) -> None:
    async with async_http_client(emulator.deployment, emulator.auth, flavor=flavor) as c:
        response = await c.get(base_url(emulator.deployment) + "/models")
    assert response.status_code == 200, response.text
    assert emulator.requests[0].headers["content-length"] == "0"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_409_is_not_retried_and_503_is(emulator: LocalDeployment, flavor: Any) -> None:
    http = http_client(emulator.deployment, emulator.auth, flavor=flavor)
    client = openai_client(emulator.deployment, emulator.auth, http_client=http, max_retries=2)
    emulator.faults.push(status=409)
    with pytest.raises(openai.ConflictError):
        client.completions.create(model="odsc-llm", prompt="hello")
    assert len(emulator.requests) == 1

    emulator.clear_requests()
    emulator.faults.push(status=503, retry_after=0)
    answer = client.completions.create(model="odsc-llm", prompt="hello")
    assert answer.choices[0].text == "You said: hello"
    assert [r.status for r in emulator.requests] == [503, 200]  # each attempt signed afresh


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_async_409_is_not_retried(emulator: LocalDeployment, flavor: Any) -> None:
    http = async_http_client(emulator.deployment, emulator.auth, flavor=flavor)
    async with async_openai_client(
        emulator.deployment, emulator.auth, http_client=http, max_retries=2
    ) as client:
        emulator.faults.push(status=409)
        with pytest.raises(openai.ConflictError):
            await client.completions.create(model="odsc-llm", prompt="hello")
    assert len(emulator.requests) == 1


@pytest.mark.parametrize("flavor", FLAVORS)
def test_never_signs_for_another_origin(flavor: Any) -> None:
    auth = odsc_llm.auth.from_signer(lambda request: request)
    with (
        http_client(DEP, auth, flavor=flavor) as client,
        pytest.raises(AuthError, match="Refusing to sign"),
    ):
        client.post("https://evil.example.com/v1/chat/completions", json={})


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_async_never_signs_for_another_origin(flavor: Any) -> None:
    auth = odsc_llm.auth.from_signer(lambda request: request)
    async with async_http_client(DEP, auth, flavor=flavor) as client:
        with pytest.raises(AuthError, match="Refusing to sign"):
            await client.get("https://evil.example.com/v1/models")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_redirects_are_refused_and_off(flavor: Any) -> None:
    auth = httpx.Auth()
    with pytest.raises(InvalidRequestError, match="follow_redirects"):
        http_client(DEP, auth, flavor=flavor, follow_redirects=True)
    assert http_client(DEP, auth, flavor=flavor).follow_redirects is False


def test_the_httpx2_pool_has_the_clients_limits() -> None:
    if "httpx2" not in FLAVORS:  # the openai 1.x environment: nothing to check
        assert default_flavor() == "httpx"
        return
    import httpx2

    from odsc_llm import _constants as C

    pool = http_client(DEP, httpx.Auth(), flavor="httpx2")._transport._pool  # type: ignore[union-attr]
    assert pool._max_connections == C.DEFAULT_LIMITS.max_connections
    own = async_http_client(
        DEP, httpx.Auth(), flavor="httpx2", limits=httpx2.Limits(max_connections=3)
    )
    assert own._transport._pool._max_connections == 3  # type: ignore[union-attr]


def test_bad_flavors_and_foreign_clients_are_refused() -> None:
    auth = httpx.Auth()
    for build in (http_client, async_http_client):
        with pytest.raises(InvalidRequestError, match="flavor must be 'httpx', 'httpx2' or None"):
            build(DEP, auth, flavor="requests")
    for flavor in FLAVORS:
        lib = _lib(flavor)
        with pytest.raises(InvalidRequestError, match="must come from"):
            openai_client(DEP, auth, http_client=lib.Client())
        with pytest.raises(InvalidRequestError, match="must come from"):
            async_openai_client(DEP, auth, http_client=lib.AsyncClient())
        with pytest.raises(InvalidRequestError, match="routing='path'"):
            openai_client(
                DEP, auth, http_client=http_client(DEP, auth, flavor=flavor, routing="path")
            )


def test_without_httpx2_the_flavor_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx2", None)
    monkeypatch.delitem(sys.modules, "odsc_llm.integrations.openai._httpx2", raising=False)
    monkeypatch.delattr(odsc_llm.integrations.openai, "_httpx2", raising=False)
    monkeypatch.delitem(sys.modules, "odsc_llm.auth._httpx2_auth", raising=False)
    for build in (http_client, async_http_client):
        with pytest.raises(ImportError, match=r"odsc-llm\[httpx2\]"):
            build(DEP, httpx.Auth(), flavor="httpx2")
