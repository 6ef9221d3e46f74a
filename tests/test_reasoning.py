"""Reasoning models: ``reasoning`` (vLLM >= 0.11) and ``reasoning_content`` read into one field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from odsc_llm.testing import LocalDeployment, reply_text
from odsc_llm.types import ChatCompletion, ChatCompletionChunk

from .support.aqua import MODES, call, client_of, collect

pytest.importorskip("uvicorn")

MESSAGES = [{"role": "user", "content": "why is the sky blue"}]
THINKING = "Thinking about: why is the sky blue"


@pytest.fixture(scope="module", params=["reasoning", "reasoning_content"])
def thinker(request: pytest.FixtureRequest) -> Iterator[LocalDeployment]:
    """A reasoning deployment sending its thinking in vLLM's current or older field."""
    with LocalDeployment(reasoning=request.param) as local:
        yield local


def test_both_field_names_parse_into_reasoning() -> None:
    for name in ("reasoning", "reasoning_content"):
        data = {"choices": [{"message": {"content": "a", name: "t"}}]}
        message = ChatCompletion.model_validate(data).choices[0].message
        assert message.reasoning == "t"
        assert message.reasoning_content == "t"  # the old name stays readable
        assert message.model_extra == {}
        delta = (
            ChatCompletionChunk.model_validate({"choices": [{"delta": {name: "piece"}}]})
            .choices[0]
            .delta
        )
        assert delta.reasoning == delta.reasoning_content == "piece"
    # Dumped under the current name.
    dumped = ChatCompletion.model_validate(
        {"choices": [{"message": {"reasoning_content": "t"}}]}
    ).to_dict()
    assert dumped["choices"][0]["message"] == {"reasoning": "t"}


@pytest.mark.parametrize("mode", MODES)
async def test_non_streamed_reasoning(thinker: LocalDeployment, mode: str) -> None:
    async with client_of(thinker, mode) as client:
        r = await call(client.chat.completions.create(messages=MESSAGES))
    assert r.choices[0].message.reasoning == THINKING
    assert r.choices[0].message.content == reply_text("why is the sky blue")
    # The thinking's tokens count as completion tokens.
    assert r.usage.completion_tokens == 7 + 7


@pytest.mark.parametrize("mode", MODES)
async def test_streamed_reasoning_joined_like_the_answer(
    thinker: LocalDeployment, mode: str
) -> None:
    async with client_of(thinker, mode) as client:
        full = await call(client.chat.completions.create(messages=MESSAGES))
        stream = await call(client.chat.completions.create(messages=MESSAGES, stream=True))
        final = await call(stream.get_final_completion())
    assert final.choices[0].message.reasoning == THINKING
    assert final.choices[0].message.content == full.choices[0].message.content
    assert final.choices[0].finish_reason == full.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("mode", MODES)
async def test_text_is_content_only_and_reasoning_text_is_the_thinking(
    thinker: LocalDeployment, mode: str
) -> None:
    async with client_of(thinker, mode) as client:
        stream = await call(client.chat.completions.create(messages=MESSAGES, stream=True))
        text = "".join(await collect(stream.text()))
        stream = await call(client.chat.completions.create(messages=MESSAGES, stream=True))
        thinking = await collect(stream.reasoning_text())
    assert text == reply_text("why is the sky blue")
    assert "".join(thinking) == THINKING
    assert len(thinking) == 7  # one token per chunk, like vLLM


def test_emulator_sends_the_configured_field(thinker: LocalDeployment) -> None:
    field = thinker._emulator.models.reasoning
    with thinker.client() as client:
        client.chat.completions.create(messages=MESSAGES, stream=True).until_done()
        stream = client.chat.completions.create(messages=MESSAGES, stream=True)
        raw = [c.choices[0].delta.model_dump(exclude_unset=True) for c in stream]
    thoughts = [d for d in raw if "reasoning" in d]
    assert thoughts and all(set(d) == {"reasoning"} for d in thoughts)
    # On the wire, the field had the configured name.
    assert field is not None
    with thinker.client() as client:
        response = client.chat.completions.with_raw_response.create(messages=MESSAGES)
    assert field in response.http_response.json()["choices"][0]["message"]


def test_non_reasoning_deployment_has_no_thinking(odsc_llm_local: LocalDeployment) -> None:
    with odsc_llm_local.client() as client:
        r = client.chat.completions.create(messages=MESSAGES)
        stream = client.chat.completions.create(messages=MESSAGES, stream=True)
        assert list(stream.reasoning_text()) == []
    assert r.choices[0].message.reasoning is None


def test_reasoning_option_is_checked() -> None:
    with pytest.raises(ValueError, match="reasoning must be"):
        LocalDeployment(reasoning="thoughts")


def test_a_server_sending_both_names_is_not_doubled() -> None:
    from odsc_llm._streaming._accumulate import accumulate

    # Some vLLM releases sent the thinking under both names at once.
    chunks = [
        ChatCompletionChunk.model_validate(
            {"choices": [{"delta": {"reasoning": p, "reasoning_content": p}}]}
        )
        for p in ("a", "b")
    ]
    assert chunks[0].choices[0].delta.reasoning == "a"
    assert accumulate(chunks).choices[0].message.reasoning == "ab"
