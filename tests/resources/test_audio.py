"""``client.audio``: multipart transcriptions and translations, streamed and not."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

import odsc_llm
from odsc_llm.testing import LocalDeployment, SignatureVerificationError, verify_request
from odsc_llm.types import Transcription, TranscriptionChunk, TranscriptionVerbose

from ..support.aqua import MODES, call, client_of, collect
from ..support.clients import ENDPOINT, PREDICT, CountingAuth, Twin
from ..support.media import wav

pytest.importorskip("uvicorn")

TEXT = "1.5 seconds of audio at 16000 Hz"


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


def form_of(content_type: str, body: bytes) -> dict[str, Any]:
    """The fields of a multipart body, as a server's parser reads them."""
    head = f"content-type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        form[name] = (part.get_filename(), data) if part.get_filename() else data.decode()
    return form


@pytest.mark.parametrize("mode", MODES)
async def test_transcription_json_is_a_signed_multipart_form(
    local: LocalDeployment, mode: str, tmp_path: Path
) -> None:
    path = tmp_path / "speech.wav"
    path.write_bytes(wav())
    async with client_of(local, mode) as client:
        answer = await call(
            client.audio.transcriptions.create(file=path, language="en", prompt="hi")
        )
    assert isinstance(answer, Transcription)
    assert answer.text == TEXT and answer.usage is not None and answer.usage.seconds == 2
    assert answer.request_id
    request = local.requests[-1]
    assert request.path.endswith("/predict")
    assert request.headers["route"] == "/v1/audio/transcriptions"
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    assert form_of(content_type, request.body) == {
        "model": "odsc-llm",
        "language": "en",
        "prompt": "hi",
        "response_format": "json",
        "file": ("speech.wav", wav()),
    }
    # The signature covers exactly the bytes sent: their SHA-256 and their length.
    digest = base64.b64encode(hashlib.sha256(request.body).digest()).decode()
    assert request.headers["x-content-sha256"] == digest
    assert request.headers["content-length"] == str(len(request.body))
    assert "content-type" in request.headers["authorization"]
    verify_request("POST", request.path, request.headers, request.body, local.public_keys)
    tampered = request.body.replace(b"odsc-llm", b"odsc-LLM")
    with pytest.raises(SignatureVerificationError, match="x-content-sha256"):
        verify_request("POST", request.path, request.headers, tampered, local.public_keys)


@pytest.mark.parametrize("mode", MODES)
async def test_every_file_input_and_format(local: LocalDeployment, mode: str) -> None:
    data = wav(seconds=0.5, rate=8000)
    async with client_of(local, mode) as client:
        texts = [
            await call(client.audio.transcriptions.create(file=source, response_format="text"))
            for source in (data, bytearray(data), io.BytesIO(data), ("clip.wav", data))
        ]
        verbose = await call(
            client.audio.translations.create(
                file=data, response_format="verbose_json", language="de", model="odsc-llm"
            )
        )
        translated = await call(client.audio.translations.create(file=data, temperature=0.2))
    assert texts == ["0.5 seconds of audio at 8000 Hz"] * 4
    assert isinstance(verbose, TranscriptionVerbose)
    assert verbose.text == "Translated: 0.5 seconds of audio at 8000 Hz"
    assert (verbose.language, verbose.duration) == ("de", "0.5")
    assert verbose.segments is not None and verbose.segments[0].end == 0.5
    assert translated.text == verbose.text and translated.usage is None
    assert local.requests[-1].headers["route"] == "/v1/audio/translations"
    assert (
        form_of(local.requests[-1].headers["content-type"], local.requests[-1].body)["temperature"]
        == "0.2"
    )


