"""End to end: odsc_llm.Client and AsyncClient against the local emulator over real sockets.

Every request here is signed by odsc_llm.auth and verified by the emulator; faults check
that each failure gives the documented error, or a successful retry.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")

import odsc_llm
from odsc_llm import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    StreamError,
)
from odsc_llm.testing import LocalDeployment, embed, reply_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(local: LocalDeployment, sleeps: list[float]) -> Iterator[odsc_llm.Client]:
    # _sleep records the retry waits instead of sleeping them.
    with odsc_llm.Client(deployment=local.deployment, auth=local.auth, _sleep=sleeps.append) as c:
        yield c


def _statuses(local: LocalDeployment) -> list[int | None]:
    return [r.status for r in local.requests]


# ---- the happy path ----------------------------------------------------------------------


def test_completion_signed_and_accepted(local: LocalDeployment, client: odsc_llm.Client) -> None:
    c = client.completions.create(prompt="what are activation functions?", max_tokens=250)
    assert c.choices[0].text == reply_text("what are activation functions?")
    assert c.choices[0].finish_reason == "stop"
    assert c.usage is not None and c.usage.completion_tokens == 6
    [request] = local.requests
    assert request.status == 200
    assert f'keyId="{local.key_id}"' in request.headers["authorization"]
    assert c.request_id == request.request_id


def test_chat_and_embeddings(local: LocalDeployment, client: odsc_llm.Client) -> None:
    r = client.chat.completions.create(messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == "You said: hi"
    e = client.embeddings.create(input=["a", "b"])
    assert [d.embedding for d in e.data] == [embed("a"), embed("b")]
    assert [q.headers.get("route") for q in local.requests] == [
        "/v1/chat/completions",
        "/v1/embeddings",
    ]
    assert _statuses(local) == [200, 200]


@pytest.mark.parametrize("stream_endpoint", ["predictWithResponseStream", "predict"])
def test_streaming_is_intact(local: LocalDeployment, stream_endpoint: str) -> None:
    local.token_delay = 0.001
    with odsc_llm.Client(
        deployment=local.deployment, auth=local.auth, stream_endpoint=stream_endpoint
    ) as client:
        prompt = "one two three four five"
        with client.completions.create(prompt=prompt, stream=True) as stream:
            pieces = list(stream.text())
        assert "".join(pieces) == reply_text(prompt)
        assert len(pieces) == 7
        chat = client.chat.completions.create(
            messages=[{"role": "user", "content": prompt}], stream=True, max_tokens=3
        )
        final = chat.get_final_completion()
        assert final.choices[0].finish_reason == "length"
    assert local.requests[0].path.endswith(f"/{stream_endpoint}")


def test_api_key_and_security_token_profiles(local: LocalDeployment, tmp_path: Path) -> None:
    config = str(local.write_oci_config(tmp_path))
    for auth in (
        odsc_llm.auth.api_key(profile="DEFAULT", config_file=config),
        odsc_llm.auth.security_token(profile="SESSION", config_file=config),
    ):
        with odsc_llm.Client(deployment=local.deployment, auth=auth) as client:
            assert client.completions.create(prompt="x").choices[0].text == "You said: x"
    key_ids = [r.headers["authorization"].split('keyId="')[1][:3] for r in local.requests]
    assert key_ids[1] == "ST$" and key_ids[0] != "ST$"
    assert _statuses(local) == [200, 200]


# ---- retried failures --------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(
    local: LocalDeployment, client: odsc_llm.Client, status: int
) -> None:
    local.faults.push(status=status)
    assert client.completions.create(prompt="x").choices[0].text == "You said: x"
    assert _statuses(local) == [status, 200]


def test_html_gateway_error_is_retried_then_readable(
    local: LocalDeployment, client: odsc_llm.Client
) -> None:
    local.faults.push(html_error=502)
    assert client.completions.create(prompt="x").choices[0].text == "You said: x"
    local.faults.push(html_error=502, count=3)
    with pytest.raises(InternalServerError, match="502 Bad Gateway") as excinfo:
        client.completions.create(prompt="x")
    assert excinfo.value.request_id == local.requests[-1].request_id
    assert "<html>" not in str(excinfo.value)


def test_retry_after_is_honoured(
    local: LocalDeployment, client: odsc_llm.Client, sleeps: list[float]
) -> None:
    local.faults.push(status=429, retry_after=1, count=2)
    client.completions.create(prompt="x")
    assert sleeps == [1.0, 1.0]
    assert _statuses(local) == [429, 429, 200]


def test_each_retry_is_signed_afresh(local: LocalDeployment) -> None:
    # A real 1 s Retry-After wait: the retry's date (1 s resolution) must be newer.
    local.faults.push(status=429, retry_after=1)
    with odsc_llm.Client(deployment=local.deployment, auth=local.auth) as client:
        client.completions.create(prompt="x")
    first, second = local.requests
    assert (first.status, second.status) == (429, 200)  # the retry's signature verified
    dates = [email.utils.parsedate_to_datetime(r.headers["date"]) for r in (first, second)]
    assert dates[1] > dates[0]
    assert first.headers["authorization"] != second.headers["authorization"]


def test_retries_run_out(local: LocalDeployment, client: odsc_llm.Client) -> None:
    local.faults.push(status=429, count=3)
    with pytest.raises(RateLimitError) as excinfo:
        client.completions.create(prompt="x")
    assert excinfo.value.code == "TooManyRequests"
    assert excinfo.value.request_id == local.requests[-1].request_id
    assert _statuses(local) == [429, 429, 429]


def test_connection_dropped_before_the_answer_is_retried(
    local: LocalDeployment, client: odsc_llm.Client
) -> None:
    local.faults.push(drop_connection=True)
    assert client.completions.create(prompt="x").choices[0].text == "You said: x"
    local.faults.push(drop_connection=True)
    with client.completions.create(prompt="y", stream=True) as stream:
        assert "".join(stream.text()) == "You said: y"
    assert _statuses(local) == [None, 200, None, 200]
    local.faults.push(drop_connection=True, count=3)
    with pytest.raises(APIConnectionError):
        client.completions.create(prompt="x")


def test_stream_failing_before_its_first_event_is_retried(
    local: LocalDeployment, client: odsc_llm.Client
) -> None:
    local.faults.push(status=503)
    with client.completions.create(prompt="x", stream=True) as stream:
        assert "".join(stream.text()) == "You said: x"
    assert _statuses(local) == [503, 200]


# ---- failures that are not retried -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (401, AuthenticationError, "NotAuthenticated"),
        (404, NotFoundError, "NotAuthorizedOrNotFound"),
        (409, ConflictError, "ExternalServerIncorrectState"),
    ],
)
def test_client_errors_are_typed_and_not_retried(
    local: LocalDeployment, client: odsc_llm.Client, status: int, error: type[Exception], code: str
) -> None:
    local.faults.push(status=status, count=2)
    with pytest.raises(error) as excinfo:
        client.completions.create(prompt="x")
    assert getattr(excinfo.value, "code", None) == code
    assert getattr(excinfo.value, "request_id", None)
    assert _statuses(local) == [status]


def test_unknown_model_name(local: LocalDeployment, client: odsc_llm.Client) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        client.completions.create(prompt="x", model="llama")
    assert _statuses(local) == [404]


@pytest.mark.parametrize(
    ("fault", "match"),
    [
        ({"reset_mid_stream": True}, "broke"),
        ({"cut_before_done": True}, r"\[DONE\]"),
        ({"non_json_chunk": True}, "not JSON"),
        ({"error_event": True}, "failed while generating"),
    ],
)
def test_stream_failures_after_the_first_event_surface(
    local: LocalDeployment, client: odsc_llm.Client, fault: dict[str, Any], match: str
) -> None:
    local.faults.push(**fault)
    stream = client.completions.create(prompt="a b c d", stream=True)
    with pytest.raises(StreamError, match=match) as excinfo:
        list(stream.text())
    assert excinfo.value.partial_text.startswith("You")
    assert len(local.requests) == 1  # never retried once an event arrived


def test_timeout(local: LocalDeployment) -> None:
    local.faults.push(delay=1.0)
    with (
        odsc_llm.Client(
            deployment=local.deployment, auth=local.auth, timeout=0.2, max_retries=0
        ) as client,
        pytest.raises(APITimeoutError),
    ):
        client.completions.create(prompt="x")


# ---- async -------------------------------------------------------------------------------


async def test_async_client_end_to_end(local: LocalDeployment) -> None:
    async with odsc_llm.AsyncClient(deployment=local.deployment, auth=local.auth) as aclient:
        c = await aclient.completions.create(prompt="hello")
        assert c.choices[0].text == "You said: hello"
        async with await aclient.chat.completions.create(
            messages=[{"role": "user", "content": "stream me"}], stream=True
        ) as stream:
            pieces = [piece async for piece in stream.text()]
        assert "".join(pieces) == "You said: stream me"
        e = await aclient.embeddings.create(input="z")
        assert e.data[0].embedding == embed("z")


async def test_async_fan_out(local: LocalDeployment) -> None:
    local.token_delay = 0.005
    prompts = [f"prompt number {i}" for i in range(50)]
    async with odsc_llm.AsyncClient(deployment=local.deployment, auth=local.auth) as aclient:

        async def one(prompt: str) -> str:
            stream = await aclient.completions.create(prompt=prompt, stream=True)
            return "".join([piece async for piece in stream.text()])

        texts = await asyncio.gather(*(one(p) for p in prompts))
    assert texts == [reply_text(p) for p in prompts]
    assert local.peak_streams > 1
    assert set(_statuses(local)) == {200}


async def test_async_retries_and_stream_errors(local: LocalDeployment) -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with odsc_llm.AsyncClient(
        deployment=local.deployment, auth=local.auth, _sleep=fake_sleep
    ) as aclient:
        local.faults.push(status=429, retry_after=2)
        local.faults.push(drop_connection=True)
        c = await aclient.completions.create(prompt="x")
        assert c.choices[0].text == "You said: x"
        assert sleeps[0] == 2.0 and len(sleeps) == 2
        local.faults.push(reset_mid_stream=True)
        stream = await aclient.completions.create(prompt="a b", stream=True)
        with pytest.raises(StreamError):
            async for _ in stream:
                pass
    assert _statuses(local)[:3] == [429, None, 200]
