"""The clients against pytest-httpx mocks: requests, typed answers, errors, retries."""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

import odsc_llm
from odsc_llm import types
from odsc_llm.errors import InvalidRequestError
from odsc_llm.types._base import ResponseType

from .support.clients import (
    CHAT,
    COMPLETION,
    EMBEDDINGS,
    ENDPOINT,
    PREDICT,
    SSE_HEADERS,
    STREAM,
    CountingAuth,
    RecordingSleep,
    Twin,
    completion_chunk,
    sse,
)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def client(sleep: RecordingSleep) -> Generator[odsc_llm.Client, None, None]:
    with odsc_llm.Client(ENDPOINT, auth=CountingAuth(), _sleep=sleep) as c:
        yield c


@pytest.fixture(params=[True, False], ids=["sync", "async"])
def twin(request: pytest.FixtureRequest, sleep: RecordingSleep) -> Generator[Twin, None, None]:
    """A Client or an AsyncClient (with CountingAuth and the recording sleep)."""
    t = Twin(request.param, ENDPOINT, auth=CountingAuth(), sleep=sleep)
    yield t
    t.close()


# -- requests --------------------------------------------------------------------------


def test_completion_request_and_typed_answer(
    client: odsc_llm.Client, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=PREDICT, json=COMPLETION, headers={"opc-request-id": "rid-1"})
    result = client.completions.create(
        prompt="what are activation functions?", max_tokens=250, temperature=0.7, top_p=0.8
    )
    assert isinstance(result, types.Completion)
    assert result.choices[0].text == "Hello!"
    assert result.usage is not None and result.usage.total_tokens == 5
    assert result.request_id == "rid-1"
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["route"] == "/v1/completions"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Signature test-1"
    assert "enable-streaming" not in request.headers
    assert json.loads(request.content) == {
        "model": "odsc-llm",
        "prompt": "what are activation functions?",
        "max_tokens": 250,
        "temperature": 0.7,
        "top_p": 0.8,
    }


def test_unknown_response_fields_are_kept(client: odsc_llm.Client, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={**COMPLETION, "server_extra": {"a": 1}})
    result = client.completions.create(prompt="x")
    assert result.model_extra == {"kv_transfer_params": None, "server_extra": {"a": 1}}


def test_chat_and_embeddings_routes(client: odsc_llm.Client, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=PREDICT, json=CHAT, match_headers={"route": "/v1/chat/completions"})
    httpx_mock.add_response(url=PREDICT, json=EMBEDDINGS, match_headers={"route": "/v1/embeddings"})
    chat = client.chat.completions.create(
        messages=[{"role": "user", "content": "hi"}], model="my-model", seed=1
    )
    assert chat.choices[0].message.content == "Hi there"
    assert chat.text == "Hi there"
    emb = client.embeddings.create(input=["a", "b"])
    assert [d.embedding for d in emb.data] == [[0.1, 0.2], [0.3, 0.4]]
    chat_request, emb_request = httpx_mock.get_requests()
    assert json.loads(chat_request.content) == {
        "model": "my-model",
        "messages": [{"role": "user", "content": "hi"}],
        "seed": 1,
    }
    assert json.loads(emb_request.content) == {"model": "odsc-llm", "input": ["a", "b"]}


def test_extra_body_headers_and_none_omitted(
    client: odsc_llm.Client, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=COMPLETION)
    client.completions.create(
        prompt="x",
        temperature=None,  # type: ignore[typeddict-item]
        extra_body={"guided_choice": ["a", "b"], "top_k": 5},
        extra_headers={"opc-request-id": "mine"},
    )
    request = httpx_mock.get_request()
    assert request is not None
    assert json.loads(request.content) == {
        "model": "odsc-llm",
        "prompt": "x",
        "guided_choice": ["a", "b"],
        "top_k": 5,
    }
    assert request.headers["opc-request-id"] == "mine"


