"""Importing a framework that an integration needs, or saying which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str, integration: str) -> ModuleType:
    """Import ``module`` (a framework), or raise an ImportError naming the extra to install.

    Frameworks are imported only when an integration is used, so ``import odsc_llm``
    stays fast and needs none of them.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"odsc_llm.integrations.{integration} needs `{module}`, which is not installed "
            f"({exc}). Install the extra: pip install 'odsc-llm[{extra}]'"
        ) from exc
