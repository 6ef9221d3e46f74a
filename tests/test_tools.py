"""Tools: ``function_tool``, ``parsed_arguments``, and streamed tool calls joined exactly."""

from __future__ import annotations

import functools
import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from odsc_llm._errors import InvalidRequestError, OutputValidationError
from odsc_llm._tools import function_tool
from odsc_llm.testing import LocalDeployment
from odsc_llm.types import ChatCompletion
from odsc_llm.types.chat import ChatCompletionMessageToolCall

from .support.aqua import MODES, call, client_of

pytest.importorskip("uvicorn")


class GetWeather(BaseModel):
    """Current weather of a city."""

    city: str
    unit: Literal["C", "F"] = "C"
    days: int = Field(default=1, ge=1)


def get_time(zone: str, twenty_four_hours: bool = True) -> str:
    """The time in a zone.

    Longer text that is not part of the description.
    """
    return zone


def test_function_tool_from_a_model() -> None:
    tool = function_tool(GetWeather)
    assert tool == {
        "type": "function",
        "function": {
            "name": "GetWeather",
            "description": "Current weather of a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"title": "City", "type": "string"},
                    "unit": {"default": "C", "enum": ["C", "F"], "title": "Unit", "type": "string"},
                    "days": {"default": 1, "minimum": 1, "title": "Days", "type": "integer"},
                },
                "required": ["city"],
            },
        },
    }


def test_function_tool_from_a_function_with_overrides_and_strict() -> None:
    tool = function_tool(get_time, name="clock", description="What time is it", strict=True)
    function = tool["function"]
    assert (function["name"], function["description"], function["strict"]) == (
        "clock",
        "What time is it",
        True,
    )
    params = function["parameters"]
    assert params["properties"]["zone"]["type"] == "string"
    assert params["properties"]["twenty_four_hours"]["type"] == "boolean"
    # strict mode: every property required, nothing else allowed.
    assert params["required"] == ["zone", "twenty_four_hours"]
    assert params["additionalProperties"] is False
    assert function_tool(get_time)["function"]["description"] == "The time in a zone."
    assert "strict" not in function_tool(get_time)["function"]


def test_function_tool_refuses_what_it_cannot_describe() -> None:
    def anything(*args: int) -> None:
        pass

    with pytest.raises(TypeError, match=r"\*args/\*\*kwargs"):
        function_tool(anything)
    with pytest.raises(ValueError, match="pydantic model class or a function"):
        function_tool(42)  # type: ignore[arg-type]


TOOLS = [function_tool(GetWeather), function_tool(get_time)]
FORCED = {"type": "function", "function": {"name": "GetWeather"}}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("prompt", "tool_choice", "name"),
    [
        ("weather in Paris", FORCED, "GetWeather"),
        ("what is get_time now", "auto", "get_time"),
        ("anything", "required", "GetWeather"),
    ],
)
async def test_streamed_tool_call_joins_to_the_non_streamed_answer(
    odsc_llm_local: LocalDeployment, mode: str, prompt: str, tool_choice: object, name: str
) -> None:
    messages = [{"role": "user", "content": prompt}]
    async with client_of(odsc_llm_local, mode) as client:
        full = await call(
            client.chat.completions.create(messages=messages, tools=TOOLS, tool_choice=tool_choice)
        )
        stream = await call(
            client.chat.completions.create(
                messages=messages,
                tools=TOOLS,
                tool_choice=tool_choice,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        joined = await call(stream.get_final_completion())
    assert isinstance(joined, ChatCompletion)
    (call_full,) = full.choices[0].message.tool_calls
    assert call_full.function.name == name
    assert full.choices[0].message.content == ""  # what vLLM sends
    assert full.choices[0].finish_reason == "tool_calls"
    # Field for field (the tool-call ids are the emulator's, new for each answer).
    joined_calls = joined.choices[0].message.tool_calls or []
    assert [c.id.startswith("chatcmpl-tool-") for c in joined_calls] == [True]
    call_full.id = joined_calls[0].id
    assert [c.model_dump() for c in joined.choices] == [c.model_dump() for c in full.choices]
    assert joined.usage == full.usage
    assert joined.model == full.model


@pytest.mark.parametrize("mode", MODES)
async def test_parsed_arguments(odsc_llm_local: LocalDeployment, mode: str) -> None:
    messages = [{"role": "user", "content": "weather in Paris"}]
    async with client_of(odsc_llm_local, mode) as client:
        r = await call(
            client.chat.completions.create(messages=messages, tools=TOOLS, tool_choice=FORCED)
        )
    (tool_call,) = r.choices[0].message.tool_calls
    args = tool_call.parsed_arguments(GetWeather)
    assert isinstance(args, GetWeather)
    assert args == GetWeather(city="You said: weather in Paris", unit="C", days=1)
    assert json.loads(tool_call.function.arguments) == args.model_dump()


def test_parsed_arguments_that_do_not_fit() -> None:
    answer = ChatCompletion.model_validate(
        {
            "choices": [
                {
                    "message": {
                        "content": "",
                        "tool_calls": [
                            {
                                "id": "c",
                                "function": {"name": "GetWeather", "arguments": '{"days": 0}'},
                            }
                        ],
                    }
                }
            ]
        }
    )
    (tool_call,) = answer.choices[0].message.tool_calls or []
    with pytest.raises(OutputValidationError, match="tool call arguments") as info:
        tool_call.parsed_arguments(GetWeather)
    assert info.value.raw == '{"days": 0}'
    assert {e["loc"][0] for e in info.value.errors} == {"city", "days"}


def _weather_call() -> ChatCompletionMessageToolCall:
    return ChatCompletionMessageToolCall.model_validate(
        {"id": "c", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    )


def test_parsed_arguments_never_runs_a_function() -> None:
    """Validating a tool's arguments must not run the tool (pydantic would call it)."""
    ran: list[object] = []

    def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        ran.append(city)
        return f"sunny in {city}"

    tool_call = _weather_call()
    for fn in (get_weather, functools.partial(get_weather, unit="F"), lambda city: ran.append(1)):
        with pytest.raises(InvalidRequestError, match="would call it") as info:
            tool_call.parsed_arguments(fn)  # type: ignore[arg-type]
        assert "function_tool(" in str(info.value) and "BaseModel" in str(info.value)
    assert ran == []
    # A type is still what it takes.
    assert tool_call.parsed_arguments(GetWeather).city == "Oslo"


def test_no_tool_call_when_auto_finds_no_tool_name(odsc_llm_local: LocalDeployment) -> None:
    with odsc_llm_local.client() as client:
        r = client.chat.completions.create(
            messages=[{"role": "user", "content": "hello"}], tools=TOOLS
        )
    assert r.choices[0].message.tool_calls is None
    assert r.text == "You said: hello"


def test_a_name_repeated_in_every_delta_is_not_doubled() -> None:
    from odsc_llm._streaming._accumulate import accumulate
    from odsc_llm.types import ChatCompletionChunk

    def chunk(arguments: str) -> ChatCompletionChunk:
        call_delta = {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "record_city", "arguments": arguments},
        }
        return ChatCompletionChunk.model_validate(
            {"choices": [{"delta": {"content": None, "tool_calls": [call_delta]}}]}
        )

    # llama-cpp-python's shape: the whole name again with each piece of the arguments.
    joined = accumulate([chunk('{"a"'), chunk(": 1}")])
    (tool_call,) = joined.choices[0].message.tool_calls or []
    assert (tool_call.function.name, tool_call.function.arguments) == ("record_city", '{"a": 1}')
    assert joined.choices[0].message.content is None  # no content was ever sent
