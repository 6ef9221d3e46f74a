"""The OpenAI Agents SDK: an ``OpenAIChatCompletionsModel`` over a deployment, OCI-signed.

A deployment serves chat completions (not OpenAI's Responses API), which the Agents SDK
speaks through ``OpenAIChatCompletionsModel``; :func:`model` builds one over
:func:`odsc_llm.integrations.openai.async_openai_client`::

    from agents import Agent, Runner, set_tracing_disabled
    from odsc_llm.integrations.agents import model

    set_tracing_disabled(True)  # the SDK exports traces to OpenAI's backend by default
    agent = Agent(name="helper", model=model(deployment, auth=odsc_llm.auth.api_key()))
    Runner.run_sync(agent, "What is OCI?").final_output

Tracing: the SDK sends its traces to OpenAI's backend unless told otherwise.
``agents.set_tracing_disabled(True)`` (or ``OPENAI_AGENTS_DISABLE_TRACING=1``) turns that
off; ``agents.set_trace_processors([processor])`` replaces the exporter with yours, e.g. an
OpenTelemetry one (the SDK's tracing docs list them).

Needs ``pip install 'odsc-llm[agents]'`` (``openai-agents``, openai 3).
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
    from agents import OpenAIChatCompletionsModel

__all__ = ["model"]


def model(
    deployment: Deployment | str,
    auth: httpx.Auth | None = None,
    *,
    routing: Routing = DEFAULT_ROUTING,
    model_name: str = DEFAULT_MODEL,
    **settings: Any,
) -> OpenAIChatCompletionsModel:
    """An Agents SDK ``OpenAIChatCompletionsModel`` for ``deployment``, every request signed.

    Args:
        deployment: a :class:`~odsc_llm.Deployment`, its URL or its OCID.
        auth: an :class:`odsc_llm.auth.OCIAuth` (``None``: :func:`odsc_llm.auth.default`).
        routing: ``"header"`` (every deployment) or ``"path"`` (Multiple Inference
            Endpoints deployments only).
        model_name: the served model's name (``"odsc-llm"`` on a single-model deployment).
        **settings: passed to ``OpenAIChatCompletionsModel``. Sampling settings
            (``temperature``...) go on the agent: ``Agent(model_settings=ModelSettings(...))``.
    """
    require("agents", "agents", "agents")
    from agents import OpenAIChatCompletionsModel

    client = async_openai_client(deployment, auth, routing=routing)
    return OpenAIChatCompletionsModel(model=model_name, openai_client=client, **settings)
