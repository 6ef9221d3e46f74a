"""The ``httpx2`` flavor of the adapter's HTTP clients (openai >= 2 sends through httpx2).

Imported only when an httpx2 client is asked for: ``httpx2`` is optional.

The pool: odsc_llm's own transport (linear connection assignment, sockets capped to the
call's deadline; ``odsc_llm._transport``) is built on ``httpcore`` for ``httpx``; httpx2
runs on its own connection layer (``httpcore2``), which that transport cannot drive. So
an httpx2 client keeps httpx2's transport, with odsc_llm's pool limits
(:data:`~odsc_llm._constants.DEFAULT_LIMITS`: many concurrent streams each hold a
connection) unless the caller passes ``limits=`` or ``transport=``.
"""

from __future__ import annotations

from typing import Any

import httpx2

from ... import _constants as C
from ...auth._httpx2_auth import HTTPX2Auth
from ._auth import DeploymentAuth
from ._options import amark_409_not_retryable, client_kwargs, mark_409_not_retryable

__all__ = ["async_client", "sync_client"]


def _limits(options: dict[str, Any]) -> None:
    if "limits" not in options and "transport" not in options:
        limits = C.DEFAULT_LIMITS
        options["limits"] = httpx2.Limits(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )


def sync_client(auth: DeploymentAuth, options: dict[str, Any]) -> httpx2.Client:
    """An ``httpx2.Client`` whose requests ``auth`` adapts and signs."""
    _limits(options)
    return httpx2.Client(**client_kwargs(HTTPX2Auth(auth), options, mark_409_not_retryable))


def async_client(auth: DeploymentAuth, options: dict[str, Any]) -> httpx2.AsyncClient:
    """The ``httpx2.AsyncClient`` twin of :func:`sync_client`."""
    _limits(options)
    return httpx2.AsyncClient(**client_kwargs(HTTPX2Auth(auth), options, amark_409_not_retryable))
