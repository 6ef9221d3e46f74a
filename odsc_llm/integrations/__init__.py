"""Use a model deployment from tools people already have.

- :mod:`odsc_llm.integrations.openai`: an ``openai.OpenAI`` / ``openai.AsyncOpenAI`` whose
  requests are OCI-signed and reach the deployment (``odsc_llm.openai_client``).
- :mod:`odsc_llm.integrations.langchain`: a ``langchain_openai.ChatOpenAI`` wired the same
  way.
- Agent frameworks, one module each: :mod:`~odsc_llm.integrations.pydantic_ai`,
  :mod:`~odsc_llm.integrations.agents` (the OpenAI Agents SDK),
  :mod:`~odsc_llm.integrations.litellm` (a LiteLLM provider, which DSPy uses too),
  :mod:`~odsc_llm.integrations.llama_index`.

Each submodule imports its third-party package only when imported itself, and says which
extra to install when that package is missing.
"""

from __future__ import annotations

__all__: list[str] = []
