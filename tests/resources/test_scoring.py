"""``client.score``, ``client.classify``, ``client.pooling``: vLLM's pooling routes."""

from __future__ import annotations

from typing import Any

import pytest

import odsc_llm
from odsc_llm.testing import LocalDeployment, embed
from odsc_llm.types import ClassificationResponse, PoolingResponse, ScoreResponse

from ..support.aqua import MODES, call, client_of

pytest.importorskip("uvicorn")


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


@pytest.mark.parametrize("mode", MODES)
async def test_score_one_against_many_and_pair_by_pair(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        one = await call(client.score.create(text_1="cats sleep", text_2=["cats run", "dogs"]))
        pairs = await call(
            client.score.create(text_1=["a b", "c"], text_2=["a b", "d"], truncate_prompt_tokens=5)
        )
    assert isinstance(one, ScoreResponse) and one.request_id
    assert [(d.index, d.score) for d in one.data] == [(0, 0.5), (1, 0.0)]
    assert [d.score for d in pairs.data] == [1.0, 0.0]
    assert pairs.usage is not None and pairs.usage.prompt_tokens == 6
    request = local.requests[-1]
    assert request.headers["route"] == "/score" and request.path.endswith("/predict")
    assert request.json() == {
        "model": "odsc-llm",
        "text_1": ["a b", "c"],
        "text_2": ["a b", "d"],
        "truncate_prompt_tokens": 5,
    }


@pytest.mark.parametrize("mode", MODES)
async def test_classify(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        answer = await call(client.classify.create(input=["hi", "there"], use_activation=True))
    assert isinstance(answer, ClassificationResponse)
    assert [d.index for d in answer.data] == [0, 1]
    for item in answer.data:
        assert item.num_classes == 2 and len(item.probs) == 2
        assert sum(item.probs) == pytest.approx(1.0)
        assert item.label == ("positive" if item.probs[1] >= 0.5 else "negative")
    assert local.requests[-1].headers["route"] == "/classify"
    assert local.requests[-1].json()["use_activation"] is True


@pytest.mark.parametrize("mode", MODES)
async def test_pooling(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        answer = await call(client.pooling.create(input="hello", extra_body={"task": "embed"}))
    assert isinstance(answer, PoolingResponse)
    assert answer.data[0].data == pytest.approx(embed("hello"))
    assert local.requests[-1].headers["route"] == "/pooling"
    assert local.requests[-1].json() == {"model": "odsc-llm", "input": "hello", "task": "embed"}


@pytest.mark.parametrize("mode", MODES)
async def test_bad_arguments_are_typed_errors(local: LocalDeployment, mode: str) -> None:
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("score", {"text_1": 1, "text_2": "a"}, "text_1 must be a string"),
        ("score", {"text_1": "a", "text_2": []}, "text_2 must be a string"),
        ("score", {"text_1": ["a", "b"], "text_2": ["a", "b", "c"]}, "text_1 has 2 texts"),
        ("classify", {"input": [1]}, "input must be a string"),
        ("pooling", {"input": b"x"}, "input must be a string"),
    ]
    async with client_of(local, mode) as client:
        for resource, kwargs, message in bad:
            with pytest.raises(odsc_llm.InvalidRequestError, match=message):
                await call(getattr(client, resource).create(**kwargs))
        with pytest.raises(TypeError, match="extra_body"):
            await call(client.classify.create(input="a", top_n=3))
    assert local.requests == []
