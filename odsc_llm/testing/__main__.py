"""``python -m odsc_llm.testing``: run a local model deployment in the foreground.

The same parser, defaults and errors as ``odsc-llm serve-local``
(:func:`odsc_llm.cli.serve_local_main`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve until Ctrl-C; returns the exit status."""
    from ..cli import serve_local_main

    return serve_local_main(argv, prog="python -m odsc_llm.testing")


if __name__ == "__main__":
    sys.exit(main())
