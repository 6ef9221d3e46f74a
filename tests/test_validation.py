"""Bad input is refused before anything is sent, with an error naming the parameter."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import odsc_llm
from odsc_llm import InvalidRequestError
from odsc_llm._validation import (
    validate_headers,
    validate_max_retries,
    validate_timeout,
)
from odsc_llm.resources._common import allowed_keys, as_messages, split_params
from odsc_llm.testing import LocalDeployment
from odsc_llm.types.chat import ChatCompletionMessage
from odsc_llm.types.params import ChatCompletionCreateParams, CompletionCreateParams

CHAT_KEYS = allowed_keys(ChatCompletionCreateParams)
COMPLETION_KEYS = allowed_keys(CompletionCreateParams)
USER = [{"role": "user", "content": "hi"}]
ENDPOINT = (
    "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/"
    "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaatest"
)


def chat_params(**params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return split_params("chat.completions.create", {"messages": USER}, params, CHAT_KEYS, False)


def refused(match: str) -> Any:
    return pytest.raises(InvalidRequestError, match=match)


def test_invalid_request_error_is_value_type_and_odsc_error() -> None:
    assert issubclass(InvalidRequestError, ValueError)
    assert issubclass(InvalidRequestError, TypeError)
    assert issubclass(InvalidRequestError, odsc_llm.OdscLLMError)
    assert not issubclass(InvalidRequestError, odsc_llm.APIConnectionError)


# -- max_retries and timeouts -----------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, -1, 1.5, "2", None, float("nan")])
def test_max_retries_refused(value: object) -> None:
    with pytest.raises(ValueError, match="max_retries must be an integer >= 0"):
        validate_max_retries(value)


@pytest.mark.parametrize("value", [0, 1, 10])
def test_max_retries_accepted(value: int) -> None:
    assert validate_max_retries(value) == value


BAD_TIMEOUTS = [
    float("inf"),
    float("-inf"),
    float("nan"),
    -1,
    0,
    True,
    "5",
    httpx.Timeout(5.0, read=float("inf")),
    httpx.Timeout(5.0, connect=float("nan")),
    httpx.Timeout(5.0, pool=-1.0),
]


@pytest.mark.parametrize("value", BAD_TIMEOUTS, ids=repr)
def test_timeout_refused(value: object) -> None:
    with refused("timeout"):
        validate_timeout(value)


@pytest.mark.parametrize("value", [None, 1, 2.5, httpx.Timeout(5.0), httpx.Timeout(None)])
def test_timeout_accepted(value: object) -> None:
    assert validate_timeout(value) == value


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": True},
        {"max_retries": -1},
        {"timeout": float("inf")},
        {"timeout": httpx.Timeout(5.0, read=float("nan"))},
        {"total_timeout": float("nan")},
        {"default_headers": {"x-tag": "a\r\nInjected: 1"}},
        {"default_headers": {"x-tag": "a\nb"}},
        {"default_headers": {"x-bad\r\nname": "v"}},
        {"default_headers": {"x-tag": 5}},
    ],
    ids=repr,
)
@pytest.mark.parametrize("cls", [odsc_llm.Client, odsc_llm.AsyncClient])
def test_constructor_refuses(cls: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"max_retries|timeout|default_headers"):
        cls(ENDPOINT, auth=httpx.Auth(), **kwargs)


@pytest.mark.parametrize("value", ["bogus", "stream", "", None, 1])
@pytest.mark.parametrize("cls", [odsc_llm.Client, odsc_llm.AsyncClient])
def test_constructor_refuses_an_unknown_stream_endpoint(
    cls: Callable[..., Any], value: Any
) -> None:
    with refused(
        r"stream_endpoint must be 'predictWithResponseStream' \(the default\) or 'predict'"
    ) as info:
        cls(ENDPOINT, auth=httpx.Auth(), stream_endpoint=value)
    assert repr(value) in str(info.value)


# -- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\r\nb", "a\x00b", "\n"])
def test_header_values_with_line_breaks_refused(value: str) -> None:
    with refused(r"extra_headers\['x-tag'\] contains CR, LF or NUL"):
        validate_headers({"x-tag": value}, name="extra_headers")


def test_header_authorization_refused() -> None:
    with refused("must not set Authorization"):
        validate_headers({"Authorization": "Bearer x"}, name="extra_headers")


# -- numbers and strings anywhere in the body ---------------------------------------------------

_KEYS = st.text(st.characters(exclude_categories=("Cs",)), max_size=5)
_GOOD_LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=10)
)
GOOD_JSON = st.recursive(
    _GOOD_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


def _containing(bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON-like values with at least one ``bad`` leaf somewhere (possibly deep)."""

    def wrap(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        in_list = st.tuples(st.lists(GOOD_JSON, max_size=2), inner, st.lists(GOOD_JSON, max_size=2))
        in_dict = st.tuples(st.dictionaries(_KEYS, GOOD_JSON, max_size=2), _KEYS, inner)
        return in_list.map(lambda t: [*t[0], t[1], *t[2]]) | in_dict.map(
            lambda t: {**t[0], t[1]: t[2]}
        )

    return st.recursive(bad, wrap, max_leaves=8)


NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
LONE_SURROGATE = st.builds(
    lambda a, s, b: a + s + b,
    st.text(st.characters(exclude_categories=("Cs",)), max_size=5),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=5),
)
BODY_PARAMS = st.sampled_from(["extra_body", "tools", "logit_bias", "response_format"])


