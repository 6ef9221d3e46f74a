"""``python -m odsc_llm``: the same as the ``odsc-llm`` command."""

from odsc_llm.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
