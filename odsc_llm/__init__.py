"""odsc_llm: a typed, async-ready client for LLMs on OCI Data Science Model Deployments.

``import odsc_llm`` stays fast: ``oci`` is imported only when credentials are loaded
or the control plane is called, and the heavier parts load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    AuthError,
    BadRequestError,
    ConflictError,
    DeploymentStateError,
    InternalServerError,
    InvalidDeploymentError,
    NotFoundError,
    OdscLLMError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    StreamError,
    UnprocessableEntityError,
)
from ._version import __version__

if TYPE_CHECKING:
    from . import auth as auth
    from . import deployment as deployment
    from . import errors as errors
    from . import shapes as shapes
    from . import types as types
    from ._batch import BatchError as BatchError
    from ._batch import BatchItem as BatchItem
    from ._batch import BatchResult as BatchResult
    from ._client import AsyncClient as AsyncClient
    from ._client import Client as Client
    from ._response import APIResponse as APIResponse
    from ._streaming import AsyncStream as AsyncStream
    from ._streaming import Stream as Stream
    from .control_plane import DeploymentInfo as DeploymentInfo
    from .control_plane import LogRecord as LogRecord
    from .control_plane import list_deployments as list_deployments
    from .deployment import Deployment as Deployment

# name -> module that defines it; loaded on first attribute access (PEP 562).
# Deployment too: it is a pydantic model, and building the first one imports pydantic's
# model machinery (~50 ms, more than httpx), which `import odsc_llm` should not pay.
_LAZY: dict[str, str] = {
    "Deployment": ".deployment",
    "Client": "._client",
    "AsyncClient": "._client",
    "Stream": "._streaming",
    "AsyncStream": "._streaming",
    "DeploymentInfo": ".control_plane",
    "list_deployments": ".control_plane",
    "LogRecord": ".control_plane",
    "BatchResult": "._batch",
    "BatchItem": "._batch",
    "BatchError": "._batch",
    "APIResponse": "._response",
    "openai_client": ".integrations.openai",
    "async_openai_client": ".integrations.openai",
}
_SUBMODULES = {
    "auth",
    "control_plane",
    "deployment",
    "errors",
    "integrations",
    "shapes",
    "testing",
    "types",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncStream",
    "AuthError",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "Deployment",
    "DeploymentStateError",
    "InternalServerError",
    "InvalidDeploymentError",
    "NotFoundError",
    "OdscLLMError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "Stream",
    "StreamError",
    "UnprocessableEntityError",
    "__version__",
    "auth",
    "errors",
    "shapes",
    "types",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'odsc_llm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(_LAZY) | _SUBMODULES)
