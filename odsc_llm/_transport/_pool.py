"""Connection assignment for the pools the clients make themselves: linear in the pool's
size, and one HTTP/1.1 connection per request.

httpcore runs ``_assign_requests_to_connections`` whenever a request starts or ends. In
httpcore 1.0.9 that pass costs O(connections²): for every idle connection it counts all
connections again, and it polls every idle socket to see whether the server closed it.
Worse, an idle connection just handed to a waiting request stays idle until that
request's task runs, so the next pass hands it to another request too; the loser fails
with ``ConnectionNotAvailable`` and goes round again (encode/httpcore#1035 and #1110,
open). On a busy event loop that window is long, so passes multiply: on a 2-core machine
a batch at 64 in flight cost 16 ms of client CPU per request against 3 ms at 32, and
throughput fell from 148/s to 61/s.

:func:`assign` keeps httpcore's rules (reuse an idle connection of the same origin,
else open one while under ``max_connections``, else close an idle one to make room; at
most ``max_keepalive_connections`` idle) in one pass: a connection already handed to a
request is never offered again, and idle sockets are polled when one is about to be
reused (and all of them at most every ``POOL_SWEEP_INTERVAL`` seconds), not on every
pass. Two hazards of httpcore's are closed here too: a connection holding bytes the
server sent past its last answer (a second whole answer after the ``Content-Length``)
is never reused, or the next request would read them as its own answer; and a
connection made for a request that was cancelled before it could open it is dropped,
or it would hold its slot for good (encode/httpcore#1093). Only the transports
odsc_llm makes build it (HTTP/1.1, no proxy); a caller's own ``http_client`` keeps its
pool. Sync and async pools share :func:`assign`: it does no I/O.

The pools override httpcore's private ``_assign_requests_to_connections`` (the one method
that runs the pass) and read its private state, so they are used only on the httpcore
releases they are tested on (``_transports.SUPPORTED_HTTPCORE``); on any other the
transports build httpcore's own pool.
"""

from __future__ import annotations

import time
from typing import Any

import httpcore

from .. import _constants as C

__all__ = ["AsyncLinearConnectionPool", "LinearConnectionPool", "assign"]


def _unopened(connection: Any) -> bool:
    """Made for a request that has not opened it yet (httpcore's ``HTTPConnection``
    before its first request: no socket, and not failed)."""
    return getattr(connection, "_connection", 0) is None and not getattr(
        connection, "_connect_failed", True
    )


def _unread(connection: Any) -> bool:
    """The server sent bytes past the last answer, and they were read off the socket
    with it (h11 holds them): the next request on this connection would parse them as
    its answer. (Bytes still in the socket make ``has_expired()`` true instead.)"""
    h11_state = getattr(getattr(connection, "_connection", None), "_h11_state", None)
    trailing = getattr(h11_state, "trailing_data", None)
    return bool(trailing and trailing[0])


def _spent(connection: Any) -> bool:
    """An idle connection that must not carry another request."""
    return bool(connection.has_expired()) or _unread(connection)


def _reuse(pool: Any, idle: list[Any], origin: httpcore.Origin, closing: list[Any]) -> Any:
    """An idle connection to ``origin`` that is still usable (taken out of ``idle``)."""
    index = 0
    while index < len(idle):
        connection = idle[index]
        if not (connection.can_handle_request(origin) and connection.is_available()):
            index += 1
            continue
        del idle[index]
        if _spent(connection):  # keep-alive ran out, the server closed it, or sent more
            pool._connections.remove(connection)
            closing.append(connection)
            continue
        return connection
    return None


def assign(pool: Any) -> list[Any]:
    """Give queued requests connections; return the connections to close (no I/O here)."""
    closing: list[Any] = []
    taken = {request.connection for request in pool._requests if request.connection is not None}
    now = time.monotonic()
    sweep = now >= pool._sweep_at
    if sweep:
        pool._sweep_at = now + C.POOL_SWEEP_INTERVAL
    kept: list[Any] = []
    idle: list[Any] = []
    for connection in pool._connections:
        if connection.is_closed():
            continue
        if connection not in taken:
            if connection.is_idle():
                if sweep and _spent(connection):
                    closing.append(connection)
                    continue
                idle.append(connection)
            elif _unopened(connection):  # its request was cancelled as it was handed it
                closing.append(connection)  # (no socket yet: closing it is a no-op)
                continue
        kept.append(connection)
    surplus = len(idle) - pool._max_keepalive_connections
    if surplus > 0:  # the longest-open idle connections go first, as in httpcore
        evicted = set(idle[:surplus])
        closing.extend(idle[:surplus])
        del idle[:surplus]
        kept = [connection for connection in kept if connection not in evicted]
    pool._connections = kept

    for request in pool._requests:
        if not request.is_queued():
            continue
        origin = request.request.url.origin
        connection = _reuse(pool, idle, origin, closing)
        if connection is None:
            if len(pool._connections) >= pool._max_connections:
                if not idle:
                    break  # full and nothing idle: the rest wait for a release
                victim = idle.pop(0)
                pool._connections.remove(victim)
                closing.append(victim)
            connection = pool.create_connection(origin)
            pool._connections.append(connection)
        request.assign_to_connection(connection)
    return closing


class LinearConnectionPool(httpcore.ConnectionPool):
    """httpcore's pool, its connections assigned by :func:`assign`."""

    _sweep_at = 0.0

    def _assign_requests_to_connections(self) -> list[httpcore.ConnectionInterface]:
        return assign(self)


class AsyncLinearConnectionPool(httpcore.AsyncConnectionPool):
    """The async twin of :class:`LinearConnectionPool`."""

    _sweep_at = 0.0

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        return assign(self)
