"""The emulator's ``/v1/responses`` routes: create, ``GET /v1/responses/{id}`` and
``POST /v1/responses/{id}/cancel`` (vLLM's ``api_router.py``), the responses stored for
them, and the streams with their faults. The answers themselves: ``_answers_responses``.

A route key may hold ``{id}`` (:class:`RouteTable`); a cancel may come without a body
(:func:`takes_no_body`); in gateway mode a retrieve is forwarded like any GET.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._answers_responses import ResponsePlan, plan_response, sse_event
from ._aqua import AnswerError
from ._sse_out import send_events

if TYPE_CHECKING:
    from ._request import Request
    from ._server import EmulatorApp

__all__ = ["ResponsesAnswers", "RouteTable", "takes_no_body"]

Handler = Callable[["Request"], Awaitable[None]]

ROUTE = "/v1/responses"
_ID = "[A-Za-z0-9][A-Za-z0-9._:-]*"
_RETRIEVE_RE = re.compile(rf"/v1/responses/(?P<id>{_ID})")
_CANCEL_RE = re.compile(rf"/v1/responses/(?P<id>{_ID})/cancel")


class RouteTable(dict[str, Handler]):
    """API route -> answer, where a key may hold ``{id}`` (one path segment): exact keys
    first, then the patterns (``/v1/responses/{id}``)."""

    def _pattern(self, route: str) -> Handler | None:
        for key, handler in self.items():
            if "{id}" in key:
                pattern = re.escape(key).replace(re.escape("{id}"), _ID)
                if re.fullmatch(pattern, route):
                    return handler
        return None

    def get(self, route: str, default: Any = None) -> Any:
        found = super().get(route)
        return found if found is not None else (self._pattern(route) or default)

    def __contains__(self, route: object) -> bool:
        return super().__contains__(route) or (
            isinstance(route, str) and self._pattern(route) is not None
        )

    def __missing__(self, route: str) -> Handler:
        found = self._pattern(route)
        if found is None:
            raise KeyError(route)
        return found


def takes_no_body(route: str | None) -> bool:
    """Whether a POST to ``route`` may come without a body (vLLM's cancel reads none)."""
    return bool(route) and _CANCEL_RE.fullmatch(str(route).rstrip("/")) is not None


def _route_of(req: Request) -> str:
    route: str = req.headers.get("route") or req.match["route"] or ""
    return route.rstrip("/")


@dataclass
class _Stored:
    plan: ResponsePlan
    status: str  # "queued" until retrieved (background), else the plan's


class ResponsesAnswers:
    """The emulator's ``/v1/responses`` routes and the responses it stored."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.store: dict[str, _Stored] = {}

    def post_routes(self) -> dict[str, Handler]:
        return {ROUTE: self.create, f"{ROUTE}/{{id}}/cancel": self.cancel}

    def get_routes(self) -> dict[str, Handler]:
        return {f"{ROUTE}/{{id}}": self.retrieve}

    def _stored(self, response_id: str) -> _Stored:
        found = self.store.get(response_id)
        if found is None:
            raise AnswerError(
                404, f"Response with id '{response_id}' not found.", param="response_id"
            )
        return found

    async def create(self, req: Request) -> None:
        assert req.payload is not None
        body = req.payload
        if body.get("previous_response_id") is not None:
            self._stored(str(body["previous_response_id"]))
        background = bool(body.get("background"))
        store = body.get("store", True) is not False
        if background and not store:
            raise AnswerError(400, "background can only be used when `store` is true")
        if background and req.stream:
            raise AnswerError(400, "The emulator does not stream background responses.")
        plan = plan_response(body, self.app.state.models)
        if store:
            self.store[plan.id] = _Stored(plan, "queued" if background else plan.status)
        if background:
            await self.app._send_full(req, plan.answer("queued", output=False))
        elif req.stream:
            await self._stream(req, plan)
        else:
            await self.app._send_full(req, plan.answer())

    async def retrieve(self, req: Request) -> None:
        route = _route_of(req)
        if self.app.gateway is not None:
            await self.app.gateway.forward(req, route, buffer=False)
            return
        match = _RETRIEVE_RE.fullmatch(route)
        assert match is not None
        stored = self._stored(match["id"])
        if stored.status == "queued":  # a background response: done by now
            stored.status = stored.plan.status
        await req.send_json(200, stored.plan.answer(stored.status))

    async def cancel(self, req: Request) -> None:
        match = _CANCEL_RE.fullmatch(_route_of(req))
        assert match is not None
        stored = self._stored(match["id"])
        if stored.status not in ("queued", "in_progress"):
            raise AnswerError(400, "Cannot cancel a synchronous response.", param="response_id")
        stored.status = "cancelled"
        await req.send_json(200, stored.plan.answer("cancelled", output=False))

    async def _stream(self, req: Request, plan: ResponsePlan) -> None:
        raw = list(plan.events())
        fault = req.fault
        cut = False
        if fault is not None:
            default = max(len(raw) // 2, 1) if fault.cut_before_done else 1
            after = min(fault.after_events if fault.after_events is not None else default, len(raw))
            if fault.cut_before_done:
                raw, cut = raw[: min(after, len(raw) - 1)], True
            elif fault.error_event:
                # vLLM's GenerationError mid-stream: an `error` event, then the body ends.
                error = {
                    "type": "error",
                    "code": "InternalServerError",
                    "message": "The model server failed while generating.",
                    "param": None,
                }
                raw = [*raw[:after], (error, False)]
        events = []
        for number, (obj, is_token) in enumerate(raw):
            events.append((sse_event({**obj, "sequence_number": number}), is_token))
        if fault is not None and fault.non_json_chunk and not cut:
            at = min(fault.after_events if fault.after_events is not None else 1, len(events))
            bad = b"event: response.output_text.delta\ndata: {this is not json\n\n"
            events.insert(at, (bad, False))
        reset_at = None
        if fault is not None and fault.reset_mid_stream:
            reset_at = fault.after_events if fault.after_events is not None else 1
        await send_events(req, self.app.state, events, b"", reset_at)
