"""One request to the emulator: what arrived, and how to answer it.

The server builds one :class:`Request` per HTTP request and passes it through its steps
(admit, dispatch, admission, fault, answer or forward); every step reads from it and
answers through it, so no step needs more than this one argument.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ._faults import Fault, RecordedRequest

__all__ = ["Abort", "Message", "Receive", "Request", "Scope", "Send", "read_body"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Abort(Exception):
    """Internal: the answer ended by breaking the connection."""


def _headers_dict(scope: Scope) -> dict[str, str]:
    result: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or ``None`` once it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


@dataclass(eq=False)
class Request:
    """One HTTP request as the emulator sees it, and the way back to its client.

    ``target`` is the request target exactly as sent (raw path and query: what the
    client signed); ``path`` is the decoded path that routes match on. ``payload`` is
    the body parsed as a JSON object once a step needed it; ``fault`` the fault taken
    for it; ``match`` what the route's pattern matched.
    """

    scope: Scope
    receive: Receive
    send: Send
    transport: asyncio.Transport | None
    method: str
    path: str
    query: str
    target: str
    headers: dict[str, str]
    request_id: str
    record: RecordedRequest
    body: bytes = b""
    fault: Fault | None = None
    payload: dict[str, Any] | None = None
    match: Any = None
    #: The request asked for a stream (``"stream": true``), sent event by event
    #: (``incremental``: the stream endpoint, or ``enable-streaming: true``).
    stream: bool = False
    incremental: bool = False
    #: The API route answered (``/v1/completions``, ``/tokenize``, ...), once known.
    api_route: str | None = None
    #: Free room for a step to leave something for a later one (e.g. a throttle permit).
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_scope(
        cls,
        scope: Scope,
        receive: Receive,
        send: Send,
        transports: MutableMapping[Any, asyncio.Transport],
    ) -> Request:
        headers = _headers_dict(scope)
        request_id = headers.get("opc-request-id") or uuid.uuid4().hex.upper()
        method = scope["method"]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"").decode("latin-1")
        target = raw_path.decode("latin-1") + (f"?{query}" if query else "")
        record = RecordedRequest(
            method=method, path=target, headers=headers, body=b"", request_id=request_id
        )
        return cls(
            scope=scope,
            receive=receive,
            send=send,
            transport=transports.get(scope.get("client")),
            method=method,
            path=scope["path"],
            query=query,
            target=target,
            headers=headers,
            request_id=request_id,
            record=record,
        )

    # ---- answering ---------------------------------------------------------------------

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """Send the status line and headers (records the status)."""
        self.record.status = status
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def body_part(self, data: bytes, *, more: bool) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    def base_headers(self, content_type: bytes) -> list[tuple[bytes, bytes]]:
        return [
            (b"content-type", content_type),
            (b"opc-request-id", self.request_id.encode("latin-1")),
        ]

    async def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """A whole answer with a ``content-length``."""
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"opc-request-id", self.request_id.encode("latin-1")),
            *(extra or []),
        ]
        await self.start(status, headers)
        await self.body_part(body, more=False)

    async def send_json(
        self, status: int, obj: Any, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode()
        await self.send_bytes(status, body, "application/json", extra)

    # ---- the connection ----------------------------------------------------------------

    async def abort(self) -> None:
        """Break the connection at once (no more bytes), and wait until it is gone."""
        if self.transport is None:  # pragma: no cover - only without our protocol class
            raise Abort
        self.transport.abort()
        while (await self.receive())["type"] != "http.disconnect":  # pragma: no cover
            pass

    def closed(self) -> bool:
        """Whether the client went away."""
        return self.transport is None or self.transport.is_closing()

    async def until_disconnect(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass
