"""scripts/unasync.py: the sync twins are written from their async sources."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync_script", ROOT / "scripts" / "unasync.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


unasync = _load()

SOURCE = """\
# unasync: begin generated
stale text
# unasync: end generated

# unasync: begin source rename=afetch:fetch
class AsyncThing:
    async def afetch(self) -> AsyncIterator[int]:
        # unasync: async only
        await asyncio.sleep(0)
        # unasync: end
        async with self._client as c:
            yield await c.get()
# unasync: end source
"""


def test_region_is_rewritten_from_its_source_with_renames() -> None:
    text = unasync.with_regions(SOURCE, "m.py")
    after_begin = text.split("# unasync: begin generated\n", 1)[1]
    generated = after_begin.split("# unasync: end generated")[0]
    assert "stale text" not in generated
    assert "class Thing:" in generated
    assert "def fetch(self) -> Iterator[int]:" in generated
    assert "with self._client as c:" in generated and "yield c.get()" in generated
    code = [line for line in generated.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if "sleep" in line or "async" in line]
    # The source region itself is kept as written.
    assert text.endswith(SOURCE.split("\n\n", 1)[1])


def test_rewriting_twice_changes_nothing() -> None:
    once = unasync.with_regions(SOURCE, "m.py")
    assert unasync.with_regions(once, "m.py") == once


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# unasync: begin source\nx = 1\n", "not closed"),
        ("# unasync: end source\n", "without a begin"),
        ("# unasync: begin source\n# unasync: end source\n", "1 source regions but 0"),
        ("# unasync: begin generated\n# unasync: end generated\n", "more generated"),
        ("# unasync: begin source nope\n# unasync: end source\n", "unknown option"),
        ("# unasync: begin source rename=a\n# unasync: end source\n", "bad rename"),
    ],
)
def test_unbalanced_markers_are_reported(text: str, message: str) -> None:
    with pytest.raises(unasync.RegionError, match=message):
        unasync.with_regions(text, "m.py")


def test_the_tree_is_current() -> None:
    """What CI checks: no generated module or region is stale."""
    assert unasync.main(["--check"]) == 0


def test_the_control_plane_rules_rename_the_waits_and_an_async_sleeps_type() -> None:
    source = (
        "async def f(sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:\n"
        "    await await_until_done(dep)\n"
    )
    assert unasync.unasync_lines(source) == (
        "def f(sleep: Callable[[float], object] = time.sleep) -> None:\n    wait_until_done(dep)\n"
    )
