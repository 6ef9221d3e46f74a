"""``create_app(config=...)``: model names to deployments, load sharing and failover."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from odsc_llm.errors import InvalidDeploymentError, InvalidRequestError
from odsc_llm.proxy import create_app, load_config
from odsc_llm.testing import LocalDeployment

from ..support.proxy import running

CHAT = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def first() -> Iterator[LocalDeployment]:
    with LocalDeployment() as deployment:
        yield deployment


@pytest.fixture(scope="module")
def second(first: LocalDeployment) -> Iterator[LocalDeployment]:
    """Serves ``served-b``; accepts ``first``'s key, so one auth signs for both."""
    with LocalDeployment(models=["served-b"]) as deployment:
        deployment.add_public_key(first.key_id, first.public_keys[first.key_id])
        yield deployment


@pytest.fixture(autouse=True)
def _reset(first: LocalDeployment, second: LocalDeployment) -> Iterator[None]:
    yield
    for deployment in (first, second):
        deployment.reset()


def _dead_url(ocid: str) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{ocid}"


def _config(first: LocalDeployment, second: LocalDeployment, **extra: Any) -> dict[str, Any]:
    both = [{"deployment": first.url}, {"deployment": second.url, "model": "served-b"}]
    return {
        "models": {
            "alpha": {"deployments": [{"deployment": first.url}]},
            "both": {"deployments": both},
            **extra,
        }
    }


@pytest.fixture
def proxy(first: LocalDeployment, second: LocalDeployment) -> Iterator[openai.OpenAI]:
    dead = _dead_url(first.ocid)
    config = _config(
        first,
        second,
        **{"with-dead": {"deployments": [{"deployment": dead}, {"deployment": first.url}]}},
        **{"all-dead": {"deployments": [{"deployment": dead}]}},
    )
    with running(create_app(config=config, auth=first.auth)) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def test_model_chooses_and_is_rewritten(
    proxy: openai.OpenAI, first: LocalDeployment, second: LocalDeployment
) -> None:
    proxy.chat.completions.create(model="alpha", messages=CHAT)
    assert [r.json()["model"] for r in first.requests] == ["odsc-llm"]
    for _ in range(4):
        proxy.chat.completions.create(model="both", messages=CHAT)
    assert len(first.requests) > 1 and second.requests  # both share the load
    assert {r.json()["model"] for r in second.requests} == {"served-b"}


def test_unknown_and_missing_model(proxy: openai.OpenAI, first: LocalDeployment) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        proxy.chat.completions.create(model="gamma", messages=CHAT)
    assert "all-dead, alpha, both, with-dead" in str(caught.value)
    with pytest.raises(openai.BadRequestError, match="model"):
        proxy.post("/embeddings", body={"input": "x"}, cast_to=object)
    assert first.requests == []


def test_models_lists_every_name(proxy: openai.OpenAI, first: LocalDeployment) -> None:
    listed = {m.id: m.owned_by for m in proxy.models.list()}
    assert listed["alpha"] == first.ocid and set(listed) == {
        "alpha",
        "both",
        "with-dead",
        "all-dead",
    }


def test_least_in_flight_first(
    proxy: openai.OpenAI, first: LocalDeployment, second: LocalDeployment
) -> None:
    first.token_delay = second.token_delay = 0.2
    opened, release = threading.Event(), threading.Event()
    prompt = [{"role": "user", "content": "w " * 30}]

    def hold() -> None:
        stream = proxy.chat.completions.create(model="both", messages=prompt, stream=True)
        next(iter(stream))
        opened.set()
        release.wait(10)
        stream.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert opened.wait(10)
    busy = first if first.active_streams else second
    idle = second if busy is first else first
    before = len(busy.requests)
    for _ in range(3):
        proxy.chat.completions.create(model="both", messages=CHAT)  # whole answers: fast
    release.set()
    holder.join(10)
    assert len(busy.requests) == before and len(idle.requests) == 3


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_fails_over_on_status(
    proxy: openai.OpenAI, first: LocalDeployment, second: LocalDeployment, status: int
) -> None:
    first.faults.push(status=status, count=10)
    for _ in range(4):
        answer = proxy.chat.completions.create(model="both", messages=CHAT)
        assert answer.choices[0].message.content == "You said: hi"
    assert len(second.requests) == 4
    assert first.requests and all(r.status == status for r in first.requests)


