"""A local OpenAI- and Anthropic-compatible gateway that signs for model deployments.

Tools that speak OpenAI or Anthropic Messages but cannot sign OCI requests (IDE
assistants, coding agents, programs in any language with their own SDK) talk to this
gateway on loopback; it checks their key, signs each request with odsc_llm's auth and
forwards it to the deployment, streams included::

    app = odsc_llm.proxy.create_app("ocid1.datasciencemodeldeployment.oc1.iad.xxx")
    # mount `app` in any ASGI server, or run it:
    odsc_llm.proxy.serve("ocid1.datasciencemodeldeployment.oc1.iad.xxx", api_key="secret")

``odsc-llm proxy`` is a thin wrapper around :func:`serve`. The ASGI app is in
``_app``, the upstream requests in ``_forward``, the TOML model map in ``_config``, the
routes and wire formats in ``_wire``, the access log in ``_log``, uvicorn in ``_serve``;
few writes per answer (the cost on loopback): ``_coalesce`` (to the caller), ``_gather``
(upstream), ``_pipe`` (an answer's pieces).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .. import _constants as C
from .._errors import InvalidRequestError
from .._validation import validate_routing
from ..deployment import Deployment
from ._app import ProxyApp
from ._config import Served, Target, load_config, single
from ._log import LOGGER_NAME
from ._serve import run

__all__ = ["LOGGER_NAME", "ProxyApp", "Served", "Target", "create_app", "load_config", "serve"]


def create_app(
    deployment: Deployment | str | None = None,
    *,
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    auth: Any = None,
    api_key: str | None = None,
    routing: str = C.DEFAULT_ROUTING,
    tracing: bool = False,
) -> ProxyApp:
    """The proxy as an ASGI app.

    ``deployment`` (a :class:`~odsc_llm.Deployment`, URL or OCID; default
    ``$ODSC_LLM_DEPLOYMENT``) serves every model name: the body's ``model`` becomes
    ``odsc-llm``. Or ``config``, a TOML file (or the mapping it parses to) that maps
    model names to deployments (see :func:`load_config`). ``auth`` signs the requests
    (``None``: :func:`odsc_llm.auth.default`). ``api_key``: the key callers must send
    (``Authorization: Bearer KEY`` or ``x-api-key: KEY``); ``None`` accepts any caller.
    ``routing``: ``"header"`` (every deployment) or ``"path"`` (MIE deployments).
    ``tracing=True``: one odsc_llm OpenTelemetry span per chat, completion or embedding
    request (as ``Client(tracing=True)``; see the Observability guide).
    """
    from ..auth import resolve

    validate_routing(routing)
    if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
        raise InvalidRequestError("api_key must be a non-empty string, or None for no key.")
    if deployment is not None and config is not None:
        raise InvalidRequestError(
            "Give a deployment or a config, not both: a config names its deployments."
        )
    signer: httpx.Auth = resolve(auth)
    if config is not None:
        served = load_config(config, auth=signer, routing=routing)
        return ProxyApp(served, api_key=api_key, tracing=tracing)
    if deployment is None:
        deployment = os.environ.get(C.ENV_DEPLOYMENT, "").strip() or None
    if deployment is None:
        raise InvalidRequestError(
            f"No deployment: pass a deployment URL or OCID, set ${C.ENV_DEPLOYMENT}, or "
            "pass config= (a TOML file mapping model names to deployments)."
        )
    served = single(deployment, auth=signer, routing=routing)
    return ProxyApp(served, api_key=api_key, tracing=tracing)


def serve(
    deployment: Deployment | str | None = None,
    *,
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    auth: Any = None,
    api_key: str | None = None,
    routing: str = C.DEFAULT_ROUTING,
    host: str = C.PROXY_HOST,
    port: int = C.PROXY_PORT,
    on_ready: Callable[[str], Any] | None = None,
    tracing: bool = False,
) -> None:
    """Run :func:`create_app`'s app on uvicorn until SIGINT or SIGTERM, then return.

    ``host``/``port``: where to listen (loopback by default; ``port=0`` picks a free
    port); without an ``api_key`` only a loopback ``host`` is allowed.
    ``on_ready(base_url)`` is called once it listens (``http://127.0.0.1:PORT``).
    On a signal it stops accepting connections, lets requests in flight finish for up
    to 5 s, ends the rest (streams with an error event) and returns. Needs uvicorn:
    ``pip install 'odsc-llm[proxy]'``.
    """
    app = create_app(
        deployment, config=config, auth=auth, api_key=api_key, routing=routing, tracing=tracing
    )
    run(app, host=host, port=port, on_ready=on_ready)
