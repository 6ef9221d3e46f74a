"""The emulator's media answers, on raw signed requests: forms, streams, image parts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from odsc_llm.testing import LocalDeployment

from ..support.media import wav

pytest.importorskip("uvicorn")


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


@pytest.fixture
def http(local: LocalDeployment) -> Iterator[httpx.Client]:
    with httpx.Client(auth=local.auth, timeout=10) as client:
        yield client


def _form(
    http: httpx.Client, url: str, fields: dict[str, str], route: str = "/v1/audio/transcriptions"
) -> httpx.Response:
    files = {"file": ("a.wav", wav(0.25, 8000))}
    return http.post(url, data=fields, files=files, headers={"route": route})


def test_a_form_on_the_stream_endpoint_must_ask_to_stream(
    local: LocalDeployment, http: httpx.Client
) -> None:
    refused = _form(http, local.deployment.stream_url, {})
    assert refused.status_code == 409 and "stream" in refused.text
    streamed = _form(http, local.deployment.stream_url, {"stream": "true"})
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert streamed.text.endswith("data: [DONE]\n\n")
    assert '"object":"transcription.chunk"' in streamed.text


def test_vllm_refusals(local: LocalDeployment, http: httpx.Client) -> None:
    url = local.deployment.predict_url
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"response_format": "srt"}, 400, "response_format"),
        ({"response_format": "verbose_json", "stream": "true"}, 400, "streaming"),
        ({"model": "whisper-x"}, 404, "does not exist"),
    ]
    for fields, status, message in cases:
        answer = _form(http, url, fields)
        assert answer.status_code == status and message in answer.text, fields
    route = {"route": "/v1/audio/transcriptions"}
    no_file = http.post(url, data={"model": "odsc-llm"}, files={"x": ("a", b"1")}, headers=route)
    assert no_file.status_code == 400 and "file is required" in no_file.text


def test_text_format_answers_json_as_vllm_does(local: LocalDeployment, http: httpx.Client) -> None:
    answer = _form(http, local.deployment.predict_url, {"response_format": "text"})
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "text": "0.25 seconds of audio at 8000 Hz",
        "usage": {"type": "duration", "seconds": 1},
    }


def test_image_parts_that_are_not_base64_are_refused(
    local: LocalDeployment, http: httpx.Client
) -> None:
    for url in ("data:image/png,raw", "data:image/png;base64,@@@", ""):
        part = {"type": "image_url", "image_url": {"url": url}}
        body = {"messages": [{"role": "user", "content": [part]}]}
        answer = http.post(local.deployment.predict_url, json=body)
        assert answer.status_code == 400, url
