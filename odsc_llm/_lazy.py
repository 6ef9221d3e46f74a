"""The one lazy loader (PEP 562) of the packages whose public names load on first use.

A package lists its lazy names once, as ``{name: module}``, and gets its
``__getattr__`` and ``__dir__`` from :func:`attach`::

    _LAZY = {"Client": "._client"}
    __all__ = sorted(_LAZY)
    if not TYPE_CHECKING:
        __getattr__, __dir__ = attach(__name__, _LAZY)

Type checkers see the same names through ``if TYPE_CHECKING:`` imports, which
``tests/test_exported_members.py`` checks against the list.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, names: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package ``package`` (pass ``__name__``).

    Each of ``names`` (public name -> module, relative to the package) is imported from
    its module on first access and kept in the package's namespace; each of
    ``submodules`` is imported as ``package.<name>`` on first access.
    """
    namespace = sys.modules[package].__dict__
    lazy = dict(names)
    subs = frozenset(submodules)
    if lazy.keys() & subs:
        raise ValueError(f"names both lazy and submodules: {sorted(lazy.keys() & subs)}")

    def __getattr__(name: str) -> Any:
        if name in lazy:
            value = getattr(importlib.import_module(lazy[name], package), name)
            namespace[name] = value
            return value
        if name in subs:
            return importlib.import_module(f".{name}", package)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | lazy.keys() | subs)

    return __getattr__, __dir__
