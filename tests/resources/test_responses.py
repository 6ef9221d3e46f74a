"""``client.responses`` (the Responses API) against the emulator, sync and async twins.

Every call here is signed and the emulator verifies the signature (a bad one is a 401),
so each passing call also proves the request was signed correctly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from odsc_llm.errors import (
    BadRequestError,
    InvalidRequestError,
    LengthFinishReasonError,
    NotFoundError,
    OutputValidationError,
    StreamError,
    StreamTimeoutError,
)
from odsc_llm.testing import LocalDeployment
from odsc_llm.types.responses import (
    ParsedResponse,
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
)

from ..support.clients import Twin
from ..support.hostile import HostileServer, stream_pings

SYNC = pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


class Weather(BaseModel):
    city: str
    celsius: int


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


@pytest.fixture(params=[True, False], ids=["sync", "async"])
def twin(request: pytest.FixtureRequest, local: LocalDeployment) -> Iterator[Twin]:
    twin = Twin(request.param, local.deployment, auth=local.auth, max_retries=0)
    yield twin
    twin.close()


def _signed_and_verified(local: LocalDeployment) -> list[tuple[str, str, str | None]]:
    """(method, endpoint, route) of each request, after checking each was signed and
    passed the emulator's verifier (it answers 401 otherwise)."""
    seen = []
    for record in local.requests:
        assert record.headers["authorization"].startswith("Signature ")
        if record.method == "POST":  # the body's hash and length are signed (empty or not)
            assert "x-content-sha256" in record.headers["authorization"]
        assert record.status == 200, record
        seen.append((record.method, record.path.rsplit("/", 1)[1], record.headers.get("route")))
    return seen


def _read(twin: Twin, stream: Any) -> list[ResponseStreamEvent]:
    if twin.loop is None:
        with stream:
            return list(stream)

    async def read() -> list[ResponseStreamEvent]:
        async with stream:
            return [event async for event in stream]

    return twin.run(read())


def _pieces(twin: Twin, iterator: Any) -> list[str]:
    if twin.loop is None:
        return list(iterator)

    async def read() -> list[str]:
        return [piece async for piece in iterator]

    return twin.run(read())


# ---- create ----------------------------------------------------------------------------


def test_create_answers_a_typed_response_through_the_route_header(
    twin: Twin, local: LocalDeployment
) -> None:
    response = twin.call("responses.create", input="Hello there", instructions="Be brief.")
    assert isinstance(response, Response)
    assert response.status == "completed"
    assert response.output_text == "You said: Hello there"
    [message] = response.output
    assert isinstance(message, ResponseOutputMessage) and message.role == "assistant"
    assert response.usage is not None and response.usage.output_tokens == 4
    assert response.request_id == local.requests[-1].request_id
    assert _signed_and_verified(local) == [("POST", "predict", "/v1/responses")]
    sent = local.requests[-1].json()
    assert list(sent)[:2] == ["model", "input"]  # as the OpenAI SDK orders them
    assert sent == {"model": "odsc-llm", "input": "Hello there", "instructions": "Be brief."}


def test_create_with_message_items_and_earlier_output(twin: Twin) -> None:
    first = twin.call("responses.create", input=[{"role": "user", "content": "one"}])
    again = twin.call(
        "responses.create",
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": "one"}]},
            *first.output,  # pydantic items of an earlier answer go back as they came
            {"role": "user", "content": "two"},
        ],
    )
    assert again.output_text == "You said: two"


def test_tools_give_a_function_call_item(twin: Twin) -> None:
    response = twin.call(
        "responses.create", input="call get_weather for Paris", tools=[WEATHER_TOOL]
    )
    [call] = response.function_calls
    assert isinstance(call, ResponseFunctionToolCall)
    assert call.name == "get_weather" and call.call_id
    assert json.loads(call.arguments) == {"city": "You said: call get_weather for Paris"}
    assert response.output_text == ""
    answered = twin.call(
        "responses.create",
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER_TOOL],
    )
    assert answered.output_text == "You said: sunny"


