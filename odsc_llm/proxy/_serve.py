"""Running the proxy's app on uvicorn, and stopping it gracefully.

SIGINT and SIGTERM both stop it the same way: the listening socket closes at once,
requests in flight get ``PROXY_SHUTDOWN_GRACE`` seconds to finish, then the app ends
the rest (a stream with its error event), and :func:`run` returns normally. uvicorn's
own signal handling re-raises the signal after its shutdown (so Ctrl-C would end the
process with status 130 and SIGTERM kill it); the server here handles both itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Callable, Generator
from typing import Any

from .. import _constants as C
from .._errors import InvalidRequestError, OdscLLMError
from ._app import ProxyApp
from ._coalesce import protocol_class

__all__ = ["is_loopback", "run", "uvicorn_options"]

_STOP_SIGNALS = ("SIGINT", "SIGTERM")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost`` counts)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _import_uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError as exc:
        raise ImportError(
            "odsc_llm.proxy.serve needs uvicorn, which is not installed. Install the "
            "extra: pip install 'odsc-llm[proxy]'"
        ) from exc
    return uvicorn


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise OdscLLMError(f"Cannot listen on {host}:{port}: {exc}.") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(C.PROXY_LIMITS.max_connections or socket.SOMAXCONN)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or type(exc).__name__
        raise OdscLLMError(
            f"Cannot listen on {host}:{port}: {reason} (another port: --port, or 0 for a free one)."
        ) from None
    sock.setblocking(False)
    return sock


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn settings the proxy runs with (its own server, and the tests')."""
    return {
        "log_level": "warning",
        "access_log": False,  # the app writes its own line
        # Work per request that the proxy does not use: X-Forwarded-* rewriting of the
        # client address (it reads none) and a Server header.
        "proxy_headers": False,
        "server_header": False,
        "ws": "none",  # plain HTTP only: an upgrade offer is ignored (see _coalesce)
        # httptools with its Upgrade: h2c bug fixed (h11 without httptools: see
        # _coalesce), writing through a CoalescingTransport; the loop is uvicorn's
        # choice (loop="auto": uvloop when installed, as the proxy extra does).
        "http": protocol_class(),
        "lifespan": "on",
    }


def run(
    app: ProxyApp,
    *,
    host: str = C.PROXY_HOST,
    port: int = C.PROXY_PORT,
    on_ready: Callable[[str], Any] | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM; ``on_ready(base_url)`` once
    it listens (``port=0``: a free port, in that URL)."""
    if app.api_key is None and not is_loopback(host):
        raise InvalidRequestError(
            f"Refusing to listen on {host} without an API key: anyone who reaches it could "
            "use your OCI credentials. Give api_key=, or listen on 127.0.0.1."
        )
    uvicorn = _import_uvicorn()
    sock = _listen(host, port)

    class Server(uvicorn.Server):  # type: ignore[misc,name-defined]
        loop: asyncio.AbstractEventLoop | None = None
        should_exit: bool

        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {}
            for name in _STOP_SIGNALS:
                number = getattr(signal, name)
                previous[number] = signal.signal(number, self.stop)
            try:
                yield
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)

        def stop(self, signum: int = 0, frame: Any = None) -> None:
            if self.should_exit or self.loop is None:
                self.should_exit = True
                return
            self.should_exit = True
            self.loop.call_soon_threadsafe(self.loop.call_later, C.PROXY_SHUTDOWN_GRACE, app.expire)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            self.loop = asyncio.get_running_loop()
            await super().startup(sockets=sockets)
            if self.started and on_ready is not None:
                bound = self.servers[0].sockets[0].getsockname()
                shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
                on_ready(f"http://{shown}:{bound[1]}")

    config = uvicorn.Config(
        app,
        **uvicorn_options(),
        # A backstop only: the app ends what is left after PROXY_SHUTDOWN_GRACE, and
        # uvicorn's timeout starts with its shutdown (at the signal), so halfway to the limit.
        timeout_graceful_shutdown=(C.PROXY_SHUTDOWN_GRACE + C.PROXY_SHUTDOWN_LIMIT) / 2,
    )
    server = Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
