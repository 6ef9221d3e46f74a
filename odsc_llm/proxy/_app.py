"""The proxy's ASGI app: check the key, read the body, choose, forward, pass the answer on.

A plain ASGI 3 application (no framework), as the emulator's. Per request:

1. ``/health`` answers without a key; any other path needs ``Authorization: Bearer
   KEY`` or ``x-api-key: KEY`` (when the app has a key): else 401, OpenAI's shape.
2. The body is read up to 10 MiB (chunked bodies too): above, 413 before anything goes
   upstream.
3. The body's ``model`` chooses the deployments (a single deployment serves every
   name) and is rewritten to the name the deployment serves.
4. The request goes upstream (``_forward``); the answer's status, content type and
   ``opc-request-id`` come back, then its bytes as they arrive. A stream is watched only
   for its end marker: a stream that breaks or ends without one gets the route's error
   event (``_wire``). A client that goes away cancels the upstream request at once.
5. One access-log line (``_log``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

import httpx

from .. import _constants as C
from ._config import Served, Target
from ._forward import Attempted, Upstream, UpstreamUnavailable
from ._log import AccessRecord
from ._multipart import model_field, with_model
from ._pipe import batches
from ._trace import Span
from ._wire import HEALTH_PATH, ROUTES, EndWatch, Route, error_body, error_event

__all__ = ["ProxyApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Answer headers passed back to the caller (the rest are the connection's own).
_PASSED_HEADERS = frozenset({"content-type", "opc-request-id", "retry-after", "cache-control"})


class _TooLarge(Exception):
    pass


class _Refused(Exception):
    """A request the proxy answers itself (status, message)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class ProxyApp:
    """The ASGI app :func:`odsc_llm.proxy.create_app` returns."""

    def __init__(self, served: Served, *, api_key: str | None, tracing: bool = False) -> None:
        self.served = served
        self.api_key = api_key
        self.upstream = Upstream()
        self.tracing = tracing
        #: Forwarding tasks in progress (ended with an error event at shutdown).
        self._working: set[asyncio.Task[Any]] = set()
        self._expired = False

    # ---- ASGI -------------------------------------------------------------------------

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
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        """Close the upstream connections (the lifespan's shutdown does this)."""
        await self.upstream.aclose()

    def expire(self) -> None:
        """End every request still in progress (the shutdown grace is over): a stream
        gets its error event, an answer not yet started a 503."""
        self._expired = True
        for task in list(self._working):
            task.cancel()

    # ---- one request ------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        record = AccessRecord(scope["method"], scope["path"])
        route = ROUTES.get(scope["path"])
        dialect = route.dialect if route is not None else "openai"
        try:
            if scope["path"] == HEALTH_PATH and scope["method"] == "GET":
                await self._health(send, record)
                return
            self._check_key(scope)
            if route is None:
                raise _Refused(404, f"The proxy serves no path {scope['path']}.")
            if scope["method"] != route.method:
                raise _Refused(405, f"{scope['method']} is not allowed on {scope['path']}.")
            body = await _read_body(scope, receive)
            if route.method == "POST" and not body:
                # Forwarded, an empty body would cost a signed round trip for the
                # deployment's own 400 (or 422 from vLLM), in another shape.
                what = "multipart form" if route.multipart else "JSON request"
                raise _Refused(400, f"The request body is empty: send the {what} in it.")
            if route.method == "GET" and not self.served.single:
                await self._models(send, record)
                return
            await self._forward(route, body, scope, receive, send, record)
        except _Refused as exc:
            body_dialect = "openai" if exc.status == 401 else dialect
            await _send_json(
                send, exc.status, error_body(body_dialect, exc.status, exc.message, exc.code)
            )
            record.status = exc.status
        except _TooLarge:
            limit = C.PROXY_MAX_BODY_BYTES
            message = f"The request body is over {limit} bytes (10 MiB): it was not sent."
            await _send_json(send, 413, error_body(dialect, 413, message))
            record.status = 413
        finally:
            record.log()

    def _check_key(self, scope: Scope) -> None:
        if self.api_key is None:
            return
        given = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                given = value
            elif name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
        if given is None or not secrets.compare_digest(given, self.api_key.encode()):
            what = "No API key was given" if given is None else "The API key is not this proxy's"
            raise _Refused(
                401,
                f"{what}: send the key the proxy printed (OPENAI_API_KEY / ANTHROPIC_API_KEY) "
                "as 'Authorization: Bearer KEY' or 'x-api-key: KEY'.",
                "invalid_api_key",
            )

    def _targets(self, model: object) -> list[Target]:
        if self.served.single is not None:
            return [self.served.single]
        names = ", ".join(sorted(self.served.models))
        if not isinstance(model, str):
            raise _Refused(400, f"Name the model in the body's 'model' field: one of {names}.")
        targets = self.served.models.get(model)
        if targets is None:
            raise _Refused(
                404, f"The model {model!r} is not served here; the models are: {names}.", None
            )
        return targets

    async def _forward(
        self,
        route: Route,
        body: bytes,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: AccessRecord,
    ) -> None:
        payload = _json_object(body) if not route.multipart and body else None
        if body and not route.multipart and payload is None:
            raise _Refused(400, "The request body is not a JSON object.")
        content_type = _header(scope, b"content-type")
        model = payload.get("model") if payload is not None else None
        if route.multipart:
            model = model_field(body, content_type)
        targets = self._targets(model)
        if isinstance(model, str):
            record.model = model
        stream = payload is not None and payload.get("stream") is True

        def body_for(target: Target) -> bytes:
            if route.multipart:
                return with_model(body, content_type, target.model)
            if payload is None:
                return body
            # Compact, and non-ASCII kept as UTF-8: the body grows only by the name.
            rewritten = {**payload, "model": target.model}
            return json.dumps(rewritten, ensure_ascii=False, separators=(",", ":")).encode()

        if payload is not None:
            content_type = "application/json"
        finished = False

        async def send_tracked(message: Message) -> None:
            nonlocal finished
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True

        # The exchange runs in this task: a task of its own would start a turn of the
        # event loop later, on the way to the first token. The server says
        # http.disconnect when the caller goes away (or once the answer is complete): a
        # caller gone mid-answer cancels this task, and with it the upstream request.
        task = cast("asyncio.Task[None]", asyncio.current_task())
        working = True

        def gone(_: object) -> None:
            if working and not finished:
                record.disconnected = True
                task.cancel()

        watch = asyncio.ensure_future(_until_disconnect(receive))
        watch.add_done_callback(gone)
        self._working.add(task)
        try:
            await self._exchange(
                route, body_for, content_type, stream, targets, send_tracked, record, payload
            )
        except asyncio.CancelledError:
            if not record.disconnected:
                raise
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+
            if uncancel is not None:
                uncancel()  # the cancellation was this method's own, and is over
        finally:
            working = False
            self._working.discard(task)
            watch.cancel()

    async def _exchange(
        self,
        route: Route,
        body_for: Callable[[Target], bytes],
        content_type: str | None,
        stream: bool,
        targets: list[Target],
        send: Send,
        record: AccessRecord,
        payload: dict[str, Any] | None = None,
    ) -> None:
        started = False
        attempted: Attempted | None = None
        span = Span(self.tracing, route.api_route, payload)
        try:
            attempted = await self.upstream.send(
                targets, route.method, route.api_route, body_for, content_type, stream
            )
            response = attempted.response
            record.deployment = attempted.target.name
            record.request_id = response.headers.get("opc-request-id", "-")
            record.status = response.status_code
            span.answered(attempted, record.request_id)
            headers = [
                (name.lower(), value)
                for name, value in response.headers.raw
                if name.lower().decode("latin-1") in _PASSED_HEADERS
            ]
            # Held until the first body message, so that the two go out together (one
            # write under uvloop, and the caller is woken once): sent alone, the headers
            # wake the caller, which then competes for the CPU with the proxy reading the
            # first token (time to first token on a busy machine).
            send = _HeldStart(
                send,
                {"type": "http.response.start", "status": response.status_code, "headers": headers},
            )
            started = True
            is_sse = response.headers.get("content-type", "").startswith("text/event-stream")
            if stream and is_sse and response.status_code == 200:
                await self._pipe_stream(route, response, send, record)
            else:
                async for chunk in batches(response):
                    record.first_byte()
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except UpstreamUnavailable as exc:
            message = f"No deployment answered ({exc}); the request was not answered."
            record.status = 502
            await _send_json(send, 502, error_body(route.dialect, 502, message))
        except asyncio.CancelledError:
            if not self._expired or record.disconnected:
                raise
            # The shutdown grace is over: end what was started, with a clear error.
            message = "The proxy is shutting down; the answer was cut short."
            if started:
                await _send_end(send, error_event(route.dialect, message, separate=True))
            else:
                record.status = 503
                await _send_json(send, 503, error_body(route.dialect, 503, message))
        except httpx.HTTPError as exc:  # broke before or while a whole answer was read
            if started:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                record.status = 502
                message = f"The deployment's answer broke: {type(exc).__name__}."
                await _send_json(send, 502, error_body(route.dialect, 502, message))
        finally:
            span.end(record)
            if attempted is not None:
                await asyncio.shield(self.upstream.release(attempted))

    async def _pipe_stream(
        self, route: Route, response: httpx.Response, send: Send, record: AccessRecord
    ) -> None:
        """Pass a stream's bytes on as they come; end a broken one with an error event."""
        watch = EndWatch(route.dialect)
        problem = None
        try:
            async for chunk in batches(response):
                record.first_byte()
                watch.feed(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError as exc:
            problem = f"The deployment's stream broke ({type(exc).__name__})."
        if problem is None and not watch.seen:
            problem = "The deployment's stream ended before its end marker."
        if problem is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        record.stream_error = True
        await _send_end(send, error_event(route.dialect, problem, separate=not watch.ended))

    # ---- answers of the proxy's own ------------------------------------------------------

    async def _models(self, send: Send, record: AccessRecord) -> None:
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": targets[0].name}
            for name, targets in self.served.models.items()
        ]
        await _send_json(send, 200, {"object": "list", "data": data})
        record.status = 200

    async def _health(self, send: Send, record: AccessRecord) -> None:
        async def check(target: Target) -> bool:
            from ._forward import build_request

            client = self.upstream.client
            request = build_request(client, target, "GET", C.PATH_MODELS, b"", None, False)
            try:
                response = await asyncio.wait_for(
                    client.send(request, auth=target.auth), C.PROXY_HEALTH_TIMEOUT
                )
            except (httpx.HTTPError, asyncio.TimeoutError):
                return False
            return response.status_code == 200

        targets = self.served.targets
        results = await asyncio.gather(*(check(t) for t in targets))
        rows = [{"deployment": t.name, "ok": ok} for t, ok in zip(targets, results, strict=True)]
        answer = {"deployments": rows}
        await _send_json(send, 200, answer)
        record.status = 200


# ---- helpers ----------------------------------------------------------------------------


class _HeldStart:
    """A ``send`` that sends ``start`` (an ``http.response.start``) just before the first
    message after it, in the same turn of the event loop."""

    __slots__ = ("_send", "_start")

    def __init__(self, send: Send, start: Message) -> None:
        self._send = send
        self._start: Message | None = start

    async def __call__(self, message: Message) -> None:
        if self._start is not None:
            start, self._start = self._start, None
            await self._send(start)
        await self._send(message)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > C.PROXY_MAX_BODY_BYTES:
        raise _TooLarge
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > C.PROXY_MAX_BODY_BYTES:
            raise _TooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_json(send: Send, status: int, obj: Any) -> None:
    body = json.dumps(obj, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_end(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": False})