def test_reasoning_gives_a_reasoning_item_first(twin: Twin) -> None:
    response = twin.call("responses.create", input="why", reasoning={"effort": "low"})
    assert isinstance(response.output[0], ResponseReasoningItem)
    assert response.reasoning_text == "Thinking about: why"
    assert response.output_text == "You said: why"


def test_max_output_tokens_makes_an_incomplete_response(twin: Twin) -> None:
    response = twin.call("responses.create", input="a b c d e", max_output_tokens=2)
    assert response.status == "incomplete"
    assert response.incomplete_details == {"reason": "max_output_tokens"}
    assert response.output_text == "You said:"


@SYNC
def test_bad_arguments_are_typed_errors_before_sending(sync: bool, local: LocalDeployment) -> None:
    twin = Twin(sync, local.deployment, auth=local.auth)
    try:
        for bad, match in [
            ({"input": ""}, "empty string"),
            ({"input": []}, "empty list"),
            ({"input": 3}, "string or a list"),
            ({"input": ["hi"]}, r"input\[0\] must be a dict"),
            ({"input": "x", "temprature": 1}, "temprature"),
            ({"input": "x", "max_output_tokens": float("nan")}, "max_output_tokens"),
        ]:
            with pytest.raises(InvalidRequestError, match=match):
                twin.call("responses.create", **bad)
        for bad_id in ["", "a/b", "x?y=1", "id with space", 7]:
            with pytest.raises(InvalidRequestError, match="response_id"):
                twin.run(twin.client.responses.retrieve(bad_id))
        with pytest.raises(InvalidRequestError, match="extra_body"):
            twin.run(twin.client.responses.cancel("resp_1", extra_body={"a": 1}))
        with pytest.raises(InvalidRequestError, match="text_format"):
            twin.call("responses.parse", input="x", text_format=Weather, text={})
    finally:
        twin.close()
    assert local.requests == []


# ---- parse -----------------------------------------------------------------------------


def test_parse_gives_output_parsed(twin: Twin, local: LocalDeployment) -> None:
    parsed = twin.call("responses.parse", input="Paris", text_format=Weather)
    assert isinstance(parsed, ParsedResponse)
    assert parsed.output_parsed == Weather(city="You said: Paris", celsius=0)
    assert parsed.output_text == '{"city": "You said: Paris", "celsius": 0}'
    sent = local.requests[-1].json()["text"]["format"]
    assert sent["type"] == "json_schema" and sent["name"] == "Weather" and sent["strict"]
    assert sent["schema"]["required"] == ["city", "celsius"]


def test_parse_with_a_schema_dict_and_typed_failures(twin: Twin) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert twin.call("responses.parse", input="x", text_format=schema).output_parsed == {"n": 0}
    with pytest.raises(OutputValidationError, match="Weather"):
        twin.call("responses.parse", input='{"city": 1}', text_format=Weather)
    with pytest.raises(LengthFinishReasonError, match="max_output_tokens"):
        twin.call("responses.parse", input="x", text_format=Weather, max_output_tokens=1)


# ---- retrieve and cancel ---------------------------------------------------------------


def test_retrieve_a_stored_response(twin: Twin, local: LocalDeployment) -> None:
    created = twin.call("responses.create", input="keep me")
    got = twin.run(twin.client.responses.retrieve(created.id))
    assert got.id == created.id and got.output_text == "You said: keep me"
    follow = twin.call("responses.create", input="next", previous_response_id=created.id)
    assert follow.previous_response_id == created.id
    assert _signed_and_verified(local)[1] == ("GET", "predict", f"/v1/responses/{created.id}")
    get = local.requests[1]
    assert get.body == b"" and get.headers["content-length"] == "0"


