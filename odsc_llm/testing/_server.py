"""The emulator's ASGI app: the model-deployment wire protocol, signatures, faults, gateway.

A plain ASGI 3 application (no framework) run by uvicorn's h11 protocol. One subclass
of uvicorn's protocol records each connection's transport so a fault can break a
connection for real (``transport.abort()``), and sets ``TCP_NODELAY``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _answers
from ._faults import Fault, Faults, RecordedRequest, html_error_page, oci_error_body
from ._verify import PublicKeyLike, SignatureVerificationError, verify_request

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_BODY_BYTES", "EmulatorApp", "EmulatorState", "make_protocol_class"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Model deployments refuse bodies over 10 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024

_PATH_RE = re.compile(
    r"^/(?P<ocid>[^/]+)/(?P<endpoint>predictWithResponseStream|predict)(?P<route>/v1/[^?]*)?/?$"
)
_ROUTES = {
    "/v1/completions": "completions",
    "/v1/chat/completions": "chat",
    "/v1/embeddings": "embeddings",
}
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
    "date",
    "server",
}
_log = logging.getLogger("odsc_llm.testing")


@dataclass
class EmulatorState:
    """What the server thread and the test thread share (guarded where it matters)."""

    ocid: str
    public_keys: dict[str, PublicKeyLike]
    faults: Faults = field(default_factory=Faults)
    token_delay: float = 0.0
    verify_signatures: bool = True
    upstream: str | None = None
    embedding_dim: int = _answers.DEFAULT_EMBEDDING_DIM
    max_log: int = 10_000
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    transports: dict[Any, asyncio.Transport] = field(default_factory=dict)
    #: Streams being answered right now, and the most at once (event-loop thread only).
    active_streams: int = 0
    peak_streams: int = 0
    #: Admission throttle (batch helper's hook: ``_throttle.Throttle`` or None).
    throttle: Any = None

    def record(self, request: RecordedRequest) -> None:
        if self.max_log <= 0:
            return
        with self.lock:
            self.requests.append(request)
            if len(self.requests) > self.max_log:
                del self.requests[: len(self.requests) - self.max_log]


def make_protocol_class(state: EmulatorState) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, remembering each connection's transport by client address."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class _Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)
            state.transports[self.client] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            state.transports.pop(self.client, None)
            super().connection_lost(exc)

    return _Protocol


class _Abort(Exception):
    """Internal: the answer ended by breaking the connection."""


def _headers_dict(scope: Scope) -> dict[str, str]:
    result: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


def _route_from_body(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "/v1/chat/completions"
    if "input" in body:
        return "/v1/embeddings"
    return "/v1/completions"


class EmulatorApp:
    """The ASGI app of :class:`~odsc_llm.testing.LocalDeployment`."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._upstream_client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._upstream_client is not None:
                    await self._upstream_client.aclose()
                    self._upstream_client = None
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- plumbing ------------------------------------------------------------------

    @staticmethod
    async def _send_bytes(
        send: Send,
        status: int,
        body: bytes,
        content_type: str,
        request_id: str,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"opc-request-id", request_id.encode("latin-1")),
            *(extra or []),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _send_json(
        self,
        send: Send,
        status: int,
        obj: Any,
        request_id: str,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode()
        await self._send_bytes(send, status, body, "application/json", request_id, extra)

    async def _abort(self, scope: Scope, receive: Receive) -> None:
        """Break the connection at once (no more bytes), and wait until it is gone."""
        transport = self.state.transports.get(scope.get("client"))
        if transport is None:  # pragma: no cover - only without our protocol class
            raise _Abort
        transport.abort()
        while (await receive())["type"] != "http.disconnect":  # pragma: no cover
            pass

    def _closed(self, scope: Scope) -> bool:
        transport = self.state.transports.get(scope.get("client"))
        return transport is None or transport.is_closing()

    @staticmethod
    async def _read_body(receive: Receive, limit: int) -> bytes | None:
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

    # ---- one request ---------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        headers = _headers_dict(scope)
        request_id = headers.get("opc-request-id") or uuid.uuid4().hex.upper()
        method = scope["method"]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = raw_path.decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        record = RecordedRequest(
            method=method, path=target, headers=headers, body=b"", request_id=request_id
        )
        state.record(record)

        async def error(
            status: int, obj: Any, extra: list[tuple[bytes, bytes]] | None = None
        ) -> None:
            record.status = status
            await self._send_json(send, status, obj, request_id, extra)

        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await error(413, oci_error_body(413, message="The request body is over 10 MB."))
            return
        body = await self._read_body(receive, MAX_BODY_BYTES)
        if body is None:
            await error(413, oci_error_body(413, message="The request body is over 10 MB."))
            return
        record.body = body

        match = _PATH_RE.match(scope["path"])
        if match is None:
            await error(404, oci_error_body(404))
            return
        if state.verify_signatures:
            try:
                verify_request(method, target, headers, body, state.public_keys)
            except SignatureVerificationError as exc:
                await error(401, oci_error_body(401, "NotAuthenticated", exc.message))
                return
        if match["ocid"] != state.ocid:
            await error(404, oci_error_body(404))
            return
        if method != "POST":
            await error(405, oci_error_body(405, message=f"{method} is not allowed; use POST."))
            return

        # -- throttle hook (odsc_llm/testing/_throttle.py): 429/503 at the limits --------
        if state.throttle is not None:
            refusal = await state.throttle.admit(body, state.token_delay)
            if refusal is not None:
                await error(*refusal)
                return
        # -- end of throttle hook ---------------------------------------------------------
        fault = state.faults.pop()
        record.fault = fault
        if fault is not None:
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault.drop_connection:
                await self._abort(scope, receive)
                return
            if fault.html_error is not None:
                record.status = fault.html_error
                page = html_error_page(fault.html_error)
                await self._send_bytes(send, fault.html_error, page, "text/html", request_id)
                return
            if fault.status is not None:
                extra = []
                if fault.retry_after is not None:
                    extra.append((b"retry-after", str(fault.retry_after).encode()))
                await error(
                    fault.status, oci_error_body(fault.status, fault.code, fault.message), extra
                )
                return

        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            await error(
                400,
                _answers.AnswerError(400, "The request body is not a JSON object.").body(),
            )
            return

        route = headers.get("route") or match["route"] or _route_from_body(payload)
        wants_stream = payload.get("stream") is True
        on_stream_endpoint = match["endpoint"] == "predictWithResponseStream"
        if on_stream_endpoint and not wants_stream:
            await error(
                409,
                oci_error_body(
                    409,
                    message=(
                        "predictWithResponseStream needs a streaming request: set "
                        '"stream": true, or call /predict for a single answer.'
                    ),
                ),
            )
            return
        # /predict streams incrementally only with `enable-streaming: true`; otherwise
        # the service collects the whole event stream and sends it at once.
        incremental = on_stream_endpoint or headers.get("enable-streaming", "").lower() == "true"

        if state.upstream is not None:
            await self._forward(
                scope,
                receive,
                send,
                record,
                request_id,
                route,
                body,
                headers,
                wants_stream and not incremental,
                fault,
            )
            return
        try:
            await self._answer(
                scope,
                receive,
                send,
                record,
                request_id,
                route,
                payload,
                wants_stream,
                incremental,
                fault,
            )
        except _answers.AnswerError as exc:
            await error(exc.status, exc.body())

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: RecordedRequest,
        request_id: str,
        route: str,
        payload: dict[str, Any],
        wants_stream: bool,
        incremental: bool,
        fault: Fault | None,
    ) -> None:
        kind = _ROUTES.get(route.rstrip("/"))
        if kind is None:
            record.status = 404
            await self._send_json(send, 404, {"detail": "Not Found"}, request_id)
            return
        _answers.check_model(payload)
        if kind == "embeddings":
            answer = _answers.embeddings_answer(payload, self.state.embedding_dim)
            await self._send_full(scope, receive, send, record, request_id, answer, fault)
            return
        plan = (
            _answers.plan_completion(payload)
            if kind == "completions"
            else _answers.plan_chat(payload)
        )
        if not wants_stream:
            await self._send_full(
                scope, receive, send, record, request_id, _answers.full_answer(plan), fault
            )
            return
        await self._stream(scope, receive, send, record, request_id, plan, incremental, fault)

    async def _send_full(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: RecordedRequest,
        request_id: str,
        answer: dict[str, Any],
        fault: Fault | None,
    ) -> None:
        body = json.dumps(answer, separators=(",", ":")).encode()
        record.status = 200
        if fault is not None and fault.reset_mid_stream:
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"opc-request-id", request_id.encode("latin-1")),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            await self._abort(scope, receive)
            return
        await self._send_bytes(send, 200, body, "application/json", request_id)

    async def _stream(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: RecordedRequest,
        request_id: str,
        plan: _answers.Plan,
        incremental: bool,
        fault: Fault | None,
    ) -> None:
        events: list[tuple[bytes, bool]] = [
            (b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n", is_token)
            for obj, is_token in _answers.stream_events(plan)
        ]
        done = b"data: [DONE]\n\n"
        if fault is not None:
            default_after = 1
            if fault.cut_before_done:
                default_after = max(len(events) // 2, 1)
            after = fault.after_events if fault.after_events is not None else default_after
            after = min(after, len(events))
            if fault.cut_before_done:
                events = events[:after]
                done = b""
            elif fault.non_json_chunk:
                events.insert(after, (b"data: {this is not json\n\n", False))
            elif fault.error_event:
                err = {
                    "error": {
                        "message": "The model server failed while generating.",
                        "type": "InternalServerError",
                        "param": None,
                        "code": 500,
                    }
                }
                events = [*events[:after], (b"data: " + json.dumps(err).encode() + b"\n\n", False)]
        reset_at = None
        if fault is not None and fault.reset_mid_stream:
            reset_at = fault.after_events if fault.after_events is not None else 1

        record.status = 200
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"opc-request-id", request_id.encode("latin-1")),
        ]
        if not incremental and reset_at is None:
            body = b"".join(e for e, _ in events) + done
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return

        state = self.state
        state.active_streams += 1
        state.peak_streams = max(state.peak_streams, state.active_streams)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for sent, (event, is_token) in enumerate(events):
                if reset_at is not None and sent >= reset_at:
                    await self._abort(scope, receive)
                    return
                # token_delay between tokens (the first event goes out at once).
                if is_token and sent > 0 and state.token_delay > 0:
                    await asyncio.sleep(state.token_delay)
                if self._closed(scope):
                    return  # the client went away
                await send({"type": "http.response.body", "body": event, "more_body": True})
            if reset_at is not None:
                await self._abort(scope, receive)
                return
            await send({"type": "http.response.body", "body": done, "more_body": False})
        finally:
            state.active_streams -= 1

    # ---- gateway mode --------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._upstream_client is None:
            import httpx

            self._upstream_client = httpx.AsyncClient(
                timeout=httpx.Timeout(600.0, connect=10.0),
                limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
                follow_redirects=False,
            )
        return self._upstream_client

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: RecordedRequest,
        request_id: str,
        route: str,
        body: bytes,
        headers: dict[str, str],
        buffer: bool,
        fault: Fault | None,
    ) -> None:
        """Forward, and stop at once (closing the upstream request) if the client leaves.

        Without the watcher a client that goes away would be noticed only when the
        upstream sends its next bytes, which can be seconds away (a long prefill).
        """
        forward = asyncio.ensure_future(
            self._forward_once(
                scope, receive, send, record, request_id, route, body, headers, buffer, fault
            )
        )
        watcher = asyncio.ensure_future(self._until_disconnect(receive))
        try:
            await asyncio.wait({forward, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not forward.done():
                forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward

    @staticmethod
    async def _until_disconnect(receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def _forward_once(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: RecordedRequest,
        request_id: str,
        route: str,
        body: bytes,
        headers: dict[str, str],
        buffer: bool,
        fault: Fault | None,
    ) -> None:
        import httpx

        assert self.state.upstream is not None
        url = self.state.upstream.rstrip("/") + "/" + route.lstrip("/")
        forward_headers = {
            "content-type": headers.get("content-type", "application/json"),
            "accept": headers.get("accept", "*/*"),
            "accept-encoding": "identity",
        }
        client = self._client()
        request = client.build_request("POST", url, content=body, headers=forward_headers)
        try:
            try:
                response = await client.send(request, stream=True)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                # A pooled keep-alive connection the upstream had already reset (llama.cpp
                # does after a failed stream): send once more on a fresh connection, as a
                # real gateway would, before any byte of an answer was seen.
                request = client.build_request("POST", url, content=body, headers=forward_headers)
                response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            record.status = 503
            _log.warning("upstream %s failed: %s", url, exc)
            await self._send_json(
                send,
                503,
                oci_error_body(
                    503, message=f"The model server did not answer ({type(exc).__name__})."
                ),
                request_id,
            )
            return
        try:
            out_headers = [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in response.headers.multi_items()
                if name.lower() not in _HOP_BY_HOP and name.lower() != "opc-request-id"
            ]
            out_headers.append((b"opc-request-id", request_id.encode("latin-1")))
            record.status = response.status_code
            if buffer:
                content = await response.aread()
                out_headers = [(n, v) for n, v in out_headers if n.lower() != b"content-length"]
                out_headers.append((b"content-length", str(len(content)).encode()))
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status_code,
                        "headers": out_headers,
                    }
                )
                await send({"type": "http.response.body", "body": content, "more_body": False})
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": out_headers,
                }
            )
            reset_after = 1 if fault is not None and fault.reset_mid_stream else None
            sent = 0
            try:
                async for chunk in response.aiter_raw():
                    if self._closed(scope):
                        return
                    if reset_after is not None and sent >= reset_after:
                        await self._abort(scope, receive)
                        return
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += 1
            except httpx.HTTPError as exc:
                _log.warning("upstream %s broke mid-answer: %s", url, exc)
                await self._abort(scope, receive)
                return
            if reset_after is not None:
                await self._abort(scope, receive)
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
