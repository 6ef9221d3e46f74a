"""Where the emulator listens, and its check that a request was signed for that host."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from typing import Any

from ..errors import OdscLLMError
from ._request import Request
from ._verify import SignatureVerificationError

__all__ = ["HostCheck", "bind_listeners"]

#: How many distinct ``host`` header values the check remembers.
_MAX_KNOWN_HOSTS = 1024
#: Seconds a name lookup may take before the name counts as another host.
_RESOLVE_TIMEOUT = 2.0


def bind_listeners(host: str, port: int) -> list[socket.socket]:
    """Bound sockets for every address of ``host`` (as asyncio's ``create_server`` does).

    Bound before the server starts, so a taken port is a clear error at once. With
    port 0 every address gets the port the first one was given.
    """
    where = f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise OdscLLMError(f"The local emulator cannot listen on {where}: {exc}.") from None
    listeners: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address[0]) in seen:
                continue
            seen.add((family, address[0]))
            listener = socket.socket(family, kind, proto)
            listeners.append(listener)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                with contextlib.suppress(OSError):
                    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if len(listeners) > 1:
                address = (address[0], listeners[0].getsockname()[1], *address[2:])
            listener.bind(address)
    except OSError as exc:
        for listener in listeners:
            listener.close()
        reason = (exc.strerror or str(exc)).lower()
        raise OdscLLMError(
            f"The local emulator cannot listen on {where} ({reason}): "
            "is the port free? Pass port=0 to pick a free one."
        ) from None
    return listeners


def _split_host(value: str) -> tuple[str, int | None]:
    """``name[:port]`` or ``[v6]:port`` -> (name, port or None); port -1 when unreadable."""
    value = value.strip()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ("" if not rest else "x")
    else:
        name, sep, port = value.rpartition(":")
        if not sep:
            name, port = value, ""
    if not port:
        return name.lower(), None
    return name.lower(), int(port) if port.isdigit() else -1


class HostCheck:
    """The signed ``host`` must name the address and port the request reached.

    A name is looked up (once per distinct header value, then remembered), so a
    request signed for another host is refused without per-request cost.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, Any], bool] = {}

    async def __call__(self, req: Request) -> None:
        """The signed ``host`` must name the address this request reached (else 401)."""
        server = req.scope.get("server")
        value = req.headers.get("host", "")
        if server is None:  # pragma: no cover - a unix socket: nothing to compare
            return
        key = (value, server)
        known = self._known.get(key)
        if known is None:
            known = await self._is_this_host(value, server[0], server[1])
            if len(self._known) >= _MAX_KNOWN_HOSTS:
                self._known.clear()
            self._known[key] = known
        if not known:
            raise SignatureVerificationError(
                "host",
                f"The request was signed for host {value!r}, but it reached "
                f"{server[0]}:{server[1]}: sign it for the URL it is sent to.",
            )

    @staticmethod
    async def _is_this_host(value: str, address: str, port: int) -> bool:
        name, sent_port = _split_host(value)
        if (sent_port if sent_port is not None else 80) != port:
            return False
        if name == address:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            pass
        else:
            return False  # another address
        if name == "localhost":
            return ipaddress.ip_address(address).is_loopback
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(name, port), _RESOLVE_TIMEOUT
            )
        except (OSError, asyncio.TimeoutError):
            return False
        return any(info[4][0] == address for info in infos)