def test_retrieve_unknown_or_unstored_is_not_found(twin: Twin) -> None:
    unstored = twin.call("responses.create", input="forget me", store=False)
    for response_id in ["resp_unknown", unstored.id]:
        with pytest.raises(NotFoundError, match=f"Response with id '{response_id}' not found"):
            twin.run(twin.client.responses.retrieve(response_id))
    with pytest.raises(NotFoundError):
        twin.call("responses.create", input="x", previous_response_id="resp_unknown")


def test_cancel_a_background_response(twin: Twin, local: LocalDeployment) -> None:
    queued = twin.call("responses.create", input="later", background=True)
    assert queued.status == "queued" and queued.output == []
    cancelled = twin.run(twin.client.responses.cancel(queued.id))
    assert cancelled.status == "cancelled" and cancelled.id == queued.id
    assert twin.run(twin.client.responses.retrieve(queued.id)).status == "cancelled"
    cancel = local.requests[1]
    assert (cancel.method, cancel.headers["route"]) == ("POST", f"/v1/responses/{queued.id}/cancel")
    assert cancel.body == b"" and cancel.headers["content-length"] == "0"
    _signed_and_verified(local)


def test_background_response_completes_and_finished_ones_cannot_be_cancelled(twin: Twin) -> None:
    queued = twin.call("responses.create", input="later", background=True)
    done = twin.run(twin.client.responses.retrieve(queued.id))
    assert done.status == "completed" and done.output_text == "You said: later"
    with pytest.raises(BadRequestError, match="Cannot cancel a synchronous response"):
        twin.run(twin.client.responses.cancel(queued.id))


# ---- streams ---------------------------------------------------------------------------


