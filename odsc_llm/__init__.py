"""odsc_llm: a typed, async-ready client for LLMs on OCI Data Science Model Deployments.

``import odsc_llm`` stays fast: ``oci`` is imported only when credentials are loaded
or the control plane is called, and the heavier parts load on first use.

The public surface is one list, ``_LAZY`` below (with the error classes of
``odsc_llm.errors`` and the submodules): it drives ``__all__`` and the lazy
``__getattr__``; the ``TYPE_CHECKING`` imports repeat it for type checkers, and
``tests/test_exported_members.py`` checks that they agree. To export a name, add it to
``_LAZY`` and to the imports under ``TYPE_CHECKING``.
"""

import typing as _typing

from ._errors import *  # noqa: F403 - the error classes: light, loaded eagerly
from ._errors import __all__ as _ERROR_NAMES
from ._lazy import attach as _attach
from ._version import __version__ as __version__

if _typing.TYPE_CHECKING:
    from . import auth as auth
    from . import control_plane as control_plane
    from . import deployment as deployment
    from . import errors as errors
    from . import integrations as integrations
    from . import proxy as proxy
    from . import shapes as shapes
    from . import testing as testing
    from . import types as types
    from ._async_client import AsyncClient as AsyncClient
    from ._batch import BatchError as BatchError
    from ._batch import BatchItem as BatchItem
    from ._batch import BatchResult as BatchResult
    from ._batch import BatchResumeFileError as BatchResumeFileError
    from ._client import Client as Client
    from ._content import image as image
    from ._content import text as text
    from ._response import APIResponse as APIResponse
    from ._streaming import AsyncStream as AsyncStream
    from ._streaming import Stream as Stream
    from ._streaming._responses import AsyncResponseStream as AsyncResponseStream
    from ._streaming._responses import ResponseStream as ResponseStream
    from ._tools import function_tool as function_tool
    from ._tracing import instrument as instrument
    from ._tracing import uninstrument as uninstrument
    from ._transport._aiohttp import aiohttp_client as aiohttp_client
    from .control_plane import DeploymentInfo as DeploymentInfo
    from .control_plane import LogRecord as LogRecord
    from .control_plane import list_deployments as list_deployments
    from .deployment import Deployment as Deployment
    from .integrations.openai import async_openai_client as async_openai_client
    from .integrations.openai import openai_client as openai_client

# name -> module that defines it; loaded on first attribute access (PEP 562).
# Deployment too: it is a pydantic model, and building the first one imports pydantic's
# model machinery (~50 ms, more than httpx), which `import odsc_llm` should not pay.
_LAZY: dict[str, str] = {
    "APIResponse": "._response",
    "AsyncClient": "._async_client",
    "AsyncResponseStream": "._streaming._responses",
    "AsyncStream": "._streaming",
    "BatchError": "._batch",
    "BatchItem": "._batch",
    "BatchResult": "._batch",
    "BatchResumeFileError": "._batch",
    "Client": "._client",
    "Deployment": ".deployment",
    "DeploymentInfo": ".control_plane",
    "LogRecord": ".control_plane",
    "ResponseStream": "._streaming._responses",
    "Stream": "._streaming",
    "aiohttp_client": "._transport._aiohttp",
    "async_openai_client": ".integrations.openai",
    "function_tool": "._tools",
    "image": "._content",
    "instrument": "._tracing",
    "list_deployments": ".control_plane",
    "openai_client": ".integrations.openai",
    "text": "._content",
    "uninstrument": "._tracing",
}
_SUBMODULES = (
    "auth",
    "control_plane",
    "deployment",
    "errors",
    "integrations",
    "proxy",
    "shapes",
    "testing",
    "types",
)

__all__ = sorted([*_ERROR_NAMES, *_LAZY, *_SUBMODULES, "__version__"])

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _attach(__name__, _LAZY, _SUBMODULES)
