"""What the emulator's server thread and the test thread share, and its connections."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from . import _answers, _aqua
from ._faults import Faults, RecordedRequest
from ._mie import PathRouting
from ._verify import PublicKeyLike

__all__ = ["EmulatorState", "StateViews", "make_protocol_class"]


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
    #: Served models, reasoning field, token vocabulary (aqua hook: ``_aqua.ModelConfig``).
    models: _aqua.ModelConfig = field(
        default_factory=lambda: _aqua.ModelConfig(models=[_answers.MODEL_NAME])
    )
    max_log: int = 10_000
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    transports: dict[Any, asyncio.Transport] = field(default_factory=dict)
    #: Streams being answered right now, and the most at once (event-loop thread only).
    active_streams: int = 0
    peak_streams: int = 0
    #: The control plane (``_control_plane.ControlPlane``; set by LocalDeployment).
    control_plane: Any = None
    #: The admission throttle (``_throttle.Throttle``), or None: admit everything.
    throttle: Any = None
    #: Which paths after ``/predict`` are routed without a control plane (``_mie``).
    fixed_routing: PathRouting = field(default_factory=PathRouting)

    @property
    def path_routing(self) -> PathRouting:
        """Which paths after ``/predict`` are routed (``_mie``; none: a classic deployment).

        What the control plane reports (``predict_api_specification``,
        ``custom_http_endpoints``) is what the deployment routes, as after an update of
        a real deployment: one truth for both planes.
        """
        cp = self.control_plane
        if cp is None:
            return self.fixed_routing
        return PathRouting.of(cp.predict_api_specification, cp.custom_http_endpoints)

    def record(self, request: RecordedRequest) -> None:
        if self.max_log <= 0:
            return
        with self.lock:
            self.requests.append(request)
            if len(self.requests) > self.max_log:
                del self.requests[: len(self.requests) - self.max_log]


class StateViews:
    """What :class:`~odsc_llm.testing.LocalDeployment` shows of its shared state: faults,
    token delay, streams and the request log (``self._emulator``)."""

    _emulator: EmulatorState
    _initial_token_delay: float

    @property
    def faults(self) -> Faults:
        """The fault queue: ``local.faults.push(status=429, retry_after=1, count=2)``."""
        return self._emulator.faults

    @property
    def token_delay(self) -> float:
        """Seconds between streamed tokens (settable)."""
        return self._emulator.token_delay

    @token_delay.setter
    def token_delay(self, value: float) -> None:
        if value < 0:
            raise ValueError(f"token_delay must be >= 0 seconds, got {value}.")
        self._emulator.token_delay = value

    @property
    def upstream(self) -> str | None:
        """The upstream server in gateway mode, else ``None``."""
        return self._emulator.upstream

    @property
    def active_streams(self) -> int:
        """How many streamed answers are being sent right now."""
        return self._emulator.active_streams

    @property
    def peak_streams(self) -> int:
        """The most streamed answers sent at once since start (or :meth:`reset`)."""
        return self._emulator.peak_streams

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far, oldest first (the last ``request_log_size``)."""
        with self._emulator.lock:
            return list(self._emulator.requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._emulator.lock:
            self._emulator.requests.clear()


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
