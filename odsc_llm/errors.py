"""Public names of the exception hierarchy (also exported from ``odsc_llm``)."""

from ._errors import *  # noqa: F403
from ._errors import __all__ as __all__
