"""How the clients' requests reach the network: the only importer of httpcore.

What this package replaces, and why (as openai-python notes what it vendors):

- **The pool's connection assignment** (``_pool``). httpcore 1.0.x re-assigns every
  queued request on every request start and end in O(connections²), polls every idle
  socket each time, and can hand one idle connection to two waiting requests
  (encode/httpcore#1035, #1110); it also leaves a slot held by a request cancelled as it
  was handed a new connection (encode/httpcore#1093), and would reuse a connection with a
  second answer buffered past the first's ``Content-Length``. On 2 cores that cost up to
  5x the client CPU per request at 64 in flight. The fork httpx2/httpcore2 fixes the
  first two, but it is another package with another API, and our users pass httpx
  clients. ``LinearConnectionPool`` keeps httpcore's rules in one linear pass.
- **Deadlines at the socket** (``_deadline``). httpx's timeouts bound each socket wait,
  never a whole exchange; the deadline backend caps every wait to the call's time left.

``_transports`` puts both behind httpx's supported seam, a transport: ``HTTPTransport``
and ``AsyncHTTPTransport`` build their pool with httpcore's public arguments
(``network_backend=``), and :func:`pool_of` is the one place that reads an httpx client's
pool. A caller's own ``http_client`` is never changed. One source per sync/async pair:
the transports share their constructor (``_base``); the deadline backends are
``_async_backend`` and its generated twin ``_backend`` (``scripts/unasync.py``), both
calling the I/O-free ``_deadline.capped``.

``_aiohttp`` is the optional third transport (``AsyncClient(transport="aiohttp")``):
aiohttp's pool and C parser under httpx's API, with the same deadline and error mapping;
aiohttp is imported only when it is built.
"""

from ._deadline import capped, deadline
from ._transports import (
    SUPPORTED_HTTPCORE,
    AsyncHTTPTransport,
    HTTPTransport,
    is_capped,
    is_linear,
    linear_pool_supported,
    max_connections,
    pool_of,
)

__all__ = [
    "SUPPORTED_HTTPCORE",
    "AsyncHTTPTransport",
    "HTTPTransport",
    "capped",
    "deadline",
    "is_capped",
    "is_linear",
    "linear_pool_supported",
    "max_connections",
    "pool_of",
]