def test_fails_over_on_connection_refused(proxy: openai.OpenAI, first: LocalDeployment) -> None:
    for _ in range(3):
        proxy.chat.completions.create(model="with-dead", messages=CHAT)
        list(proxy.chat.completions.create(model="with-dead", messages=CHAT, stream=True))
    assert len(first.requests) == 6


def test_last_deployments_answer_and_nothing_left(
    proxy: openai.OpenAI, first: LocalDeployment, second: LocalDeployment
) -> None:
    first.faults.push(status=503, count=2)
    second.faults.push(status=503, count=2)
    with pytest.raises(openai.InternalServerError) as caught:
        proxy.chat.completions.create(model="both", messages=CHAT)
    assert caught.value.status_code == 503
    with pytest.raises(openai.APIStatusError) as refused:
        proxy.chat.completions.create(model="all-dead", messages=CHAT)
    assert refused.value.status_code == 502 and "ConnectError" in str(refused.value)


def test_never_moves_after_the_first_byte(
    proxy: openai.OpenAI, first: LocalDeployment, second: LocalDeployment
) -> None:
    for deployment in (first, second):
        deployment.faults.push(reset_mid_stream=True, after_events=2)
    body = {"model": "both", "messages": CHAT, "stream": True}
    answer = httpx.post(f"{proxy.base_url}chat/completions", json=body)
    assert answer.text.endswith("data: [DONE]\n\n") and '"error"' in answer.text
    assert len(first.requests) + len(second.requests) == 1


def test_profile_signs_with_that_profile(
    first: LocalDeployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCI_CONFIG_FILE", str(first.write_oci_config(tmp_path)))
    config = {"models": {"m": {"deployments": [{"deployment": first.url, "profile": "SESSION"}]}}}
    with running(create_app(config=config, auth=first.auth)) as url:
        answer = httpx.post(f"{url}/v1/completions", json={"model": "m", "prompt": "x"})
    assert answer.status_code == 200
    assert 'keyId="ST$' in first.requests[0].headers["authorization"]


def test_toml_file(first: LocalDeployment, tmp_path: Path) -> None:
    path = tmp_path / "proxy.toml"
    path.write_text(
        f'[models."llama 3"]\ndeployments = [{{ deployment = "{first.url}", model = "x", '
        'routing = "path" }]\n'
    )
    served = load_config(path, auth=first.auth)
    (target,) = served.models["llama 3"]
    assert (target.model, target.routing, target.name) == ("x", "path", first.ocid)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({}, "no models"),
        ({"models": {}, "extra": 1}, "unknown top-level"),
        ({"models": {"a": {"deployments": []}}}, 'models."a"'),
        ({"models": {"a": {"deployments": ["url"]}}}, "each deployment is"),
        ({"models": {"a": {"deployments": [{"deployment": "ocid1.x", "weight": 2}]}}}, "weight"),
        ({"models": {"a": {"deployments": [{"deployment": "ocid1.x", "model": ""}]}}}, "model"),
        (
            {
                "models": {
                    "a": {
                        "deployments": [
                            {
                                "deployment": "ocid1.datasciencemodeldeployment.oc1.iad.x",
                                "routing": "x",
                            }
                        ]
                    }
                }
            },
            "routing",
        ),
        (
            {
                "models": {
                    "a": {
                        "deployments": [
                            {"deployment": "http://h/ocid1.datasciencemodeldeployment.oc1.iad.x"}
                        ]
                    }
                }
            },
            'models."a".*http',
        ),
    ],
)
def test_config_errors(config: dict[str, Any], words: str) -> None:
    with pytest.raises((InvalidRequestError, InvalidDeploymentError), match=words):
        load_config(config, auth=httpx.BasicAuth("a", "b"))


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[models\n")
    with pytest.raises(InvalidRequestError, match="not valid TOML"):
        load_config(path, auth=httpx.BasicAuth("a", "b"))


def test_multipart_model_chooses(proxy: openai.OpenAI, first: LocalDeployment) -> None:
    url = f"{proxy.base_url}audio/transcriptions"
    files = {"file": ("a.wav", b"RIFF", "audio/wav")}
    httpx.post(url, data={"model": "alpha"}, files=files)
    (sent,) = first.requests
    assert b'name="model"\r\n\r\nodsc-llm\r\n' in sent.body
    unknown = httpx.post(url, data={"model": "nope"}, files=files)
    assert unknown.status_code == 404 and len(first.requests) == 1
