"""Gateway mode (``LocalDeployment(upstream=...)``) forwards multipart bodies as they are.

The form's ``stream`` field picks the stream endpoint (as ``"stream": true`` does in
JSON), the bytes reach the model server unchanged, and both routing forms work: the
``route`` header on a classic deployment, the path form on an MIE one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import odsc_llm
from odsc_llm.testing import LocalDeployment

from ..support.media import wav

pytest.importorskip("uvicorn")


class _ModelServer:
    """Records each request; answers a transcription, streamed when the form asks."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append((scope["method"], scope["path"], body))
        if b'name="stream"\r\n\r\ntrue' in body:
            chunks = [
                {
                    "object": "transcription.chunk",
                    "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": end}],
                }
                for text, end in (("upstream ", None), ("streamed", "stop"))
            ]
            out = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
            out += b"data: [DONE]\n\n"
            kind = b"text/event-stream"
        else:
            out, kind = json.dumps({"text": "upstream heard it"}).encode(), b"application/json"
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", kind)]}
        )
        await send({"type": "http.response.body", "body": out})


@pytest.fixture(scope="module")
def model_server() -> Iterator[tuple[str, _ModelServer]]:
    import uvicorn

    app = _ModelServer()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(5)


@pytest.mark.parametrize(
    ("api_specification", "routing"), [(None, "header"), ("openai", "path")], ids=["classic", "mie"]
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_form_reaches_the_model_server_unchanged(
    model_server: tuple[str, _ModelServer],
    api_specification: str | None,
    routing: Any,
    stream: bool,
) -> None:
    url, app = model_server
    app.seen.clear()
    audio = wav(0.25, 8000)
    with LocalDeployment(upstream=url, api_specification=api_specification) as gateway:
        with odsc_llm.Client(
            gateway.deployment, auth=gateway.auth, routing=routing, max_retries=0
        ) as client:
            if stream:
                with client.audio.transcriptions.create(file=audio, stream=True) as s:
                    text = "".join(s.text())
            else:
                text = client.audio.transcriptions.create(file=audio).text
        (request,) = gateway.requests
    assert request.status == 200  # signed, verified and routed by the gateway
    endpoint = "predictWithResponseStream" if stream else "predict"
    route = "/v1/audio/transcriptions"
    suffix = route if routing == "path" else ""
    assert request.path == f"/{gateway.ocid}/{endpoint}{suffix}"
    assert text == ("upstream streamed" if stream else "upstream heard it")
    (seen,) = app.seen
    assert seen == ("POST", route, request.body)  # the form's bytes, as the client sent them
    assert b'filename="' in request.body and audio in request.body