def test_unknown_parameter_is_a_clear_type_error(client: odsc_llm.Client) -> None:
    with pytest.raises(TypeError, match=r"max_token\b.*extra_body"):
        client.completions.create(prompt="x", max_token=3)  # type: ignore[call-overload]


def test_body_over_10_mb_is_refused_before_sending(
    client: odsc_llm.Client, httpx_mock: HTTPXMock
) -> None:
    with pytest.raises(odsc_llm.RequestTooLargeError, match="10 MB"):
        client.completions.create(prompt="x" * (10 * 1024 * 1024 + 1))
    assert httpx_mock.get_requests() == []


def test_caller_authorization_header_is_refused(client: odsc_llm.Client) -> None:
    with pytest.raises(ValueError, match="Authorization"):
        client.completions.create(prompt="x", extra_headers={"Authorization": "Bearer x"})


def test_with_raw_response(client: odsc_llm.Client, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=COMPLETION, headers={"opc-request-id": "raw-rid", "x-a": "1"})
    raw = client.completions.with_raw_response.create(prompt="x")
    assert raw.status_code == 200
    assert raw.headers["x-a"] == "1"
    assert raw.request_id == "raw-rid"
    parsed = raw.parse()
    assert isinstance(parsed, types.Completion) and parsed.request_id == "raw-rid"


def test_deployment_from_ocid_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    ocid = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaatest"
    assert odsc_llm.Client(ocid, auth=httpx.Auth()).deployment.endpoint == ENDPOINT
    monkeypatch.setenv("ODSC_LLM_DEPLOYMENT", ENDPOINT + "/predict")
    assert odsc_llm.Client(auth=httpx.Auth()).deployment.endpoint == ENDPOINT
    monkeypatch.delenv("ODSC_LLM_DEPLOYMENT")
    with pytest.raises(odsc_llm.InvalidDeploymentError, match="ODSC_LLM_DEPLOYMENT"):
        odsc_llm.Client(auth=httpx.Auth())


def test_bad_settings_are_value_errors() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), max_retries=-1)
    with pytest.raises(ValueError, match="timeout"):
        odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), timeout=-5)
    with pytest.raises(ValueError, match="stream_endpoint"):
        odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), stream_endpoint="nope")


def test_default_timeout_and_pool_size() -> None:
    c = odsc_llm.Client(ENDPOINT, auth=httpx.Auth())
    assert c.timeout == httpx.Timeout(600.0, connect=10.0)
    assert c.total_timeout == 600.0
    pool = c._http._transport._pool  # type: ignore[attr-defined]
    assert pool._max_connections >= 1000
    assert odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), timeout=None).total_timeout is None


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, odsc_llm.BadRequestError),
        (401, odsc_llm.AuthenticationError),
        (403, odsc_llm.PermissionDeniedError),
        (404, odsc_llm.NotFoundError),
        (409, odsc_llm.ConflictError),
        (422, odsc_llm.UnprocessableEntityError),
    ],
)
def test_status_errors_are_typed_and_not_retried(
    twin: Twin, httpx_mock: HTTPXMock, status: int, cls: type[Exception]
) -> None:
    httpx_mock.add_response(
        status_code=status,
        json={"code": "SomeCode", "message": "what went wrong"},
        headers={"opc-request-id": "err-rid"},
    )
    with pytest.raises(cls) as info:
        twin.call(prompt="x")
    error = info.value
    assert isinstance(error, odsc_llm.APIStatusError)
    assert error.status_code == status
    assert error.request_id == "err-rid"
    assert error.code == "SomeCode"
    assert error.body == {"code": "SomeCode", "message": "what went wrong"}
    assert "what went wrong" in str(error) and "err-rid" in str(error)
    assert len(httpx_mock.get_requests()) == 1


def test_401_hints_clock_skew_and_expired_token(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        status_code=401, json={"code": "NotAuthenticated", "message": "Invalid signature"}
    )
    with pytest.raises(odsc_llm.AuthenticationError, match=r"clock.*session token"):
        twin.call(prompt="x")


