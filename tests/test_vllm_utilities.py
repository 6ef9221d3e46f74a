"""vLLM's utility routes (tokenize, detokenize, rerank), range checks, gateway fidelity."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import odsc_llm
from odsc_llm import BadRequestError
from odsc_llm.testing import LocalDeployment, tokenize
from odsc_llm.types.vllm import DetokenizeResponse, RerankResponse, TokenizeResponse

from .support.aqua import MODES, call, client_of
from .test_models import _PlainUpstream

pytest.importorskip("uvicorn")

MESSAGES = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "what is a GPU"},
]


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


@pytest.mark.parametrize("mode", MODES)
async def test_tokenize_prompt_and_detokenize_round_trip(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        t = await call(client.tokenize(prompt="the quick brown fox"))
        again = await call(client.tokenize(prompt="the quick brown fox", return_token_strs=True))
        d = await call(client.detokenize(t.tokens))
    assert isinstance(t, TokenizeResponse) and isinstance(d, DetokenizeResponse)
    assert t.count == len(t.tokens) == len(tokenize("the quick brown fox")) == 4
    assert t.tokens == again.tokens  # stable ids
    assert again.token_strs == ["the", " quick", " brown", " fox"]
    assert t.max_model_len == 4096
    assert d.prompt == "the quick brown fox"
    first, second, third = local.requests[-3:]
    assert [r.headers["route"] for r in (first, second, third)] == [
        "/tokenize",
        "/tokenize",
        "/detokenize",
    ]
    assert first.path.endswith("/predict")
    assert first.json() == {"model": "odsc-llm", "prompt": "the quick brown fox"}
    assert third.json() == {"model": "odsc-llm", "tokens": t.tokens}


@pytest.mark.parametrize("mode", MODES)
async def test_tokenize_messages_counts_what_chat_counts(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        t = await call(client.tokenize(messages=MESSAGES))
        chat = await call(client.chat.completions.create(messages=MESSAGES))
    assert t.count == chat.usage.prompt_tokens


def test_tokenize_arguments_are_checked(local: LocalDeployment) -> None:
    with local.client() as client:
        with pytest.raises(odsc_llm.errors.InvalidRequestError, match="exactly one of"):
            client.tokenize()
        with pytest.raises(odsc_llm.errors.InvalidRequestError, match="exactly one of"):
            client.tokenize(prompt="a", messages=MESSAGES)
        with pytest.raises(odsc_llm.errors.InvalidRequestError, match="integer token ids"):
            client.detokenize(["a"])  # type: ignore[list-item]
        with pytest.raises(TypeError, match="extra_body"):
            client.tokenize(prompt="a", temperature=1)
        with pytest.raises(BadRequestError, match="out of vocabulary"):
            client.detokenize([12345])
    assert [r.headers["route"] for r in local.requests] == ["/detokenize"]


@pytest.mark.parametrize("mode", MODES)
async def test_rerank(local: LocalDeployment, mode: str) -> None:
    docs = ["dogs bark", "cats and dogs play", "the stock market", "Cats sleep"]
    async with client_of(local, mode) as client:
        r = await call(client.rerank.create("cats dogs", docs))
        top = await call(client.rerank.create("cats dogs", docs, top_n=2))
    assert isinstance(r, RerankResponse)
    assert [x.index for x in r.results] == [1, 0, 3, 2]
    assert [x.relevance_score for x in r.results] == [1.0, 0.5, 0.5, 0.0]
    assert r.results[0].document is not None and r.results[0].document.text == docs[1]
    assert [x.index for x in top.results] == [1, 0]
    assert r.usage is not None and r.usage.total_tokens > 0
    request = local.requests[-1]
    assert request.headers["route"] == "/v1/rerank"
    assert request.json() == {
        "model": "odsc-llm",
        "query": "cats dogs",
        "documents": docs,
        "top_n": 2,
    }


def test_rerank_arguments_are_checked(local: LocalDeployment) -> None:
    with local.client() as client:
        for args, kwargs in [(("q", []), {}), (("q", "doc"), {}), (("q", ["d"]), {"top_n": 0})]:
            with pytest.raises(odsc_llm.errors.InvalidRequestError):
                client.rerank.create(*args, **kwargs)
    assert local.requests == []


# ---- vLLM's range checks -----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"temperature": -0.5}, "temperature", "temperature must be non-negative"),
        ({"top_p": 1.5}, "top_p", "top_p must be in (0, 1]"),
        ({"top_p": 0}, "top_p", "top_p must be in (0, 1]"),
        ({"n": 0}, "n", "n must be at least 1"),
    ],
)
async def test_out_of_range_parameters_are_vllms_400(
    local: LocalDeployment, mode: str, params: dict[str, Any], param: str, message: str
) -> None:
    async with client_of(local, mode) as client:
        with pytest.raises(BadRequestError) as info:
            await call(client.chat.completions.create(messages=MESSAGES, **params))
        with pytest.raises(BadRequestError):
            await call(client.completions.create(prompt="x", **params))
    assert message in info.value.message
    assert info.value.body == {
        "error": {
            "message": info.value.body["error"]["message"],  # type: ignore[index]
            "type": "BadRequestError",
            "param": param,
            "code": 400,
        }
    }
    assert message in info.value.body["error"]["message"]  # type: ignore[index]


def test_in_range_edges_are_accepted(local: LocalDeployment) -> None:
    with local.client() as client:
        r = client.chat.completions.create(messages=MESSAGES, temperature=0, top_p=1, n=1)
    assert r.text == "You said: what is a GPU"


# ---- gateway fidelity --------------------------------------------------------------------


@pytest.fixture
def upstream(odsc_llm_local: LocalDeployment) -> Iterator[_PlainUpstream]:
    with _PlainUpstream(odsc_llm_local) as server:
        yield server


def test_gateway_forwards_end_to_end_headers(upstream: _PlainUpstream) -> None:
    with LocalDeployment(upstream=upstream.url) as gateway, gateway.client() as client:
        client.completions.with_raw_response.create(
            prompt="x",
            extra_headers={"x-trace-id": "abc", "opc-retry-token": "r1"},
        )
    method, path, headers = upstream.seen[-1]
    assert (method, path) == ("POST", "/v1/completions")
    assert headers["x-trace-id"] == "abc" and headers["opc-retry-token"] == "r1"
    assert headers["route"] == "/v1/completions"
    assert headers["user-agent"].startswith("odsc-llm/")
    assert headers["content-type"] == "application/json"
    assert headers["accept-encoding"] == "identity"
    # The signature and its inputs stop at the gateway; hop-by-hop headers too.
    for name in ("authorization", "x-content-sha256", "date"):
        assert name not in headers, name
    assert headers.get("connection", "keep-alive") == "keep-alive"


def test_gateway_forwards_utility_routes(upstream: _PlainUpstream) -> None:
    with LocalDeployment(upstream=upstream.url) as gateway, gateway.client() as client:
        client.tokenize(prompt="hi")
        client.rerank.create("q", ["d"])
    assert [seen[:2] for seen in upstream.seen[-2:]] == [
        ("POST", "/tokenize"),
        ("POST", "/v1/rerank"),
    ]