def _as_param(name: str, value: Any) -> dict[str, Any]:
    # tools is a list; the mapping parameters take the value under a key
    if name == "tools":
        return {"tools": [{"type": "function", "function": {"parameters": value}}]}
    return {name: {"field": value}}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(name=BODY_PARAMS, value=_containing(NON_FINITE))
def test_any_non_finite_number_anywhere_is_refused(name: str, value: Any) -> None:
    with refused(rf"^{name}\b.* JSON has no NaN or Infinity"):
        chat_params(**_as_param(name, value))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(name=BODY_PARAMS, value=_containing(LONE_SURROGATE))
def test_any_lone_surrogate_anywhere_is_refused(name: str, value: Any) -> None:
    with refused(rf"^{name}\b.*lone surrogate"):
        chat_params(**_as_param(name, value))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(name=BODY_PARAMS, value=GOOD_JSON)
def test_any_valid_body_passes_unchanged(name: str, value: Any) -> None:
    params = _as_param(name, value)
    body, _ = chat_params(**params)
    encoded = json.dumps(body, allow_nan=False, ensure_ascii=False).encode("utf-8")
    if name == "extra_body":
        assert body["field"] == value
    else:
        assert body[name] == params[name]
    assert json.loads(encoded)["messages"] == USER


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_sampling_parameter_refused(value: float) -> None:
    with refused(r"^temperature is (nan|inf|-inf): JSON has no NaN"):
        chat_params(temperature=value)


def test_surrogates_in_prompt_messages_and_keys_are_named() -> None:
    with refused(r"prompt\[1\] contains a lone surrogate"):
        split_params("c", {"prompt": ["ok", "bad \ud83d"]}, {}, COMPLETION_KEYS, False)
    with refused(r"messages\[0\]\['content'\] contains a lone surrogate '\\udc00'"):
        split_params("c", {"messages": as_messages([{"role": "user", "content": "\udc00"}])},
                     {}, CHAT_KEYS, False)  # fmt: skip
    with refused(r"extra_body key '\\ud800x' contains a lone surrogate"):
        chat_params(extra_body={"\ud800x": 1})


def test_non_json_objects_are_named() -> None:
    with refused(r"extra_body\['when'\] is a object, which JSON cannot carry"):
        chat_params(extra_body={"when": object()})


# -- prompts, messages, extra_body -------------------------------------------------------------

BAD_PROMPTS = [
    [None],
    [1.5],
    [["a"]],
    [b"x"],
    [object()],
    [True],
    [[1, True]],
    ["a", 1],
    [-1],
    [],
    b"bytes",
    None,
    ("a", "b"),
]


@pytest.mark.parametrize("prompt", BAD_PROMPTS, ids=repr)
def test_bad_prompts_refused(prompt: Any) -> None:
    with refused(r"^prompt"):
        odsc_llm.Client(ENDPOINT, auth=httpx.Auth()).completions.create(prompt=prompt)


@pytest.mark.parametrize("value", [None, [None], [1.5], ["a", 2], [[0.5]], [True]], ids=repr)
def test_bad_embedding_input_refused(value: Any) -> None:
    with refused(r"^input"):
        odsc_llm.Client(ENDPOINT, auth=httpx.Auth()).embeddings.create(input=value)


@pytest.mark.parametrize(
    "prompt", ["hi", ["a", "b"], [1, 2, 3], [[1, 2], [3]], [[]], [0]], ids=repr
)
def test_good_prompts_pass(prompt: Any) -> None:
    body, _ = split_params("c", {"prompt": prompt}, {}, COMPLETION_KEYS, False)
    assert body["prompt"] == prompt