def test_404_says_not_found_or_not_allowed(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        status_code=404,
        json={"code": "NotAuthorizedOrNotFound", "message": "Authorization failed or not found"},
    )
    with pytest.raises(odsc_llm.NotFoundError, match=r"no deployment exists.*not allowed"):
        twin.call(prompt="x")


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (
            b'{"object":"error","message":"old vllm says no","type":"BadRequestError","code":400}',
            "application/json",
            "old vllm says no",
        ),
        (
            b'{"error":{"message":"new vllm says no","type":"BadRequestError",'
            b'"param":null,"code":400}}',
            "application/json",
            "new vllm says no",
        ),
        (
            b"<html><head><title>400 Bad Request</title></head><body><h1>Gateway</h1>"
            b"<p>nginx rejected it</p></body></html>",
            "text/html",
            "nginx rejected it",
        ),
        (b"plain words", "text/plain", "plain words"),
        (b"", "text/plain", "empty response body"),
    ],
)
def test_error_messages_are_readable_in_every_shape(
    twin: Twin,
    httpx_mock: HTTPXMock,
    body: bytes,
    content_type: str,
    expected: str,
) -> None:
    httpx_mock.add_response(status_code=400, content=body, headers={"content-type": content_type})
    with pytest.raises(odsc_llm.BadRequestError) as info:
        twin.call(prompt="x")
    assert expected in str(info.value)
    assert "<" not in str(info.value).split("Hint")[0]


def test_invalid_success_body_is_a_typed_error(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"unexpected": True}, headers={"opc-request-id": "bad-body"})
    with pytest.raises(odsc_llm.APIResponseValidationError, match="bad-body"):
        twin.call(prompt="x")


# -- retries ---------------------------------------------------------------------------


def test_retry_after_is_honoured_and_each_attempt_signed_afresh(
    twin: Twin, httpx_mock: HTTPXMock, sleep: RecordingSleep
) -> None:
    httpx_mock.add_response(status_code=429, headers={"retry-after": "3"}, json={"message": "slow"})
    httpx_mock.add_response(status_code=503, headers={"retry-after-ms": "250"}, text="busy")
    httpx_mock.add_response(json=COMPLETION)
    result = twin.call(prompt="x")
    assert result.choices[0].text == "Hello!"
    assert sleep.waits == [3.0, 0.25]
    auths = [r.headers["authorization"] for r in httpx_mock.get_requests()]
    assert auths == ["Signature test-1", "Signature test-2", "Signature test-3"]


def test_retry_after_http_date_and_cap(sleep: RecordingSleep, httpx_mock: HTTPXMock) -> None:
    client = odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), _sleep=sleep, total_timeout=None)
    httpx_mock.add_response(status_code=503, headers={"retry-after": "3600"})
    httpx_mock.add_response(
        status_code=503, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    httpx_mock.add_response(json=COMPLETION)
    client.completions.create(prompt="x")
    # A date in the past is no usable Retry-After (DESIGN): jittered backoff instead.
    assert sleep.waits[0] == 60.0 and 0 <= sleep.waits[1] <= 1.0


def test_backoff_without_retry_after_is_jittered_and_bounded(
    twin: Twin, httpx_mock: HTTPXMock, sleep: RecordingSleep
) -> None:
    for status in (500, 502):
        httpx_mock.add_response(status_code=status)
    httpx_mock.add_response(json=COMPLETION)
    twin.call(prompt="x")
    assert len(sleep.waits) == 2
    assert 0 <= sleep.waits[0] <= 0.5 and 0 <= sleep.waits[1] <= 1.0


def test_max_retries_is_exact(sleep: RecordingSleep, httpx_mock: HTTPXMock) -> None:
    client = odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), max_retries=3, _sleep=sleep)
    for _ in range(4):
        httpx_mock.add_response(status_code=503, headers={"opc-request-id": "last"})
    with pytest.raises(odsc_llm.InternalServerError) as info:
        client.completions.create(prompt="x")
    assert info.value.request_id == "last"
    assert len(httpx_mock.get_requests()) == 4
    assert len(sleep.waits) == 3


