"""Checked by ``mypy --strict`` in .ci/run (not run by pytest): images, audio, scoring."""

from __future__ import annotations

from pathlib import Path

from typing_extensions import assert_type

import odsc_llm
from odsc_llm.types import (
    ChatCompletionContentPartImageParam,
    ChatCompletionContentPartTextParam,
    ChatCompletionMessageParam,
    ClassificationResponse,
    PoolingResponse,
    ScoreResponse,
    Transcription,
    TranscriptionChunk,
    TranscriptionVerbose,
)


def parts(client: odsc_llm.Client) -> None:
    assert_type(odsc_llm.text("hi"), ChatCompletionContentPartTextParam)
    assert_type(odsc_llm.image(Path("cat.png")), ChatCompletionContentPartImageParam)
    message: ChatCompletionMessageParam = {
        "role": "user",
        "content": [odsc_llm.text("What is this?"), odsc_llm.image(b"...", detail="low")],
    }
    client.chat.completions.create(messages=[message])
    client.chat.completions.create(
        messages=[{"role": "user", "content": [odsc_llm.text("x"), odsc_llm.image("a.png")]}]
    )


def sync_audio(client: odsc_llm.Client) -> None:
    audio = client.audio.transcriptions
    assert_type(audio.create(file="a.wav"), Transcription)
    assert_type(audio.create(file=b"...", response_format="json"), Transcription)
    assert_type(audio.create(file="a.wav", response_format="text"), str)
    assert_type(audio.create(file="a.wav", response_format="verbose_json"), TranscriptionVerbose)
    assert_type(audio.create(file="a.wav", stream=True), odsc_llm.Stream[TranscriptionChunk])
    assert_type(client.audio.translations.create(file=("a.wav", b"")), Transcription)
    with open("a.wav", "rb") as f:
        assert_type(client.audio.translations.create(file=f, response_format="text"), str)


async def async_audio(client: odsc_llm.AsyncClient) -> None:
    audio = client.audio.transcriptions
    assert_type(await audio.create(file="a.wav"), Transcription)
    assert_type(await audio.create(file="a.wav", response_format="text"), str)
    assert_type(
        await audio.create(file="a.wav", response_format="verbose_json"), TranscriptionVerbose
    )
    stream = await client.audio.translations.create(file="a.wav", stream=True)
    assert_type(stream, odsc_llm.AsyncStream[TranscriptionChunk])


def scoring(client: odsc_llm.Client) -> None:
    assert_type(client.score.create(text_1="q", text_2=["a", "b"]), ScoreResponse)
    assert_type(client.classify.create(input=["a"]), ClassificationResponse)
    assert_type(client.pooling.create(input="a"), PoolingResponse)


async def async_scoring(client: odsc_llm.AsyncClient) -> None:
    assert_type(await client.score.create(text_1="q", text_2="a"), ScoreResponse)
    assert_type(await client.classify.create(input="a"), ClassificationResponse)
    assert_type(await client.pooling.create(input=["a"]), PoolingResponse)
