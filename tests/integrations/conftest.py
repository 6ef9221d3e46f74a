"""The framework tests of each environment.

Frameworks need different ``openai`` majors: pydantic-ai and the OpenAI Agents SDK need
openai 3 (CI installs the LiteLLM/DSPy stack beside them), while LlamaIndex's OpenAI
packages need ``openai<3`` (CI: ``openai<2``) and instructor 1.17 ``openai>=2,<3`` (its
``jiter<0.15`` pin excludes openai 3.6x). Their test modules are marked ``openai3`` /
``openai_lt2`` / ``openai2`` (``ENVIRONMENTS`` below) and run in the environment
whose openai fits (CI runs both, see .ci/run): a run leaves out the modules of the other
environment (the report header says which). A module whose framework is missing in its
own environment fails on its import: never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest

# LiteLLM (and DSPy, through it) fetch a price list from the internet when imported, and
# the Agents SDK exports traces to OpenAI's backend: tests send nothing off this machine.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")

#: Test module -> the environment (marker) it runs in.
ENVIRONMENTS = {
    "test_pydantic_ai.py": "openai3",
    "test_agents.py": "openai3",
    "test_litellm.py": "openai3",
    "test_dspy.py": "openai3",
    "test_llama_index.py": "openai_lt2",
    "test_instructor.py": "openai2",
}
#: Marker -> whether an installed openai major fits it.
FITS: dict[str, Callable[[int], bool]] = {
    "openai3": lambda major: major >= 3,
    "openai_lt2": lambda major: major < 2,
    "openai2": lambda major: major == 2,
}


def _openai_major() -> int:
    try:
        return int(metadata.version("openai").split(".")[0])
    except metadata.PackageNotFoundError:
        return 0


def _left_out() -> list[str]:
    # Whatever -m says (CI runs `-m "not real_model"`): a module of the other environment
    # cannot even be imported here.
    major = _openai_major()
    return sorted(name for name, mark in ENVIRONMENTS.items() if not FITS[mark](major))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name in _left_out():
        return True
    return None


def pytest_report_header(config: pytest.Config) -> str | None:
    left_out = _left_out()
    if not left_out:
        return None
    return (
        f"openai {_openai_major()}.x: left out {', '.join(left_out)} "
        "(they run in the other environment of .ci/run)"
    )
