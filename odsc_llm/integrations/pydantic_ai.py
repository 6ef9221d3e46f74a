"""pydantic-ai: an ``OpenAIChatModel`` whose requests reach a deployment, OCI-signed.

pydantic-ai's own OpenAI chat model already speaks the deployment's OpenAI-compatible
API; :func:`model` gives it an ``OpenAIProvider`` over
:func:`odsc_llm.integrations.openai.async_openai_client`, so every request (each agent
step, each retry) is signed by odsc_llm::

    from pydantic_ai import Agent
    from odsc_llm.integrations.pydantic_ai import model

    agent = Agent(model(deployment, auth=odsc_llm.auth.api_key()))
    agent.run_sync("What is OCI?").output

Needs ``pip install 'odsc-llm[pydantic-ai]'`` (``pydantic-ai-slim[openai]``, openai 3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from .._constants import DEFAULT_MODEL, DEFAULT_ROUTING
from ..deployment import Deployment
from ..types.params import Routing
from ._extras import require
from .openai import async_openai_client

if TYPE_CHECKING:
    from pydantic_ai.models.openai import OpenAIChatModel

__all__ = ["model"]


def model(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = DEFAULT_ROUTING,
    model_name: str = DEFAULT_MODEL,
    **settings: Any,
) -> OpenAIChatModel:
    """A pydantic-ai ``OpenAIChatModel`` for ``deployment``, every request OCI-signed.

    Args:
        deployment: a :class:`~odsc_llm.Deployment`, its URL or its OCID.
        auth: an :class:`odsc_llm.auth.OCIAuth` (``None``: :func:`odsc_llm.auth.default`).
        routing: ``"header"`` (every deployment) or ``"path"`` (Multiple Inference
            Endpoints deployments only).
        model_name: the served model's name (``"odsc-llm"`` on a single-model deployment).
        **settings: passed to ``OpenAIChatModel`` (``settings=ModelSettings(...)``,
            ``profile=``).

    To tune the OpenAI client (``max_retries``, ``timeout``), build the provider yourself:
    ``OpenAIChatModel(name, provider=OpenAIProvider(openai_client=async_openai_client(...)))``.
    """
    require("pydantic_ai", "pydantic-ai", "pydantic_ai")
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    client = async_openai_client(deployment, auth, routing=routing)
    return OpenAIChatModel(model_name, provider=OpenAIProvider(openai_client=client), **settings)
