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
from ._options import ClientKind, client_kwargs, response_hook

__all__ = ["client"]


def _limits(options: dict[str, Any]) -> None:
    if "limits" not in options and "transport" not in options:
        limits = C.DEFAULT_LIMITS
        options["limits"] = httpx2.Limits(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )


def client(kind: ClientKind, auth: DeploymentAuth, options: dict[str, Any]) -> Any:
    """An ``httpx2.Client`` or ``httpx2.AsyncClient`` (``kind``) whose requests ``auth``
    adapts and signs."""
    _limits(options)
    return getattr(httpx2, kind)(**client_kwargs(HTTPX2Auth(auth), options, response_hook(kind)))
