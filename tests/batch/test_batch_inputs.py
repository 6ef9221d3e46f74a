"""A single prompt or conversation where batch() expects a list of them is refused.

``completions.batch("just one")`` used to send one billed request per character.
"""

from __future__ import annotations

from typing import Any

import pytest

import odsc_llm
from odsc_llm._errors import InvalidRequestError

pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")

from odsc_llm.testing import LocalDeployment

MESSAGES = [{"role": "user", "content": "hi"}]


async def _batch(emulator: LocalDeployment, sync: bool, chat: bool, inputs: Any) -> Any:
    if sync:
        client = odsc_llm.Client(emulator.deployment, auth=emulator.auth)
        resource: Any = client.chat.completions if chat else client.completions
        return resource.batch(inputs)
    async with odsc_llm.AsyncClient(emulator.deployment, auth=emulator.auth) as aclient:
        aresource: Any = aclient.chat.completions if chat else aclient.completions
        return await aresource.batch(inputs)


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ("just one", "not a str"),
        (b"just one", "not a bytes"),
        ({"a": 1, "b": 2}, "one request per key"),
        (42, "not a int"),
    ],
)
async def test_completions_batch_refuses_a_single_prompt(
    emulator: LocalDeployment, sync: bool, inputs: Any, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message) as caught:
        await _batch(emulator, sync, False, inputs)
    assert isinstance(caught.value, TypeError)
    assert "list of prompts" in str(caught.value) and "batch([prompt])" in str(caught.value)
    assert emulator.requests == []


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (MESSAGES, r"item 0 is a message \(dict\)"),  # one conversation, not wrapped
        (MESSAGES[0], "not a dict"),
        ("hi", "not a str"),
        (["hi", "there"], "item 0 is a str"),
    ],
)
async def test_chat_batch_refuses_a_single_conversation(
    emulator: LocalDeployment, sync: bool, inputs: Any, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message) as caught:
        await _batch(emulator, sync, True, inputs)
    assert isinstance(caught.value, TypeError)
    assert "conversations" in str(caught.value)
    assert emulator.requests == []


@pytest.mark.parametrize("sync", [True, False])
async def test_iterables_of_items_are_still_welcome(emulator: LocalDeployment, sync: bool) -> None:
    prompts = (f"p{i}" for i in range(3))  # a generator: consumed once, still fine
    result = await _batch(emulator, sync, False, prompts)
    assert [c.choices[0].text for c in result.results] == [
        "You said: p0",
        "You said: p1",
        "You said: p2",
    ]
    chats = await _batch(emulator, sync, True, (MESSAGES, MESSAGES))
    assert chats.ok and len(chats) == 2
