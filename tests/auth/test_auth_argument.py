"""``auth=`` is checked where it is given: a provider function that was not called is
refused at once, with the call to write, in every place that takes ``auth=``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import odsc_llm
from odsc_llm import AuthError
from odsc_llm import control_plane as cp
from odsc_llm.integrations.openai import (
    async_http_client,
    async_openai_client,
    http_client,
    openai_client,
)

DEP = "https://md.example.com/ocid1.datasciencemodeldeployment.oc1.iad.x"


def _no_client(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the bad auth must be refused before a client is built")


def _my_auth() -> httpx.Auth:
    """A factory of the caller's own, left uncalled."""
    return httpx.Auth()


def _refused(match: str) -> Any:
    return pytest.raises(AuthError, match=match)


@pytest.mark.parametrize("cls", [odsc_llm.Client, odsc_llm.AsyncClient])
@pytest.mark.parametrize(
    "provider", ["api_key", "security_token", "default", "resource_principal", "from_config"]
)
def test_client_refuses_an_uncalled_provider(cls: Any, provider: str) -> None:
    fn = getattr(odsc_llm.auth, provider)
    with _refused(rf"call it: auth=odsc_llm\.auth\.{provider}\(\)"):
        cls(DEP, auth=fn)


@pytest.mark.parametrize("cls", [odsc_llm.Client, odsc_llm.AsyncClient])
def test_client_refuses_a_factory_of_the_callers_and_a_class(cls: Any) -> None:
    with _refused(r"call it: auth=_my_auth\(\)"):
        cls(DEP, auth=_my_auth)
    with _refused(r"an instance, not the class OCIAuth"):
        cls(DEP, auth=odsc_llm.auth.OCIAuth)


def test_the_message_says_what_was_passed() -> None:
    with pytest.raises(AuthError) as info:
        odsc_llm.Client(DEP, auth=odsc_llm.auth.api_key)
    message = str(info.value)
    assert "auth=odsc_llm.auth.api_key is the function" in message
    assert "_SigningRequest" not in message and "Profile" not in message


@pytest.mark.parametrize(
    "build",
    [openai_client, async_openai_client],
)
def test_openai_clients_refuse_an_uncalled_provider(build: Any) -> None:
    with _refused(r"call it: auth=odsc_llm\.auth\.api_key\(\)"):
        build(DEP, auth=odsc_llm.auth.api_key)


@pytest.mark.parametrize("build", [http_client, async_http_client])
def test_http_clients_refuse_an_uncalled_provider(build: Any) -> None:
    with _refused(r"call it: auth=odsc_llm\.auth\.instance_principal\(\)"):
        build(DEP, odsc_llm.auth.instance_principal)


def test_control_plane_refuses_an_uncalled_provider() -> None:
    with _refused(r"call it: auth=odsc_llm\.auth\.api_key\(\)"):
        cp.fetch(DEP, odsc_llm.auth.api_key, client_factory=_no_client)
    with _refused(r"call it: auth=odsc_llm\.auth\.api_key\(\)"):
        cp.list_deployments(
            "ocid1.compartment.oc1..c",
            odsc_llm.auth.api_key,
            region="us-ashburn-1",
            client_factory=_no_client,
        )


async def test_async_control_plane_refuses_an_uncalled_provider() -> None:
    with _refused(r"call it: auth=odsc_llm\.auth\.default\(\)"):
        await cp.afetch(DEP, odsc_llm.auth.default, client_factory=_no_client)


def test_a_raw_signer_function_is_still_accepted() -> None:
    """An oci signer may be a plain function of the request: that is no provider."""

    def raw_signer(request: Any) -> Any:
        return request

    client = odsc_llm.Client(DEP, auth=raw_signer)  # type: ignore[arg-type]
    assert isinstance(client.auth, odsc_llm.auth.OCIAuth)
    assert client.auth.signer is raw_signer
    client.close()