@pytest.mark.parametrize("mode", MODES)
async def test_a_streamed_transcription(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        stream = await call(client.audio.transcriptions.create(file=wav(), stream=True))
        pieces = await collect(stream.text())
        again = await call(
            client.audio.translations.create(file=wav(), stream=True, response_format="text")
        )
        chunks = await collect(again)
    assert "".join(pieces) == TEXT
    assert all(isinstance(c, TranscriptionChunk) for c in chunks)
    assert chunks[0].object == "translation.chunk"
    assert chunks[-1].choices[0].finish_reason == "stop"
    request = local.requests[-1]
    assert request.path.endswith("/predictWithResponseStream")
    assert request.headers["route"] == "/v1/audio/translations"
    assert request.headers["accept"] == "text/event-stream"
    form = form_of(request.headers["content-type"], request.body)
    assert (form["stream"], form["response_format"]) == ("true", "text")


@pytest.mark.parametrize("mode", MODES)
async def test_bad_arguments_are_typed_errors_and_nothing_is_sent(
    local: LocalDeployment, mode: str, tmp_path: Path
) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"file": wav(), "response_format": "srt"}, "response_format must be one of"),
        ({"file": wav(), "response_format": "verbose_json", "stream": True}, "cannot stream"),
        ({"file": wav(), "stream": "yes"}, "stream must be True or False"),
        ({"file": tmp_path / "missing.wav"}, "cannot be read"),
        ({"file": io.StringIO("text")}, "binary mode"),
        ({"file": b""}, "is empty"),
        ({"file": 3}, "must be a path, bytes or a binary file"),
        ({"file": wav(), "language": 3}, "language must be a string"),
        ({"file": wav(), "extra_body": {"file": "x"}}, "must not set 'file'"),
        ({"file": wav(), "temperature": float("nan")}, "temperature"),
    ]
    async with client_of(local, mode) as client:
        for kwargs, message in bad:
            with pytest.raises(odsc_llm.InvalidRequestError, match=message):
                await call(client.audio.transcriptions.create(**kwargs))
        with pytest.raises(TypeError, match="extra_body"):
            await call(client.audio.transcriptions.create(file=wav(), top_k=3))
    assert local.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_audio_over_10_mb_is_refused_before_sending(
    local: LocalDeployment, mode: str
) -> None:
    async with client_of(local, mode) as client:
        with pytest.raises(odsc_llm.RequestTooLargeError, match=r"10 MB.*shorter audio"):
            await call(client.audio.transcriptions.create(file=b"\x00" * (10 * 1024 * 1024)))
    assert local.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_extra_body_fields_and_headers_go_in_the_form(
    local: LocalDeployment, mode: str
) -> None:
    async with client_of(local, mode) as client:
        await call(
            client.audio.transcriptions.create(
                file=wav(),
                extra_body={"vllm_xargs": {"a": 1}, "timestamp_granularities[]": "segment"},
                extra_headers={"x-trace": "t1", "content-type": "application/json"},
            )
        )
    request = local.requests[-1]
    assert request.headers["x-trace"] == "t1"
    form = form_of(request.headers["content-type"], request.body)  # the form's own type wins
    assert form["vllm_xargs"] == '{"a":1}' and form["timestamp_granularities[]"] == "segment"


@pytest.mark.parametrize("mode", MODES)
async def test_the_emulator_refuses_audio_it_cannot_read(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        with pytest.raises(odsc_llm.BadRequestError, match="Invalid or unsupported audio"):
            await call(client.audio.transcriptions.create(file=b"ID3 an mp3"))


@pytest.mark.parametrize("sync", [True, False])
@pytest.mark.parametrize(
    ("answer", "content_type"),
    [
        (b"Hello there.\n", "text/plain; charset=utf-8"),
        (b'{"text":"Hello there.\\n"}', "application/json"),
    ],
)
def test_text_format_reads_plain_text_and_vllm_json(
    httpx_mock: HTTPXMock, sync: bool, answer: bytes, content_type: str
) -> None:
    """OpenAI answers ``text`` as plain text, vLLM as ``{"text": ...}``: one ``str``."""
    httpx_mock.add_response(url=PREDICT, content=answer, headers={"content-type": content_type})
    twin = Twin(sync, ENDPOINT, auth=CountingAuth(), max_retries=0)
    try:
        text = twin.call("audio.transcriptions.create", file=b"RIFF", response_format="text")
    finally:
        twin.close()
    assert text == "Hello there.\n"


@pytest.mark.parametrize("sync", [True, False])
def test_text_format_without_text_is_a_validation_error(httpx_mock: HTTPXMock, sync: bool) -> None:
    httpx_mock.add_response(url=PREDICT, json={"segments": []})
    twin = Twin(sync, ENDPOINT, auth=CountingAuth(), max_retries=0)
    try:
        with pytest.raises(odsc_llm.APIResponseValidationError, match="no transcription text"):
            twin.call("audio.transcriptions.create", file=b"RIFF", response_format="text")
    finally:
        twin.close()


def test_a_retry_resends_the_same_signed_bytes(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=PREDICT, status_code=503)
    httpx_mock.add_response(url=PREDICT, json={"text": "ok"})
    auth = CountingAuth()
    with odsc_llm.Client(ENDPOINT, auth=auth, max_retries=1, _sleep=lambda s: None) as client:
        assert client.audio.transcriptions.create(file=wav()).text == "ok"
    first, second = httpx_mock.get_requests()
    assert first.content == second.content and auth.count == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"cut_before_done": True, "after_events": 3}, "without 'data: \\[DONE\\]'"),
        ({"error_event": True, "after_events": 2}, "reported an error mid-stream"),
    ],
)
async def test_a_broken_transcription_stream_raises_with_the_partial_text(
    local: LocalDeployment, mode: str, fault: dict[str, Any], message: str
) -> None:
    """The chat stream's rules hold: no quiet end without ``[DONE]``, an error event
    raises; ``partial_text`` keeps what arrived."""
    local.faults.push(**fault)
    received: list[str] = []
    async with client_of(local, mode) as client:
        stream = await call(client.audio.transcriptions.create(file=wav(), stream=True))
        with pytest.raises(odsc_llm.StreamError, match=message) as caught:
            async for piece in _pieces(stream):
                received.append(piece)
    assert caught.value.partial_text == "".join(received)
    assert TEXT.startswith(caught.value.partial_text) and caught.value.partial_text


async def _pieces(stream: Any) -> Any:
    if hasattr(stream, "__aiter__"):
        async for piece in stream.text():
            yield piece
    else:
        for piece in stream.text():
            yield piece
