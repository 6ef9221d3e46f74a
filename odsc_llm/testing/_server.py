"""The emulator's ASGI app: the model-deployment wire protocol, signatures, faults, gateway.

A plain ASGI 3 application (no framework) run by uvicorn's h11 protocol. One subclass
of uvicorn's protocol records each connection's transport so a fault can break a
connection for real (``transport.abort()``), and sets ``TCP_NODELAY``.

Each request goes through steps, each taking the one :class:`~._request.Request`:

1. **admit** (:meth:`EmulatorApp._admit`): read the body within 10 MB (413), look
   its route up in the dispatch table ``EmulatorApp.routes``, require a length where
   the route does (411), verify the signature and the signed ``host`` (401), and
   refuse a path no route serves (404);
2. **dispatch**: the route's handler. Control-plane routes go in front of the
   deployment's own route (``/<ocid>/predict...``), whose handler runs
3. **admission** (:meth:`EmulatorApp._admission`, a throttle's seat; admits all today),
4. **fault** (:func:`~._faults.apply_fault`: the next queued fault, if any), and
5. **answer** (:meth:`EmulatorApp._respond`, by the ``answers`` table) or **forward**
   (:class:`~._gateway.Gateway`).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from . import (
    _answers,
    _answers_media,
    _answers_messages,
    _aqua,
    _control_plane,
    _responses_routes,
)
from ._faults import apply_fault, oci_error_body
from ._gateway import Gateway
from ._hosts import HostCheck
from ._request import Receive, Request, Scope, Send, read_body
from ._sse_out import send_events
from ._state import EmulatorState
from ._verify import SignatureVerificationError, verify_request

__all__ = ["MAX_BODY_BYTES", "EmulatorApp", "Route"]

#: Model deployments refuse bodies over 10 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024

# The deployment's paths: /<ocid>/predict[WithResponseStream], then any suffix; whether
# the suffix is routed is the deployment's kind (``_mie``), checked in _deployment.
_PATH_RE = re.compile(
    r"^/(?P<ocid>[^/]+)/(?P<endpoint>predictWithResponseStream|predict)(?P<route>(?:/[^/]+)+)?/?$"
)
# Nothing a step can fail on waits here: admitting everyone needs no state.
_ADMIT_ALL: AbstractAsyncContextManager[bool] = contextlib.nullcontext(True)


Handler = Callable[[Request], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """One entry of the dispatch table.

    ``matches(path)`` returns something truthy (kept as ``request.match``) for the
    paths this route serves; ``handle`` answers. ``length_required``: a request
    without ``content-length`` (and not chunked) gets the service's 411 first. The
    deployment's predict paths need it; oci's SDK sends none on a control-plane GET.
    """

    name: str
    matches: Callable[[str], Any]
    handle: Handler
    length_required: bool = True


def path_prefix(*prefixes: str) -> Callable[[str], bool]:
    """A route predicate: the path starts with one of ``prefixes``."""
    return lambda path: path.startswith(prefixes)


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
        self.gateway = Gateway(state.upstream) if state.upstream is not None else None
        #: The dispatch table, first match wins. Control-plane routes
        #: (``path_prefix("/20190101/", "/20190909/")``) go in front of the deployment's.
        self.routes: list[Route] = [Route("deployment", _PATH_RE.match, self._deployment)]
        if state.control_plane is not None:
            # oci's SDK sends no content-length on its GETs: no 411 for these paths.
            self.routes.insert(
                0,
                Route(
                    "control-plane",
                    _control_plane.handles,
                    self._control_plane,
                    length_required=False,
                ),
            )
        #: API route -> answer, for POSTs to the deployment (the route comes from the
        #: ``route`` header, the path form ``/predict/v1/...``, or the body's shape).
        #: A key may hold ``{id}`` (``/v1/responses/{id}``: ``_responses_routes``).
        self.responses = _responses_routes.ResponsesAnswers(self)
        self.answers: dict[str, Handler] = _responses_routes.RouteTable(
            {
                "/v1/completions": self._answer_completions,
                "/v1/chat/completions": self._answer_chat,
                "/v1/embeddings": self._answer_embeddings,
                **{route: self._answer_utility for route in _aqua.UTILITY_ROUTES},
                **{route: self._answer_media for route in _answers_media.ROUTES},
                **self.responses.post_routes(),
                **_answers_messages.answers(state),  # Anthropic's /v1/messages, as vLLM
            }
        )
        #: API route -> answer, for GETs to the deployment (any other GET is a 405).
        self.get_answers: dict[str, Handler] = _responses_routes.RouteTable(
            {_aqua.PATH_MODELS: self._answer_models, **self.responses.get_routes()}
        )
        self._check_host = HostCheck()

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
                if self.gateway is not None:
                    await self.gateway.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- the steps -----------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = Request.from_scope(scope, receive, send, self.state.transports)
        self.state.record(req.record)
        route = await self._admit(req)
        if route is None:
            return
        try:
            await route.handle(req)
        except _answers.AnswerError as exc:
            await req.send_json(exc.status, exc.body())

    async def _admit(self, req: Request) -> Route | None:
        """Read, route and verify; the route, or ``None`` once an error was answered."""
        too_large = oci_error_body(413, message="The request body is over 10 MB.")
        declared = req.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await req.send_json(413, too_large)
            return None
        body = await read_body(req.receive, MAX_BODY_BYTES)
        if body is None:
            await req.send_json(413, too_large)
            return None
        req.body = req.record.body = body

        route = self._route(req)
        if (
            route is not None
            and route.length_required
            and declared is None
            and "transfer-encoding" not in req.headers
        ):
            message = (
                f"A {req.method} request needs a content-length header "
                "(content-length: 0 when there is no body)."
            )
            await req.send_json(411, oci_error_body(411, message=message))
            return None
        if self.state.verify_signatures:
            try:
                verify_request(
                    req.method, req.target, req.headers, req.body, self.state.public_keys
                )
                await self._check_host(req)
            except SignatureVerificationError as exc:
                await req.send_json(401, oci_error_body(401, "NotAuthenticated", exc.message))
                return None
        if route is None:
            await req.send_json(404, oci_error_body(404))
        return route

    async def _control_plane(self, req: Request) -> None:
        """The Data Science and Logging Search APIs (``_control_plane``); already verified."""
        status, obj, extra = self.state.control_plane.answer(
            req.method,
            req.target,
            req.headers,
            req.body,
            public_keys=self.state.public_keys,
            verify=False,  # _admit verified the signature and the signed host
            requests=lambda: list(self.state.requests),
        )
        if obj is _control_plane.DROP:  # a create carried out, its answer lost on the way
            await req.abort()
            return
        await req.send_json(status, obj, extra)

    def _route(self, req: Request) -> Route | None:
        for route in self.routes:
            match = route.matches(req.path)
            if match:
                req.match = match
                return route
        return None

    async def _deployment(self, req: Request) -> None:
        """``/<ocid>/predict[WithResponseStream][/<suffix>]``: routing, admission, fault,
        answer. A suffix is served only where the deployment routes it (``_mie``)."""
        cp = self.state.control_plane  # it also serves the deployments created through it
        suffix = req.match["route"]
        if (req.match["ocid"] != self.state.ocid and not (cp and cp.serves(req.match["ocid"]))) or (
            suffix is not None and not self.state.path_routing.routes(req.method, suffix)
        ):
            # A path the deployment does not route: the service's 404, the same as for an
            # unknown deployment (classic deployments route no path after /predict).
            await req.send_json(404, oci_error_body(404))
            return
        # /predict itself takes POST (and GET for the models listing); a routed suffix
        # takes the methods its routing allows (checked above), the container the rest.
        if (
            suffix is None
            and req.method != "POST"
            and not (req.method == "GET" and self._api_route(req) in self.get_answers)
        ):
            message = f"{req.method} is not allowed; use POST."
            await req.send_json(405, oci_error_body(405, message=message))
            return
        async with self._admission(req) as admitted:
            if not admitted:
                return
            if await apply_fault(req, self.state.faults):
                return
            await self._respond(req)

    def _admission(self, req: Request) -> AbstractAsyncContextManager[bool]:
        """The admission step: hold a seat for the whole answer; ``False``: refused.

        With a throttle (``LocalDeployment(capacity=, rate_limit=, queue_size=)``) the
        request waits for its seat, or is answered 429/503 here (``_throttle``).
        """
        throttle = self.state.throttle
        return _ADMIT_ALL if throttle is None else self._throttled(req, throttle)

    @contextlib.asynccontextmanager
    async def _throttled(self, req: Request, throttle: Any) -> AsyncIterator[bool]:
        refusal = await throttle.admit(req.body, self.state.token_delay)
        if refusal is not None:
            await req.send_json(*refusal)
        yield refusal is None

    def _api_route(self, req: Request) -> str:
        route: str = req.headers.get("route") or req.match["route"] or ""
        if not route and req.payload is not None:
            route = _route_from_body(req.payload)
        return route.rstrip("/") or route

    async def _respond(self, req: Request) -> None:
        """Answer (or, in gateway mode, forward) a request that passed every check."""
        if req.method != "POST":
            route = self._api_route(req)
            if self.gateway is not None:
                await self.gateway.forward(req, route, buffer=False)
                return
            answer = self.get_answers.get(route) if req.method == "GET" else None
            if answer is None:  # the model server's own answer (FastAPI's)
                await req.send_json(405, {"detail": "Method Not Allowed"})
                return
            await answer(req)
            return
        try:
            payload = json.loads(req.body) if req.body else None
        except ValueError:
            payload = None
        payload = _answers_media.form_payload(req.headers, req.body, payload)
        if not req.body and _responses_routes.takes_no_body(
            req.headers.get("route") or req.match["route"]
        ):
            payload = {}  # POST /v1/responses/{id}/cancel: vLLM reads no body
        if not isinstance(payload, dict):
            raise _answers.AnswerError(400, "The request body is not a JSON object.")
        req.payload = payload
        wants_stream = payload.get("stream") is True
        if req.match["endpoint"] == "predictWithResponseStream" and not wants_stream:
            message = (
                "predictWithResponseStream needs a streaming request: set "
                '"stream": true, or call /predict for a single answer.'
            )
            await req.send_json(409, oci_error_body(409, message=message))
            return
        # /predict streams incrementally only with `enable-streaming: true`; otherwise
        # the service collects the whole event stream and sends it at once.
        incremental = (
            req.match["endpoint"] == "predictWithResponseStream"
            or req.headers.get("enable-streaming", "").lower() == "true"
        )
        route = req.headers.get("route") or req.match["route"] or _route_from_body(payload)
        if self.gateway is not None:
            await self.gateway.forward(req, route, buffer=wants_stream and not incremental)
            return
        answer = self.answers.get(route.rstrip("/"))
        if answer is None:
            await req.send_json(404, {"detail": "Not Found"})
            return
        req.stream, req.incremental, req.api_route = wants_stream, incremental, route
        await answer(req)

    # ---- the answers -----------------------------------------------------------------

    async def _answer_embeddings(self, req: Request) -> None:
        assert req.payload is not None
        models = self.state.models
        answer = _answers.embeddings_answer(req.payload, self.state.embedding_dim, models)
        await self._send_full(req, answer)

    async def _answer_completions(self, req: Request) -> None:
        assert req.payload is not None
        await self._generate(req, _answers.plan_completion(req.payload, self.state.models))

    async def _answer_chat(self, req: Request) -> None:
        assert req.payload is not None
        await self._generate(req, _answers.plan_chat(req.payload, self.state.models))

    async def _answer_utility(self, req: Request) -> None:
        """vLLM's ``/tokenize``, ``/detokenize`` and rerank routes (``_aqua``)."""
        assert req.payload is not None and req.api_route is not None
        answer = _answers.utility_answer(req.api_route, req.payload, self.state.models)
        assert answer is not None
        await self._send_full(req, answer)

    async def _answer_media(self, req: Request) -> None:
        """Audio (a stream, or not), score, classify and pooling (``_answers_media``)."""
        assert req.payload is not None and req.api_route is not None
        answer = _answers_media.answer(
            req.api_route, req.payload, self.state.models, _answers.tokenize, _answers.embed
        )
        if isinstance(answer, list):
            await self._stream(req, answer)
        else:
            await self._send_full(req, answer)

    async def _answer_models(self, req: Request) -> None:
        """``GET /v1/models``: the served models (forwarded in gateway mode)."""
        if self.gateway is not None:
            await self.gateway.forward(req, _aqua.PATH_MODELS, buffer=False)
            return
        await req.send_json(200, self.state.models.models_answer())

    async def _generate(self, req: Request, plan: _answers.Plan) -> None:
        if not req.stream:
            await self._send_full(req, _answers.full_answer(plan))
            return
        await self._stream(req, plan)

    async def _send_full(self, req: Request, answer: dict[str, Any]) -> None:
        body = json.dumps(answer, separators=(",", ":")).encode()
        if req.fault is not None and req.fault.reset_mid_stream:
            headers = req.base_headers(b"application/json")
            headers.append((b"content-length", str(len(body)).encode()))
            await req.start(200, headers)
            await req.body_part(body[: len(body) // 2], more=True)
            await req.abort()
            return
        await req.send_bytes(200, body, "application/json")

    async def _stream(self, req: Request, plan: _answers.Plan | list[_answers_media.Event]) -> None:
        given = plan if isinstance(plan, list) else _answers.stream_events(plan)
        events: list[tuple[bytes, bool]] = [
            (b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n", is_token)
            for obj, is_token in given
        ]
        done = b"data: [DONE]\n\n"
        fault = req.fault
        if fault is not None:
            default_after = max(len(events) // 2, 1) if fault.cut_before_done else 1
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

        await send_events(req, self.state, events, done, reset_at)