def test_stream_yields_typed_events_to_response_completed(
    twin: Twin, local: LocalDeployment
) -> None:
    events = _read(twin, twin.call("responses.create", input="hi you", stream=True))
    assert isinstance(events[0], ResponseCreatedEvent)
    assert isinstance(events[-1], ResponseCompletedEvent)
    assert events[-1].response.output_text == "You said: hi you"
    deltas = [e.delta for e in events if isinstance(e, ResponseTextDeltaEvent)]
    assert deltas == ["You", " said:", " hi", " you"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert {e.request_id for e in events} == {local.requests[-1].request_id}
    assert _signed_and_verified(local) == [("POST", "predictWithResponseStream", "/v1/responses")]
    assert local.requests[-1].json()["stream"] is True


def test_stream_text_reasoning_text_and_final_response(twin: Twin) -> None:
    stream = twin.call("responses.create", input="hm", stream=True, reasoning={"effort": "low"})
    assert _pieces(twin, stream.text()) == ["You", " said:", " hm"]
    stream = twin.call("responses.create", input="hm", stream=True, reasoning={"effort": "low"})
    assert _pieces(twin, stream.reasoning_text()) == ["Thinking", " about:", " hm"]
    stream = twin.call("responses.create", input="hm", stream=True, reasoning={"effort": "low"})
    final = twin.run(stream.get_final_response())
    assert isinstance(final, Response)
    assert (final.output_text, final.reasoning_text) == ("You said: hm", "Thinking about: hm")
    assert final.request_id == stream.request_id
    with pytest.raises(TypeError, match="get_final_response"):
        twin.run(stream.get_final_completion())


def test_streamed_function_call(twin: Twin) -> None:
    stream = twin.call(
        "responses.create", input="get_weather now", tools=[WEATHER_TOOL], stream=True
    )
    final = twin.run(stream.get_final_response())
    [call] = final.function_calls
    assert json.loads(call.arguments) == {"city": "You said: get_weather now"}


def test_truncated_stream_raises_stream_error_with_partial_text(
    twin: Twin, local: LocalDeployment
) -> None:
    local.faults.push(cut_before_done=True)
    stream = twin.call("responses.create", input="a b c d e f g h", stream=True)
    with pytest.raises(StreamError, match=r"before its 'response\.completed' event") as info:
        twin.run(stream.get_final_response())
    assert info.value.partial_text.startswith("You said:")
    assert info.value.request_id == local.requests[-1].request_id


def test_error_event_raises_stream_error(twin: Twin, local: LocalDeployment) -> None:
    local.faults.push(error_event=True, after_events=6)
    received: list[str] = []
    stream = twin.call("responses.create", input="a b c d", stream=True)
    with pytest.raises(StreamError, match="The model server failed while generating") as info:
        if twin.loop is None:
            received.extend(stream.text())
        else:

            async def read() -> None:
                async for piece in stream.text():
                    received.append(piece)

            twin.run(read())
    assert received == ["You", " said:"]
    assert info.value.partial_text == "You said:"


def test_non_json_event_raises_stream_error(twin: Twin, local: LocalDeployment) -> None:
    local.faults.push(non_json_chunk=True, after_events=2)
    stream = twin.call("responses.create", input="a", stream=True)
    with pytest.raises(StreamError, match="not JSON"):
        twin.run(stream.get_final_response())


_CREATED = {
    "type": "response.created",
    "sequence_number": 0,
    "response": {"id": "resp_1", "status": "in_progress", "output": []},
}
_DELTA = {
    "type": "response.output_text.delta",
    "sequence_number": 1,
    "item_id": "msg_1",
    "output_index": 0,
    "content_index": 0,
    "delta": "Hel",
}


def _events(*objs: dict[str, Any]) -> bytes:
    return b"".join(f"event: {o['type']}\ndata: {json.dumps(o)}\n\n".encode() for o in objs)


@SYNC
def test_stream_idle_timeout_bounds_the_gap_between_events(sync: bool) -> None:
    """SSE comments (pings) do not count as events: the stall is noticed."""
    with HostileServer(stream_pings(0.2, first=_events(_CREATED, _DELTA))) as server:
        twin = Twin(sync, server.url, auth=httpx.Auth(), stream_idle_timeout=1.0, max_retries=0)
        try:
            stream = twin.call("responses.create", input="x", stream=True)
            with pytest.raises(StreamTimeoutError, match="stalled") as info:
                twin.run(stream.get_final_response())
        finally:
            twin.close()
    assert info.value.partial_text == "Hel"
    assert not info.value.before_first_event


# ---- routing="path" (Multiple Inference Endpoints) ---------------------------------------


@SYNC
def test_path_routing_puts_the_id_routes_in_the_url(
    sync: bool, mie_emulator: LocalDeployment
) -> None:
    local = mie_emulator  # the path form is routed only with Multiple Inference Endpoints
    twin = Twin(sync, local.deployment, auth=local.auth, max_retries=0, routing="path")
    try:
        queued = twin.call("responses.create", input="x", background=True)
        twin.run(twin.client.responses.cancel(queued.id))
        assert twin.run(twin.client.responses.retrieve(queued.id)).status == "cancelled"
        final = twin.run(twin.call("responses.create", input="y", stream=True).get_final_response())
        assert final.output_text == "You said: y"
    finally:
        twin.close()
    prefix = f"/{local.ocid}"
    seen = [(r.method, r.path.removeprefix(prefix), r.headers.get("route")) for r in local.requests]
    assert seen == [
        ("POST", "/predict/v1/responses", None),
        ("POST", f"/predict/v1/responses/{queued.id}/cancel", None),
        ("GET", f"/predict/v1/responses/{queued.id}", None),
        ("POST", "/predictWithResponseStream/v1/responses", None),
    ]
    _signed_and_verified(local)


def test_path_routing_keeps_a_bounded_number_of_parsed_urls(local: LocalDeployment) -> None:
    from odsc_llm import _constants as C

    client = local.client(routing="path", max_retries=0)
    try:
        for n in range(C.MAX_CACHED_ROUTE_URLS + 10):
            with pytest.raises(NotFoundError):
                client.responses.retrieve(f"resp_{n}")
        assert len(client._route_urls) <= C.MAX_CACHED_ROUTE_URLS
    finally:
        client.close()