def test_max_retries_zero_means_one_attempt(httpx_mock: HTTPXMock) -> None:
    client = odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), max_retries=0)
    httpx_mock.add_response(status_code=503)
    with pytest.raises(odsc_llm.InternalServerError):
        client.completions.create(prompt="x")
    assert len(httpx_mock.get_requests()) == 1


def test_per_call_max_retries(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429)
    with pytest.raises(odsc_llm.RateLimitError):
        twin.call(prompt="x", max_retries=0)
    assert len(httpx_mock.get_requests()) == 1


def test_connection_errors_are_retried(
    twin: Twin, httpx_mock: HTTPXMock, sleep: RecordingSleep
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    httpx_mock.add_exception(httpx.ReadTimeout("slow"))
    httpx_mock.add_response(json=COMPLETION)
    assert twin.call(prompt="x").choices[0].text == "Hello!"
    assert len(sleep.waits) == 2


def test_connection_and_timeout_errors_are_typed(httpx_mock: HTTPXMock) -> None:
    client = odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), max_retries=0)
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    with pytest.raises(odsc_llm.APIConnectionError, match="refused"):
        client.completions.create(prompt="x")
    httpx_mock.add_exception(httpx.ReadTimeout("slow"))
    with pytest.raises(odsc_llm.APITimeoutError):
        client.completions.create(prompt="x")


def test_total_timeout_stops_retries_that_would_overrun(
    sleep: RecordingSleep, httpx_mock: HTTPXMock
) -> None:
    client = odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), timeout=30, _sleep=sleep)
    assert client.total_timeout == 30
    httpx_mock.add_response(status_code=429, headers={"retry-after": "45"})
    with pytest.raises(odsc_llm.RateLimitError):
        client.completions.create(prompt="x")
    assert sleep.waits == []
    assert len(httpx_mock.get_requests()) == 1


def test_retries_are_logged_with_request_id(
    client: odsc_llm.Client, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(status_code=503, headers={"opc-request-id": "retry-rid"})
    httpx_mock.add_response(json=COMPLETION)
    with caplog.at_level(logging.INFO, logger="odsc_llm"):
        client.completions.create(prompt="x")
    assert any("retry-rid" in r.getMessage() and "503" in r.getMessage() for r in caplog.records)
    assert not any("Signature" in r.getMessage() for r in caplog.records)


# -- streams ---------------------------------------------------------------------------


def test_stream_request_and_typed_chunks(client: odsc_llm.Client, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=STREAM,
        headers=SSE_HEADERS,
        content=sse(completion_chunk("Hel"), done=False)
        + b": ping\n\n"
        + sse(completion_chunk("lo", "stop")),
    )
    with client.completions.create(prompt="x", stream=True) as stream:
        chunks = list(stream)
    assert [c.choices[0].text for c in chunks] == ["Hel", "lo"]
    assert all(isinstance(c, types.Completion) for c in chunks)
    assert chunks[0].request_id == "stream-rid"
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["enable-streaming"] == "true"
    assert json.loads(request.content)["stream"] is True


def test_stream_text_and_final_completion(twin: Twin, httpx_mock: HTTPXMock) -> None:
    body = sse(completion_chunk("Hel"), completion_chunk("lo", "stop"))
    httpx_mock.add_response(headers=SSE_HEADERS, content=body)
    httpx_mock.add_response(headers=SSE_HEADERS, content=body)
    assert twin.stream(prompt="x") == ["Hel", "lo"]
    final = twin.final(prompt="x")
    assert isinstance(final, types.Completion)
    assert final.choices[0].text == "Hello"
    assert final.choices[0].finish_reason == "stop"
    assert final.request_id == "stream-rid"


def test_stream_endpoint_option_uses_predict(httpx_mock: HTTPXMock) -> None:
    client = odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), stream_endpoint="predict")
    httpx_mock.add_response(
        url=PREDICT, headers=SSE_HEADERS, content=sse(completion_chunk("a", "stop"))
    )
    assert [c.choices[0].text for c in client.completions.create(prompt="x", stream=True)] == ["a"]


