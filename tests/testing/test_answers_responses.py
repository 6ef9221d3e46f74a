"""The emulator's Responses API (``testing/_answers_responses.py``): vLLM's shapes and
event order, the ``{id}`` routes, bodies it refuses, and gateway forwarding."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from odsc_llm.testing import LocalDeployment
from odsc_llm.testing._responses_routes import RouteTable, takes_no_body
from tests.support.deployments import DeploymentKind


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


def _post(local: LocalDeployment, body: Any, route: str = "/v1/responses", **kw: Any) -> Any:
    with httpx.Client(auth=local.auth) as http:
        return http.post(local.deployment.predict_url, json=body, headers={"route": route}, **kw)


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line[len("data: ") :])
        assert data["type"] == name_line[len("event: ") :]
        out.append((data["type"], data))
    return out


def test_stream_follows_vllms_event_order(local: LocalDeployment) -> None:
    body = {"input": "hi", "stream": True, "reasoning": {"effort": "low"}}
    with httpx.Client(auth=local.auth) as http:
        r = http.post(local.deployment.stream_url, json=body, headers={"route": "/v1/responses"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert "[DONE]" not in r.text
    events = _events(r.text)
    assert [kind for kind, _ in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.reasoning_text.delta"] * 3,
        "response.reasoning_text.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    created, final = events[0][1]["response"], events[-1][1]["response"]
    assert (created["status"], created["output"], created["usage"]) == ("in_progress", [], None)
    assert final["status"] == "completed" and final["object"] == "response"
    assert [item["type"] for item in final["output"]] == ["reasoning", "message"]
    assert final["usage"]["output_tokens_details"]["reasoning_tokens"] == 3


def test_answer_shape_and_refusals(local: LocalDeployment) -> None:
    answer = _post(local, {"input": "x", "temperature": 0.5}).json()
    for key in ("id", "created_at", "model", "output", "status", "usage", "tool_choice"):
        assert key in answer
    assert answer["id"].startswith("resp_") and answer["temperature"] == 0.5
    r = _post(local, {"input": "x", "background": True, "store": False})
    assert r.status_code == 400 and "store" in r.json()["error"]["message"]
    r = _post(local, {"input": "x", "text": {"format": {"type": "json_object"}}})
    assert r.status_code == 400
    r = _post(local, {"input": []})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
    r = _post(local, {"input": "x", "model": "other"})
    assert r.status_code == 404


def test_id_routes_in_header_and_path_form(deployment_kind: DeploymentKind) -> None:
    # The routing that fits: the route header on classic, the path form on MIE.
    local = deployment_kind.local
    created = _post(local, {"input": "x", "background": True}).json()
    with httpx.Client(auth=local.auth) as http:
        # content-length: 0 on the GET (the service's 411 otherwise)
        got = http.send(deployment_kind.request("GET", f"/v1/responses/{created['id']}"))
        assert got.status_code == 200 and got.json()["status"] == "completed"
        # another GET route is still refused
        route = {"route": "/v1/chat/completions", "content-length": "0"}
        r = http.get(local.deployment.predict_url, headers=route)
        assert r.status_code == 405
        # cancel with a body ({} is fine too), and an unknown id
        r = _post(local, {}, route=f"/v1/responses/{created['id']}/cancel")
        assert r.status_code == 400  # it completed when retrieved
        r = http.post(
            local.deployment.predict_url,
            headers={"route": "/v1/responses/resp_nope/cancel", "content-length": "0"},
        )
        assert r.status_code == 404
        # an empty body stays refused on the other routes
        r = http.post(
            local.deployment.predict_url,
            headers={"route": "/v1/responses", "content-length": "0"},
        )
        assert r.status_code == 400


def test_route_table_matches_id_patterns() -> None:
    async def handler(req: Any) -> None: ...

    table = RouteTable({"/v1/x": handler, "/v1/responses/{id}/cancel": handler})
    assert "/v1/responses/resp_1/cancel" in table and "/v1/x" in table
    assert table["/v1/responses/resp_1/cancel"] is handler
    assert table.get("/v1/responses/a/b/cancel") is None and "/v1/responses/a" not in table
    with pytest.raises(KeyError):
        table["/v1/y"]
    assert takes_no_body("/v1/responses/resp_1/cancel") and not takes_no_body("/v1/responses")
    assert not takes_no_body(None)


# ---- gateway mode ------------------------------------------------------------------------


class _Upstream:
    """A model server that records what reaches it and answers a canned response."""

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
        answer = {"id": "resp_up", "object": "response", "status": "cancelled", "output": []}
        out = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})


@pytest.fixture
def upstream() -> Iterator[tuple[str, _Upstream]]:
    import uvicorn

    app = _Upstream()
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


def test_gateway_forwards_retrieve_and_cancel(upstream: tuple[str, _Upstream]) -> None:
    url, app = upstream
    # MIE: the path form of /v1/responses/{id}/cancel is routed (a sub-path of the list).
    with LocalDeployment(upstream=url, api_specification="openai") as gateway:
        client = gateway.client(max_retries=0)
        try:
            assert client.responses.retrieve("resp_up").id == "resp_up"
            assert client.responses.cancel("resp_up").status == "cancelled"
            with httpx.Client(auth=gateway.auth) as http:
                base = gateway.deployment.predict_url
                r = http.post(base + "/v1/responses/resp_up/cancel", json={})  # path form
                assert r.status_code == 200
                route = {"route": "/v1/responses/resp_up", "content-length": "0"}
                r = http.get(base, headers=route)
                assert r.status_code == 200
        finally:
            client.close()
    assert app.seen == [
        ("GET", "/v1/responses/resp_up", b""),
        ("POST", "/v1/responses/resp_up/cancel", b""),
        ("POST", "/v1/responses/resp_up/cancel", b"{}"),
        ("GET", "/v1/responses/resp_up", b""),
    ]
