"""What the no-network tests share: servers that never answer, and a bounded call.

The real ``oci`` clients and signers are pointed at 127.0.0.1: a server that reads the
request and never answers (read timeout), one that closes each connection at once
(counted, to see oci's retry strategy at work), or a closed port (connection refused).
Each call runs in a thread bounded by ``BOUND``, so a regression fails instead of
hanging the run.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.support.hostile import HostileServer

#: The bound on any one call here, whatever the code under test does.
BOUND = 20.0
#: The timeout the calls are given, and the slack a slow shared machine gets on top.
TIMEOUT = 2.0
SLACK = 8.0


async def silent(server: HostileServer, reader: asyncio.StreamReader, writer: Any) -> None:
    """Read the request, then say nothing until the server stops."""
    await server.read_request(reader)
    await asyncio.sleep(3600)


async def hang_up(server: HostileServer, reader: asyncio.StreamReader, writer: Any) -> None:
    """Read the request, then close the connection without an answer."""
    await server.read_request(reader)


def closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def bounded(func: Callable[[], Any]) -> tuple[BaseException | None, float]:
    """``func()`` in a thread, waited for at most BOUND s: (its error, seconds taken)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            func()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    start = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(BOUND)
    assert outcome, f"the call was still running after {BOUND} s"
    return outcome[0], time.monotonic() - start
