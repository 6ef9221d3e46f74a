"""Each sync resource is the twin scripts/unasync.py writes from its async resource."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from tests.support.twins import assert_twins

MODULES = [
    "audio",
    "chat",
    "completions",
    "embeddings",
    "models",
    "rerank",
    "responses",
    "scoring",
    "tokenize",
]
# Written apart: the sync batch() runs the async engine on its own event loop.
DIFFER = frozenset({"batch"})


def _pairs() -> list[tuple[type, type]]:
    pairs = []
    for name in MODULES:
        module = importlib.import_module(f"odsc_llm.resources.{name}")
        for cls in vars(module).values():
            defined_here = inspect.isclass(cls) and cls.__module__ == module.__name__
            if defined_here and cls.__name__.startswith("Async"):
                pairs.append((getattr(module, cls.__name__.removeprefix("Async")), cls))
    return pairs


PAIRS = _pairs()


def test_every_resource_has_its_twin() -> None:
    names = {sync.__name__ for sync, _ in PAIRS}
    assert len(PAIRS) == 18
    assert {"Chat", "ChatCompletionsWithRawResponse", "Translations", "Responses"} <= names


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=[s.__name__ for s, _ in PAIRS])
def test_sync_resource_is_the_generated_twin(sync: type, async_: type) -> None:
    assert_twins(sync, async_, differ=DIFFER)


@pytest.mark.parametrize("name", MODULES)
def test_each_module_has_one_source_for_its_pairs(name: str) -> None:
    import odsc_llm.resources

    text = (Path(odsc_llm.resources.__file__).parent / f"{name}.py").read_text("utf-8")
    assert text.count("# unasync: begin source") == 1
    assert text.count("# unasync: begin generated") == 1
