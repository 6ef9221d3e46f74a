"""DSPy on a deployment: the recipe through the LiteLLM provider.

DSPy's own OpenAI transport sends a Bearer key and takes no signed client; its LiteLLM
engine reaches any LiteLLM provider, so after odsc_llm.integrations.litellm.register(),
``dspy.LM("odsc/<deployment>")`` sends through odsc_llm, every request signed. Runs in the
openai-3 environment (tests/integrations/conftest.py), against each deployment kind.
"""

from __future__ import annotations

from collections.abc import Iterator

import dspy
import litellm
import pytest

from odsc_llm.integrations import litellm as odsc_litellm

from ..support.deployments import DeploymentKind
from ..support.frameworks import assert_signed_and_routed, routes

pytestmark = pytest.mark.openai3


@pytest.fixture
def lm(deployment_kind: DeploymentKind) -> Iterator[dspy.LM]:
    saved = list(litellm.custom_provider_map)
    odsc_litellm.register(deployment_kind.local.auth, routing=deployment_kind.routing)  # type: ignore[arg-type]
    yield dspy.LM(f"odsc/{deployment_kind.local.url}", cache=False, num_retries=1)
    litellm.custom_provider_map = saved


def test_chat(lm: dspy.LM, deployment_kind: DeploymentKind) -> None:
    assert lm("hi there") == ["You said: hi there"]
    body = deployment_kind.local.requests[0].json()
    assert body["model"] == "odsc-llm"
    assert "max_retries" not in body  # DSPy's num_retries set the client, not the body
    assert routes(deployment_kind.local, deployment_kind.routing) == ["/v1/chat/completions"]
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


async def test_async_chat(lm: dspy.LM, deployment_kind: DeploymentKind) -> None:
    assert await lm.acall("hello") == ["You said: hello"]
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)


def test_predict_gets_a_structured_answer(lm: dspy.LM, deployment_kind: DeploymentKind) -> None:
    with dspy.context(lm=lm):
        prediction = dspy.Predict("question -> answer")(question="What is OCI?")
    assert isinstance(prediction.answer, str) and prediction.answer
    assert_signed_and_routed(deployment_kind.local, deployment_kind.routing)
