"""Each framework helper names the extra to install when its framework is missing.

Runs in every environment: the framework is hidden (``sys.modules[name] = None`` makes
its import fail), so nothing here needs it installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from odsc_llm.integrations import agents, litellm, llama_index, pydantic_ai

URL = "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.xxx"

CASES: list[tuple[str, str, Callable[[], Any]]] = [
    ("pydantic_ai", "pydantic-ai", lambda: pydantic_ai.model(URL)),
    ("agents", "agents", lambda: agents.model(URL)),
    ("litellm", "litellm", lambda: litellm.register()),
    ("litellm", "litellm", lambda: litellm.handler()),
    ("llama_index.llms.openai_like", "llama-index", lambda: llama_index.llm(URL)),
    ("llama_index.embeddings.openai_like", "llama-index", lambda: llama_index.embedding(URL)),
]


@pytest.mark.parametrize(("module", "extra", "make"), CASES, ids=[c[0] + "-" + c[1] for c in CASES])
def test_a_missing_framework_names_its_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, extra: str, make: Callable[[], Any]
) -> None:
    monkeypatch.setitem(__import__("sys").modules, module, None)
    with pytest.raises(ImportError, match=rf"pip install 'odsc-llm\[{extra}\]'"):
        make()


def test_importing_odsc_llm_loads_no_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, odsc_llm, odsc_llm.integrations.agents, odsc_llm.integrations.litellm, "
        "odsc_llm.integrations.llama_index, odsc_llm.integrations.pydantic_ai\n"
        "loaded = [m for m in ('agents', 'litellm', 'llama_index', 'pydantic_ai', 'dspy') "
        "if m in sys.modules]\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