def test_chat_stream_joins_tool_call_deltas(client: odsc_llm.Client, httpx_mock: HTTPXMock) -> None:
    def chunk(
        delta: dict[str, Any], finish: str | None = None, usage: Any = None
    ) -> dict[str, Any]:
        return {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "odsc-llm",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            "usage": usage,
        }

    call0 = {
        "index": 0,
        "id": "call_a",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    events = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"tool_calls": [call0]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        chunk({}, "tool_calls"),
        {
            **chunk({}),
            "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        },
    ]
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse(*events))
    stream = client.chat.completions.create(
        messages=[{"role": "user", "content": "weather?"}],
        stream=True,
        tools=[{"type": "function", "function": {"name": "get_weather"}}],
        stream_options={"include_usage": True},
    )
    final = stream.get_final_completion()
    assert isinstance(final, types.ChatCompletion)
    message = final.choices[0].message
    assert message.tool_calls is not None
    assert [(t.id, t.function.name, t.function.arguments) for t in message.tool_calls] == [
        ("call_a", "get_weather", '{"city": "Paris"}'),
        ("call_b", "get_time", "{}"),
    ]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.total_tokens == 12


def test_stream_without_done_is_an_error(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        headers=SSE_HEADERS,
        content=sse(completion_chunk("Hel"), completion_chunk("lo"), done=False),
    )
    received: list[str] = []
    with pytest.raises(odsc_llm.StreamError, match=r"without 'data: \[DONE\]'") as info:
        twin.stream(prompt="x", received=received)
    assert received == ["Hel", "lo"]
    assert info.value.partial_text == "Hello"
    assert info.value.request_id == "stream-rid"


def test_error_event_in_a_200_stream_is_an_error(twin: Twin, httpx_mock: HTTPXMock) -> None:
    error = {"error": {"message": "prompt too long", "type": "BadRequestError", "code": 400}}
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse(completion_chunk("a"), error))
    with pytest.raises(odsc_llm.StreamError, match="prompt too long"):
        twin.stream(prompt="x")


def test_old_vllm_error_object_in_stream(twin: Twin, httpx_mock: HTTPXMock) -> None:
    error = {"object": "error", "message": "engine dead", "type": "InternalServerError"}
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse(error))
    with pytest.raises(odsc_llm.StreamError, match="engine dead"):
        twin.stream(prompt="x")


def test_non_json_chunk_is_an_error(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse(completion_chunk("a"), "not json{"))
    with pytest.raises(odsc_llm.StreamError, match="not JSON"):
        twin.stream(prompt="x")


def test_non_sse_answer_to_a_stream_is_an_error(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"message": "not streaming today"})
    with pytest.raises(odsc_llm.StreamError, match="not streaming today"):
        twin.stream(prompt="x")


class BrokenStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Sends some bytes, then the connection drops."""

    def __init__(self, first: bytes) -> None:
        self.first = first
        self.closed = False

    def __iter__(self) -> Any:
        yield self.first
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message")

    async def __aiter__(self) -> Any:
        yield self.first
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message")

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def test_mid_stream_disconnect_is_typed_and_not_retried(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        headers=SSE_HEADERS, stream=BrokenStream(sse(completion_chunk("Hi"), done=False))
    )
    with pytest.raises(odsc_llm.StreamError, match="RemoteProtocolError") as info:
        twin.stream(prompt="x")
    assert info.value.partial_text == "Hi"
    assert len(httpx_mock.get_requests()) == 1


def test_stream_failing_before_first_event_is_retried(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503, text="warming up")
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse(completion_chunk("ok", "stop")))
    assert twin.stream(prompt="x") == ["ok"]
    assert len(httpx_mock.get_requests()) == 2


class TrackingStream(httpx.SyncByteStream):
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False
        self.sent = 0

    def __iter__(self) -> Any:
        for i in range(self.n):
            self.sent += 1
            yield sse(completion_chunk(str(i)), done=False)
        yield b"data: [DONE]\n\n"

    def close(self) -> None:
        self.closed = True


def test_break_and_with_close_the_connection(
    client: odsc_llm.Client, httpx_mock: HTTPXMock
) -> None:
    first, second = TrackingStream(1000), TrackingStream(1000)
    httpx_mock.add_response(headers=SSE_HEADERS, stream=first)
    httpx_mock.add_response(headers=SSE_HEADERS, stream=second)
    stream = client.completions.create(prompt="x", stream=True)
    for _ in stream:
        break
    assert first.closed and first.sent < 1000
    with client.completions.create(prompt="x", stream=True) as stream2:
        next(stream2)
    assert second.closed and second.sent < 1000


def test_state_hint_names_the_lifecycle_state(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odsc_llm import control_plane

    looked_up: list[str] = []

    def fake_state(deployment: odsc_llm.Deployment, auth: Any) -> str:
        looked_up.append(deployment.ocid)
        return "INACTIVE"

    monkeypatch.setattr(control_plane, "deployment_state", fake_state)
    quiet = odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), max_retries=0)
    httpx_mock.add_response(status_code=404, json={"code": "NotAuthorizedOrNotFound"})
    with pytest.raises(odsc_llm.NotFoundError) as info:
        quiet.completions.create(prompt="x")
    assert "INACTIVE" not in str(info.value) and looked_up == []  # no extra call unless asked

    hinted = odsc_llm.Client(ENDPOINT, auth=httpx.Auth(), max_retries=0, state_hint=True)
    httpx_mock.add_response(status_code=404, json={"code": "NotAuthorizedOrNotFound"})
    with pytest.raises(odsc_llm.NotFoundError, match="The deployment is INACTIVE"):
        hinted.completions.create(prompt="x")
    assert hinted.deployment_state() == "INACTIVE"
    assert len(looked_up) == 2


def test_notebook_reprs_and_stream_print(client: odsc_llm.Client, httpx_mock: HTTPXMock) -> None:
    import io

    httpx_mock.add_response(json=COMPLETION, headers={"opc-request-id": "nb-rid"})
    card = client.completions.create(prompt="x")._repr_html_()
    assert "Hello!" in card and "nb-rid" in card and "stop" in card
    httpx_mock.add_response(
        headers=SSE_HEADERS, content=sse(completion_chunk("<b>"), completion_chunk("!", "stop"))
    )
    out = io.StringIO()
    text = client.completions.create(prompt="x", stream=True).print(file=out)
    assert text == "<b>!" and out.getvalue() == "<b>!\n"
    assert odsc_llm.BatchResult.__name__ == "BatchResult"
    assert odsc_llm.APIResponse.__name__ == "APIResponse"


def test_done_without_finish_reason_is_an_error(twin: Twin, httpx_mock: HTTPXMock) -> None:
    """llama.cpp sends [DONE] after cutting a generation short, with no finish_reason."""
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse(completion_chunk("Hel")))
    with pytest.raises(odsc_llm.StreamError, match="finish_reason") as info:
        twin.stream(prompt="x")
    assert info.value.partial_text == "Hel"


def test_done_with_no_answer_at_all_is_an_error(twin: Twin, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse())
    with pytest.raises(odsc_llm.StreamError, match="without any answer"):
        twin.stream(prompt="x")


def test_every_choice_must_finish(twin: Twin, httpx_mock: HTTPXMock) -> None:
    first = completion_chunk("a", "stop")
    second = completion_chunk("b")
    second["choices"][0]["index"] = 1
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse(first, second))
    with pytest.raises(odsc_llm.StreamError, match=r"choice\(s\) 1 had"):
        twin.stream(prompt="x", n=2)
    second["choices"][0]["finish_reason"] = "length"
    httpx_mock.add_response(headers=SSE_HEADERS, content=sse(first, second))
    final = twin.final(prompt="x", n=2)
    assert [c.text for c in final.choices] == ["a", "b"]


# -- request plumbing: GET, strict JSON, headers -----------------------------------------


class ModelList(ResponseType):
    object: str
    data: list[dict[str, Any]]


def test_get_sends_no_body_and_content_length_0(twin: Twin, httpx_mock: HTTPXMock) -> None:
    """The service answers 411 to a body-less request without content-length; the GET
    goes to /predict with its route in the header (header routing, the default)."""
    httpx_mock.add_response(url=PREDICT, json={"object": "list", "data": [{"id": "odsc-llm"}]})
    models = twin.run(twin.client._request("/v1/models", None, ModelList, None, {}, method="GET"))
    assert models.data == [{"id": "odsc-llm"}]
    request = httpx_mock.get_request()
    assert request is not None
    assert request.method == "GET"
    assert request.url == PREDICT
    assert request.headers["content-length"] == "0" and request.content == b""
    assert request.headers["route"] == "/v1/models" and "content-type" not in request.headers
    assert request.headers["authorization"] == "Signature test-1"


def test_post_with_path_routing_puts_the_route_in_the_url(
    twin: Twin, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=PREDICT + "/tokenize", json={"object": "list", "data": []})
    client = twin.client.copy(routing="path")
    twin.run(client._request("/tokenize", {"prompt": "x"}, ModelList, None, {}))
    request = httpx_mock.get_request()
    assert request is not None and request.method == "POST"
    # Every body carries the client's model (first), as create() bodies do.
    assert "route" not in request.headers and json.loads(request.content) == {
        "model": "odsc-llm",
        "prompt": "x",
    }


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"temperature": float("nan")}, "temperature"),
        ({"top_p": float("inf")}, "top_p"),
        ({"extra_body": {"guided": {"w": [1.0, float("-inf")]}}}, r"\['guided'\]\['w'\]\[1\]"),
        ({"prompt": "bad \ud83d"}, "prompt"),
    ],
)
def test_what_json_cannot_carry_is_refused_before_sending(
    twin: Twin, httpx_mock: HTTPXMock, kwargs: dict[str, Any], where: str
) -> None:
    kwargs = {"prompt": "x", **kwargs}
    with pytest.raises(InvalidRequestError, match=where) as info:
        twin.call(**kwargs)
    assert isinstance(info.value, ValueError)
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize("value", ["a\r\nInjected: 1", "a\nb", "a\rb"])
def test_header_values_with_line_breaks_are_a_local_error(
    twin: Twin, httpx_mock: HTTPXMock, value: str
) -> None:
    with pytest.raises(InvalidRequestError, match="line break"):
        twin.call(prompt="x", extra_headers={"x-mine": value})
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize("value", [True, -1, 1.5, "2"])
def test_per_call_max_retries_is_validated(twin: Twin, value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="max_retries"):
        twin.call(prompt="x", max_retries=value)


def test_answer_with_a_lone_surrogate_is_read_with_a_replacement_character(
    twin: Twin, httpx_mock: HTTPXMock
) -> None:
    # A server that cut a UTF-16 pair in half: the rest of the answer is not lost.
    body = (
        b'{"id":"c","object":"text_completion","created":1,"model":"m",'
        b'"choices":[{"index":0,"text":"smile \\ud83d!","finish_reason":"stop"}]}'
    )
    httpx_mock.add_response(content=body, headers={"content-type": "application/json"})
    completion = twin.call(prompt="x")
    assert completion.choices[0].text == "smile \ufffd!"
