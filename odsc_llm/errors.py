"""Public names of the exception hierarchy (also exported from ``odsc_llm``).

The hierarchy is drawn at the top of :mod:`odsc_llm._errors`; the helpers that build
errors from answers stay internal there.
"""

from ._errors import *  # noqa: F403
from ._errors import __all__ as __all__