BAD_MESSAGES = [
    ([None], r"messages\[0\] must be a \{'role'"),
    ([1], r"messages\[0\] must be a \{'role'"),
    ([{"role": "user"}], r"messages\[0\] \('user'\) has no 'content'"),
    ([{"content": "hi"}], r"messages\[0\] must have a 'role'"),
    ([{"role": "user", "content": 1}], r"messages\[0\]\['content'\] must be a string"),
    ([{"role": "assistant", "content": None}], r"has no 'content'"),
    ([*USER, "hi"], r"messages\[1\] must be a"),
    ("hi", "messages must be a list"),
    ({"role": "user", "content": "hi"}, "messages must be a list"),
    ([], "messages must not be empty"),
]


@pytest.mark.parametrize(("messages", "match"), BAD_MESSAGES, ids=repr)
def test_bad_messages_refused(messages: Any, match: str) -> None:
    with refused(match):
        as_messages(messages)


def test_valid_messages_pass() -> None:
    tool_call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    earlier = ChatCompletionMessage.model_validate({"role": "assistant", "content": "hello"})
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "tool_calls": [tool_call]},
        {"role": "assistant", "content": None, "tool_calls": [tool_call]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        earlier,
    ]
    out = as_messages(messages)
    assert out[:5] == messages[:5]
    assert out[5] == {"role": "assistant", "content": "hello"}


@pytest.mark.parametrize("stream", [True, False])
def test_extra_body_may_not_set_stream(stream: bool) -> None:
    with refused("extra_body must not set 'stream': pass stream=True or stream=False"):
        split_params("c", {"prompt": "x"}, {"extra_body": {"stream": not stream}},
                     COMPLETION_KEYS, stream)  # fmt: skip


# -- through the client: refused locally, nothing reaches the server ---------------------------

BAD_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("temperature", {"prompt": "hi", "temperature": math.nan}),
    ("extra_body", {"prompt": "hi", "extra_body": {"guided": {"x": [math.inf]}}}),
    ("extra_body", {"prompt": "hi", "extra_body": {"stream": True}}),
    ("logit_bias", {"prompt": "hi", "logit_bias": {"50256": -math.inf}}),
    ("prompt", {"prompt": ["a", None]}),
    ("prompt", {"prompt": "\ud83d"}),
    ("extra_headers", {"prompt": "hi", "extra_headers": {"x-tag": "a\r\nx-evil: 1"}}),
    ("max_retries", {"prompt": "hi", "max_retries": True}),
    ("timeout", {"prompt": "hi", "timeout": math.inf}),
    ("timeout.read", {"prompt": "hi", "timeout": httpx.Timeout(5.0, read=math.nan)}),
    ("total_timeout", {"prompt": "hi", "total_timeout": -1}),
    ("stream_idle_timeout", {"prompt": "hi", "stream_idle_timeout": math.inf}),
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize(("param", "call"), BAD_CALLS, ids=[p for p, _ in BAD_CALLS])
async def test_bad_call_sends_nothing(
    odsc_llm_local: LocalDeployment, sync: bool, stream: bool, param: str, call: dict[str, Any]
) -> None:
    kwargs = {"deployment": odsc_llm_local.deployment, "auth": odsc_llm_local.auth}
    with pytest.raises(InvalidRequestError, match=param) as info:
        if sync:
            with odsc_llm.Client(**kwargs) as client:
                client.completions.create(stream=stream, **call)
        else:
            async with odsc_llm.AsyncClient(**kwargs) as aclient:
                await aclient.completions.create(stream=stream, **call)
    assert not isinstance(info.value, odsc_llm.APIConnectionError)
    assert odsc_llm_local.requests == []


@pytest.mark.parametrize("sync", [True, False])
async def test_bad_chat_message_sends_nothing(odsc_llm_local: LocalDeployment, sync: bool) -> None:
    kwargs = {"deployment": odsc_llm_local.deployment, "auth": odsc_llm_local.auth}
    messages: list[Any] = [{"role": "user"}]
    with refused(r"messages\[0\]"):
        if sync:
            with odsc_llm.Client(**kwargs) as client:
                client.chat.completions.create(messages=messages)
        else:
            async with odsc_llm.AsyncClient(**kwargs) as aclient:
                await aclient.chat.completions.create(messages=messages)
    assert odsc_llm_local.requests == []
    # the same client still works for good input
    with odsc_llm.Client(**kwargs) as client:
        answer = client.chat.completions.create(messages=USER)
    assert answer.choices[0].message.content
    assert [r.status for r in odsc_llm_local.requests] == [200]
