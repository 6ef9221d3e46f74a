"""Sync/async twins: the sync one is what ``scripts/unasync.py`` writes from the async one.

``assert_twins(sync, async_)`` compares two classes (their docstrings, and each public
member's signature and docstring) or two functions, the async side rewritten by the
script's own rules, so a twin edited by hand (or an async docstring that only says "see
the sync one") fails.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Any


def unasync_script() -> ModuleType:
    """``scripts/unasync.py`` (``scripts`` is a namespace package of the repository root,
    which the tests import from)."""
    return importlib.import_module("scripts.unasync")


def as_sync(text: str, renames: dict[str, str] | None = None) -> str:
    """``text`` (async code, a docstring, a signature) as the script writes its twin."""
    return str(unasync_script().unasync_lines(text, renames))


def _describe(obj: Any) -> tuple[str, str]:
    """(signature, docstring) of a function, or of a property's getter."""
    function: Any = obj.fget if isinstance(obj, property) else obj
    return str(inspect.signature(function)), inspect.getdoc(function) or ""


def assert_twins(
    sync: Any,
    async_: Any,
    *,
    renames: dict[str, str] | None = None,
    differ: frozenset[str] = frozenset(),
) -> None:
    """``sync`` is the generated twin of ``async_``; members named in ``differ`` are
    written apart (``# unasync: async only`` / ``sync only``) and only must exist."""
    if not inspect.isclass(async_):
        assert _describe(sync) == tuple(as_sync(part, renames) for part in _describe(async_))
        return
    assert inspect.getdoc(sync) == as_sync(inspect.getdoc(async_) or "", renames)
    names = {n for n in vars(async_) if not n.startswith("_") or n == "__call__"}
    assert names == {n for n in vars(sync) if not n.startswith("_") or n == "__call__"}, sync
    for name in sorted(names - differ):
        sync_side, async_side = _describe(vars(sync)[name]), _describe(vars(async_)[name])
        wanted = tuple(as_sync(part, renames) for part in async_side)
        assert sync_side == wanted, f"{sync.__qualname__}.{name}"
