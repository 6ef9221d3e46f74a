"""The SDK against a real model server: llama-cpp-python serving SmolLM2-135M-Instruct.

Every request goes through the real ``odsc_llm`` clients, is signed, checked by the
emulator in gateway mode (as an OCI model deployment would), and answered by llama.cpp.
Greedy decoding (``temperature=0``) makes the answers deterministic, so the tests compare
the model's answers with each other instead of guessing what a 135M model will say.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

import odsc_llm
from odsc_llm.types import ChatCompletion, ChatCompletionChunk, Completion

from .conftest import N_CTX, Gateway, LlamaServer

pytestmark = pytest.mark.real_model

PROMPT = "The three primary colors are"
_DISCONNECT = "Disconnected from client"
# A long answer whatever the model says: llama-cpp-python's `min_tokens` holds back the
# end-of-sequence token, so the server is still generating when the client goes away.
_LONG_ANSWER: dict[str, object] = {
    "max_tokens": 600,
    "temperature": 0,
    "extra_body": {"min_tokens": 600},
}
MESSAGES = [{"role": "user", "content": "Name three fruits."}]
#: Chat answers compared streamed vs not are cut at this many tokens: on the CPU build
#: CI makes, llama-cpp-python's *streamed* chat of MESSAGES stops early (its own SSE says
#: `finish_reason: "stop"` after "2. Oranges") while the same request unstreamed goes on
#: to "3. Grapes"; up to here both agree token for token.
CHAT_SAME_TOKENS = 8


def _completion_text(stream: odsc_llm.Stream[Completion]) -> tuple[str, str | None]:
    text, finish = [], None
    with stream:
        for chunk in stream:
            for choice in chunk.choices:
                text.append(choice.text)
                finish = choice.finish_reason or finish
    return "".join(text), finish


def _chat_text(stream: odsc_llm.Stream[ChatCompletionChunk]) -> tuple[str, str | None]:
    text, finish = [], None
    with stream:
        for chunk in stream:
            for choice in chunk.choices:
                text.append(choice.delta.content or "")
                finish = choice.finish_reason or finish
    return "".join(text), finish


# -- completions and chat, streamed and not ------------------------------------------------


def test_completion(client: odsc_llm.Client) -> None:
    c = client.completions.create(prompt=PROMPT, max_tokens=16, temperature=0)
    assert isinstance(c, Completion)
    assert c.choices[0].text.strip()
    assert c.choices[0].finish_reason in ("stop", "length")
    assert c.usage is not None and c.usage.completion_tokens > 0
    assert c.usage.total_tokens == c.usage.prompt_tokens + c.usage.completion_tokens
    assert c.request_id  # the gateway's opc-request-id


def test_completion_stream(client: odsc_llm.Client) -> None:
    stream = client.completions.create(prompt=PROMPT, max_tokens=16, temperature=0, stream=True)
    assert stream.request_id
    text, finish = _completion_text(stream)
    assert text.strip()
    assert finish in ("stop", "length")


def test_chat(client: odsc_llm.Client) -> None:
    r = client.chat.completions.create(messages=MESSAGES, max_tokens=32, temperature=0)
    assert isinstance(r, ChatCompletion)
    assert r.choices[0].message.role == "assistant"
    assert (r.choices[0].message.content or "").strip()
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.request_id


def test_chat_stream(client: odsc_llm.Client) -> None:
    stream = client.chat.completions.create(
        messages=MESSAGES, max_tokens=32, temperature=0, stream=True
    )
    text, finish = _chat_text(stream)
    assert text.strip()
    assert finish in ("stop", "length")


def test_stream_get_final_completion(client: odsc_llm.Client) -> None:
    with client.chat.completions.create(
        messages=MESSAGES, max_tokens=24, temperature=0, stream=True
    ) as stream:
        final = stream.get_final_completion()
    plain = client.chat.completions.create(messages=MESSAGES, max_tokens=24, temperature=0)
    assert isinstance(final, ChatCompletion)
    assert final.choices[0].message.content == plain.choices[0].message.content
    assert final.choices[0].finish_reason == plain.choices[0].finish_reason


def test_temperature_zero_completion_same_streamed_or_not(client: odsc_llm.Client) -> None:
    plain = client.completions.create(prompt=PROMPT, max_tokens=40, temperature=0)
    streamed, finish = _completion_text(
        client.completions.create(prompt=PROMPT, max_tokens=40, temperature=0, stream=True)
    )
    assert streamed == plain.choices[0].text
    assert finish == plain.choices[0].finish_reason


def test_temperature_zero_chat_same_streamed_or_not(client: odsc_llm.Client) -> None:
    plain = client.chat.completions.create(
        messages=MESSAGES, max_tokens=CHAT_SAME_TOKENS, temperature=0
    )
    streamed, finish = _chat_text(
        client.chat.completions.create(
            messages=MESSAGES, max_tokens=CHAT_SAME_TOKENS, temperature=0, stream=True
        )
    )
    assert streamed == plain.choices[0].message.content
    assert finish == plain.choices[0].finish_reason


# -- generation controls --------------------------------------------------------------------


def test_max_tokens_honoured(client: odsc_llm.Client) -> None:
    c = client.completions.create(prompt="Once upon a time", max_tokens=5, temperature=0)
    assert c.choices[0].finish_reason == "length"
    assert c.usage is not None and c.usage.completion_tokens == 5

    r = client.chat.completions.create(
        messages=[{"role": "user", "content": "Tell me a long story."}],
        max_tokens=5,
        temperature=0,
    )
    assert r.choices[0].finish_reason == "length"
    assert r.usage is not None and r.usage.completion_tokens == 5

    chunks = list(
        client.completions.create(
            prompt="Once upon a time", max_tokens=5, temperature=0, stream=True
        )
    )
    assert chunks[-1].choices[0].finish_reason == "length"
    assert "".join(ch.choices[0].text for ch in chunks) == c.choices[0].text


def test_stop_sequence(client: odsc_llm.Client) -> None:
    prompt = "Count from one to twenty in words: one, two, three,"
    free = client.completions.create(prompt=prompt, max_tokens=24, temperature=0)
    text = free.choices[0].text
    # A stop string taken from the middle of the model's own greedy answer: with it the
    # same answer must end just before the string's first occurrence.
    words = [w.strip(",.") for w in text.split()]
    candidates = [w for w in words[1:] if len(w) >= 3]
    assert candidates, f"the model's answer has no word to stop on: {text!r}"
    stop = candidates[0]
    expected = text[: text.index(stop)]

    stopped = client.completions.create(prompt=prompt, max_tokens=24, temperature=0, stop=[stop])
    assert stopped.choices[0].text == expected
    assert stopped.choices[0].finish_reason == "stop"

    streamed, finish = _completion_text(
        client.completions.create(
            prompt=prompt, max_tokens=24, temperature=0, stop=stop, stream=True
        )
    )
    assert streamed == expected
    assert finish == "stop"


def test_json_mode(client: odsc_llm.Client) -> None:
    # llama-cpp-python turns response_format json_object into a JSON grammar that
    # constrains sampling, so even a 135M model answers with valid JSON.
    r = client.chat.completions.create(
        messages=[
            {"role": "system", "content": "You answer in JSON."},
            {"role": "user", "content": 'Give a JSON object with a key "color".'},
        ],
        response_format={"type": "json_object"},
        max_tokens=64,
        temperature=0,
    )
    assert r.choices[0].finish_reason == "stop", r.choices[0].message.content
    data = json.loads(r.choices[0].message.content or "")
    assert isinstance(data, dict)


def test_json_mode_with_schema(client: odsc_llm.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    r = client.chat.completions.create(
        messages=[{"role": "user", "content": "Describe a person named Ada, aged 36, as JSON."}],
        response_format={"type": "json_object", "schema": schema},
        max_tokens=64,
        temperature=0,
    )
    data = json.loads(r.choices[0].message.content or "")
    assert set(data) == {"name", "age"}
    assert isinstance(data["name"], str) and isinstance(data["age"], int)


def test_json_mode_streamed(client: odsc_llm.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    with client.chat.completions.create(
        messages=[{"role": "user", "content": "Describe a person named Ada, aged 36, as JSON."}],
        response_format={"type": "json_object", "schema": schema},
        max_tokens=64,
        temperature=0,
        stream=True,
    ) as stream:
        final = stream.get_final_completion()
    assert isinstance(final, ChatCompletion)
    data = json.loads(final.choices[0].message.content or "")
    assert set(data) == {"name", "age"}


def test_stream_on_predict_endpoint(gateway: Gateway) -> None:
    # stream_endpoint="predict": the older style (enable-streaming header on /predict).
    with odsc_llm.Client(
        deployment=gateway.deployment,
        auth=gateway.auth,
        stream_endpoint="predict",
        max_retries=0,
        timeout=60.0,
    ) as c:
        plain = c.completions.create(prompt=PROMPT, max_tokens=12, temperature=0)
        streamed, finish = _completion_text(
            c.completions.create(prompt=PROMPT, max_tokens=12, temperature=0, stream=True)
        )
    assert streamed == plain.choices[0].text
    assert finish == plain.choices[0].finish_reason


def test_openai_sdk_through_gateway(client: odsc_llm.Client, gateway: Gateway) -> None:
    pytest.importorskip("openai", reason="the openai package is not installed (extra 'openai')")
    from odsc_llm.integrations.openai import openai_client

    ours = client.chat.completions.create(
        messages=MESSAGES, max_tokens=CHAT_SAME_TOKENS, temperature=0
    )
    oai = openai_client(gateway.deployment, auth=gateway.auth, max_retries=0)
    try:
        r = oai.chat.completions.create(
            model="odsc-llm", messages=MESSAGES, max_tokens=CHAT_SAME_TOKENS, temperature=0
        )
        pieces = [
            chunk.choices[0].delta.content or ""
            for chunk in oai.chat.completions.create(
                model="odsc-llm",
                messages=MESSAGES,
                max_tokens=CHAT_SAME_TOKENS,
                temperature=0,
                stream=True,
            )
            if chunk.choices
        ]
    finally:
        oai.close()
    assert r.choices[0].message.content == ours.choices[0].message.content
    assert "".join(pieces) == ours.choices[0].message.content


# -- connections ----------------------------------------------------------------------------


def _wait_for_disconnect(server: LlamaServer, seen_before: int) -> None:
    """Wait (bounded) until the model server logs one more client disconnect."""
    deadline = time.monotonic() + 30
    while server.log().count(_DISCONNECT) <= seen_before:
        assert time.monotonic() < deadline, f"server never saw the disconnect:\n{server.log_tail()}"
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["break", "with", "close"])
def test_stream_closed_early_releases_connection(
    client: odsc_llm.Client, gateway: Gateway, how: str
) -> None:
    server = gateway.upstream
    seen = server.log().count(_DISCONNECT)
    stream = client.completions.create(
        prompt="Write a very long essay about the sea.", stream=True, **_LONG_ANSWER
    )
    if how == "break":  # leaving the loop alone closes the stream
        for i, _chunk in enumerate(stream):
            if i == 2:
                break
    elif how == "with":
        with stream:
            next(stream)
    else:
        next(stream)
        stream.close()
    assert stream.response.is_closed
    # The close travels through the gateway to the model server, which stops generating
    # (llama-cpp-python logs the disconnect; it checks between tokens).
    _wait_for_disconnect(server, seen)
    # The pool is usable at once, and the server is free for the next request.
    c = client.completions.create(prompt=PROMPT, max_tokens=4, temperature=0)
    assert c.choices[0].finish_reason == "length"


@pytest.mark.parametrize("how", ["break", "async with", "aclose"])
async def test_async_stream_closed_early_releases_connection(
    aclient: odsc_llm.AsyncClient, gateway: Gateway, how: str
) -> None:
    server = gateway.upstream
    seen = server.log().count(_DISCONNECT)
    stream = await aclient.completions.create(
        prompt="Write a very long essay about the sea.", stream=True, **_LONG_ANSWER
    )
    if how == "break":
        # The usual pattern: the stream is dropped after the loop; the event loop's
        # async-generator finalizer closes it.
        i = 0
        async for _chunk in stream:
            i += 1
            if i == 3:
                break
        del stream
    elif how == "async with":
        async with stream:
            await stream.__anext__()
        assert stream.response.is_closed
    else:
        await stream.__anext__()
        await stream.aclose()
        assert stream.response.is_closed
    await asyncio.to_thread(_wait_for_disconnect, server, seen)
    c = await aclient.completions.create(prompt=PROMPT, max_tokens=4, temperature=0)
    assert c.choices[0].finish_reason == "length"


async def test_async_stream_break_releases_connection(aclient: odsc_llm.AsyncClient) -> None:
    stream = await aclient.completions.create(
        prompt="Write a very long essay about the sea.", stream=True, **_LONG_ANSWER
    )
    try:
        async for _chunk in stream:
            break
        for _ in range(40):  # the loop's async-generator finalizer runs soon: bounded wait
            if stream.response.is_closed:
                break
            await asyncio.sleep(0.05)
        assert stream.response.is_closed
    finally:
        await stream.aclose()


async def test_twenty_concurrent_async_streams(aclient: odsc_llm.AsyncClient) -> None:
    prompts = [f"Fact number {i} about the moon:" for i in range(5)]
    expected = {}
    for p in prompts:
        c = await aclient.completions.create(prompt=p, max_tokens=8, temperature=0)
        expected[p] = c.choices[0].text

    async def one(prompt: str) -> tuple[str, str, str | None]:
        text, finish = [], None
        async with await aclient.completions.create(
            prompt=prompt, max_tokens=8, temperature=0, stream=True
        ) as stream:
            async for chunk in stream:
                text.append(chunk.choices[0].text)
                finish = chunk.choices[0].finish_reason or finish
        return prompt, "".join(text), finish

    results = await asyncio.wait_for(
        asyncio.gather(*(one(prompts[i % len(prompts)]) for i in range(20))), timeout=120
    )
    assert len(results) == 20
    for prompt, text, finish in results:
        assert finish in ("stop", "length")
        assert text == expected[prompt]  # no cross-talk between concurrent streams


async def test_async_chat(aclient: odsc_llm.AsyncClient) -> None:
    r = await aclient.chat.completions.create(
        messages=MESSAGES, max_tokens=CHAT_SAME_TOKENS, temperature=0
    )
    async with await aclient.chat.completions.create(
        messages=MESSAGES, max_tokens=CHAT_SAME_TOKENS, temperature=0, stream=True
    ) as stream:
        text = "".join([t async for t in stream.text()])
    assert text == r.choices[0].message.content


# -- the server's own error shapes ---------------------------------------------------------


def test_prompt_over_context_is_bad_request(client: odsc_llm.Client) -> None:
    long_prompt = "word " * (N_CTX + 200)
    with pytest.raises(odsc_llm.BadRequestError) as info:
        client.completions.create(prompt=long_prompt, max_tokens=16)
    err = info.value
    assert err.status_code == 400
    assert err.code == "context_length_exceeded"
    assert f"maximum context length is {N_CTX} tokens" in str(err)
    assert err.request_id and err.request_id in str(err)

    with pytest.raises(odsc_llm.BadRequestError) as chat_info:
        client.chat.completions.create(
            messages=[{"role": "user", "content": long_prompt}], max_tokens=16
        )
    assert "maximum context length" in str(chat_info.value)


def test_prompt_over_context_streamed_is_stream_error(llama_server: LlamaServer) -> None:
    # With stream=True llama-cpp-python has already sent "200 OK" when it finds the prompt
    # too long: the stream then ends with no event and no [DONE]. That must be an error,
    # never an empty answer.
    # After such a failed stream the server resets the keep-alive connection; the gateway
    # re-sends a request that meets that reset before any answer, as a real gateway
    # would. This test has its own gateway so no other test depends on that.
    from odsc_llm.testing import LocalDeployment

    with (
        LocalDeployment(upstream=llama_server.url) as local,
        odsc_llm.Client(
            deployment=local.deployment, auth=local.auth, max_retries=0, timeout=60.0
        ) as c,
    ):
        # The stream waits for its first event inside create() (so that a failure before
        # it can be retried): the error comes from create() itself.
        with pytest.raises(odsc_llm.StreamError) as info:
            list(c.completions.create(prompt="word " * (N_CTX + 200), max_tokens=16, stream=True))
        assert info.value.before_first_event
        assert "[DONE]" in str(info.value)
        assert info.value.partial_text == ""
        assert info.value.request_id
        # The next call succeeds with no client retry: the gateway got over the reset.
        ok = c.completions.create(prompt=PROMPT, max_tokens=4, temperature=0)
        assert ok.choices[0].finish_reason == "length"
        assert [r.status for r in local.requests][-1] == 200


def test_validation_error_is_internal_server_error(client: odsc_llm.Client) -> None:
    # llama-cpp-python's route class turns FastAPI's request validation error into a 500
    # {"error": {"message": ..., "type": "internal_server_error"}} (not FastAPI's 422).
    with pytest.raises(odsc_llm.InternalServerError) as info:
        client.completions.create(prompt=PROMPT, max_tokens=4, extra_body={"top_k": "many"})
    err = info.value
    assert err.status_code == 500
    assert "top_k" in str(err)
    assert err.code == "internal_server_error"


# -- SSE comment lines ---------------------------------------------------------------------


class _TeeStream(httpx.SyncByteStream):
    """A response body that keeps a copy of every byte the client reads."""

    def __init__(self, inner: httpx.SyncByteStream, sink: bytearray) -> None:
        self._inner = inner
        self._sink = sink

    def __iter__(self) -> Iterator[bytes]:
        for part in self._inner:
            self._sink.extend(part)
            yield part

    def close(self) -> None:
        self._inner.close()


class _TeeTransport(httpx.HTTPTransport):
    """Records the raw bytes of each answer as the SDK receives them."""

    def __init__(self) -> None:
        super().__init__()
        self.received = bytearray()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _TeeStream(response.stream, self.received)
        return response


def test_ping_comments_on_long_stream_are_skipped(gateway: Gateway) -> None:
    # llama.cpp's server (sse-starlette) interleaves ": ping - <time>" comment lines with
    # the data events (every 0.1 s in the test server); the gateway forwards them as they
    # are. The SDK must skip them and still read every event of the same stream.
    tee = _TeeTransport()
    with (
        httpx.Client(transport=tee, timeout=60) as http,
        odsc_llm.Client(
            deployment=gateway.deployment, auth=gateway.auth, http_client=http, max_retries=0
        ) as c,
    ):
        text, finish = _completion_text(
            c.completions.create(
                prompt="Write a very long essay about the sea.",
                max_tokens=300,
                temperature=0,
                extra_body={"min_tokens": 300},
                stream=True,
            )
        )
    raw = tee.received.decode()
    assert ": ping" in raw, "the stream carried no ping comment"
    pieces = [
        json.loads(line[len("data: ") :])["choices"][0]["text"]
        for line in raw.splitlines()
        if line.startswith("data: {")
    ]
    assert len(pieces) >= 300
    assert text == "".join(pieces)
    assert finish == "length"
