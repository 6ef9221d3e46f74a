"""What the agent-framework tests (tests/integrations/test_<framework>.py) share.

Each framework runs the same round trips against the emulator of each deployment kind
(the ``deployment_kind`` fixture: classic + ``routing="header"``, MIE + ``"path"``): a
chat, a stream of more than one chunk, a tool round trip, a structured answer; then
:func:`assert_signed_and_routed` checks every request the emulator saw.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from odsc_llm.testing import LocalDeployment

#: A prompt the emulator answers with a tool call: it names the tool (its "auto" choice
#: calls the first tool named in the prompt).
TOOL_PROMPT = "What is the weather in Paris? Use get_weather"
#: What the tool returns: the final answer must quote it (the model used the result).
TOOL_RESULT = "sunny-and-21C-in-Paris"
#: A prompt long enough for the emulator to stream it back in several chunks.
STREAM_PROMPT = "tell me a story about three small cats"


def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return TOOL_RESULT if city else "no city given"


class City(BaseModel):
    """The structured answer asked of every framework."""

    name: str
    population: int


def paths(local: LocalDeployment) -> list[str]:
    """The paths the emulator saw, without the deployment's OCID prefix."""
    prefix = "/" + local.deployment.ocid
    return [r.path.removeprefix(prefix) for r in local.requests]


def routes(local: LocalDeployment, routing: str) -> list[str]:
    """The container route of each request: its ``route`` header (``routing="header"``)
    or what follows ``/predict`` / ``/predictWithResponseStream`` (``"path"``)."""
    found = []
    for request, path in zip(local.requests, paths(local), strict=True):
        if routing == "header":
            assert path in ("/predict", "/predictWithResponseStream"), path
            found.append(request.headers["route"])
        else:
            assert "route" not in request.headers, request.headers
            found.append(path.removeprefix("/predictWithResponseStream").removeprefix("/predict"))
    return found


def assert_signed_and_routed(local: LocalDeployment, routing: str) -> None:
    """Every request OCI-signed (no API key) and accepted, each routed as ``routing`` says."""
    assert local.requests, "the framework sent nothing"
    for request in local.requests:
        authorization = request.headers["authorization"]
        assert authorization.startswith("Signature "), authorization
        assert "bearer" not in authorization.lower()
        assert request.status == 200, (request.path, request.status)  # signature verified
    routes(local, routing)


def streamed(local: LocalDeployment) -> bool:
    """Whether the last request was a stream sent to the stream endpoint."""
    request = local.requests[-1]
    return (
        request.path.endswith("/predictWithResponseStream")
        or "/predictWithResponseStream/" in request.path
    ) and request.headers.get("enable-streaming") == "true"


def chat_bodies(local: LocalDeployment) -> list[dict[str, Any]]:
    """The JSON bodies of the chat requests the emulator saw."""
    return [r.json() for r in local.requests if b'"messages"' in r.body]


def assert_tool_round_trip(local: LocalDeployment) -> None:
    """The framework asked, the model called get_weather, and the framework sent the tool's
    result back in a ``role: "tool"`` message."""
    bodies = chat_bodies(local)
    assert len(bodies) >= 2, bodies
    assert any(t["function"]["name"] == "get_weather" for t in bodies[0]["tools"])
    sent_back = [m for m in bodies[-1]["messages"] if m["role"] == "tool"]
    assert sent_back, bodies[-1]["messages"]
    content = sent_back[-1]["content"]
    text = content if isinstance(content, str) else json.dumps(content)
    assert TOOL_RESULT in text, text
