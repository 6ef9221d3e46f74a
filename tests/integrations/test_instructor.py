"""instructor over odsc_llm.openai_client: ``instructor.from_openai(openai_client(...))``.

instructor 1.17 pins ``jiter<0.15``, which openai 3.6x excludes, and needs openai 2: it
runs in CI's second environment once openai 2.x is installed there (marker ``openai2``,
tests/integrations/conftest.py), against the emulator of each deployment kind.
"""

from __future__ import annotations

import instructor
import pytest

from odsc_llm.integrations.openai import async_openai_client, openai_client

from ..support.deployments import DeploymentKind
from ..support.frameworks import City, assert_signed_and_routed, routes, streamed

pytestmark = pytest.mark.openai2

PROMPT = [{"role": "user", "content": "Name a big city and its population."}]


def test_structured_answer(deployment_kind: DeploymentKind) -> None:
    local = deployment_kind.local
    client = instructor.from_openai(
        openai_client(local.url, auth=local.auth, routing=deployment_kind.routing)  # type: ignore[arg-type]
    )
    city = client.chat.completions.create(model="odsc-llm", response_model=City, messages=PROMPT)  # type: ignore[arg-type]
    assert isinstance(city, City)
    body = local.requests[0].json()
    assert body["tools"][0]["function"]["name"] == "City"  # instructor's default: a tool call
    assert routes(local, deployment_kind.routing) == ["/v1/chat/completions"]
    assert_signed_and_routed(local, deployment_kind.routing)


def test_partial_stream(deployment_kind: DeploymentKind) -> None:
    local = deployment_kind.local
    client = instructor.from_openai(
        openai_client(local.url, auth=local.auth, routing=deployment_kind.routing)  # type: ignore[arg-type]
    )
    partials = list(
        client.chat.completions.create_partial(
            model="odsc-llm", response_model=City, messages=PROMPT
        )  # type: ignore[arg-type]
    )
    assert len(partials) > 1
    City.model_validate(partials[-1].model_dump())
    assert streamed(local)
    assert_signed_and_routed(local, deployment_kind.routing)


async def test_async_structured_answer(deployment_kind: DeploymentKind) -> None:
    local = deployment_kind.local
    client = instructor.from_openai(
        async_openai_client(local.url, auth=local.auth, routing=deployment_kind.routing)  # type: ignore[arg-type]
    )
    city = await client.chat.completions.create(
        model="odsc-llm",
        response_model=City,
        messages=PROMPT,  # type: ignore[arg-type]
    )
    assert isinstance(city, City)
    assert_signed_and_routed(local, deployment_kind.routing)
