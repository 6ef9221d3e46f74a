"""Write each sync module from its async source (as httpcore's scripts/unasync.py does).

    python scripts/unasync.py          # rewrite the sync modules
    python scripts/unasync.py --check  # exit 1 if one is stale (CI runs this)

The rules are plain text replacements, applied line by line (``async def`` -> ``def``,
``await x`` -> ``x``, ``AsyncX`` -> ``X``, ...). Two markers cover what has no twin:

- ``# unasync: async only`` ... ``# unasync: end``: the lines between are left out of
  the sync module (``__del__`` closing the pool on the event loop, say);
- ``# unasync: sync only`` ... ``# unasync: end``: the lines between are comments in the
  source (``# `` in front) and plain code in the sync module, with no replacement applied.

The result is formatted with ``ruff format``, so the check compares like with like.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: source (async) -> target (sync), relative to the repository.
FILES = {
    "odsc_llm/_async_client.py": "odsc_llm/_client.py",
    "odsc_llm/_transport/_async_backend.py": "odsc_llm/_transport/_backend.py",
}

SUBSTITUTIONS = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\baclose\b", "close"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\b_aprime\b", "_prime"),
    (r"\barun_blocking\b", "run_blocking"),
    (r"\barelease_when_collected\b", "release_when_collected"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\b_async_client\b", "_client"),
    (r"\b_async_backend\b", "_backend"),
    (r"\bAn asynchronous\b", "A synchronous"),
    (r"\basynchronous\b", "synchronous"),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in SUBSTITUTIONS]

HEADER = (
    "# Generated from {source} by scripts/unasync.py: edit that file, then run\n"
    "# `python scripts/unasync.py`. (CI fails when this file is stale.)\n"
)


def unasync_line(line: str) -> str:
    for pattern, replacement in _COMPILED:
        line = pattern.sub(replacement, line)
    return line


def unasync(text: str, source: str) -> str:
    out: list[str] = []
    mode = ""
    for line in text.splitlines(keepends=True):
        marker = line.strip()
        if marker == "# unasync: async only":
            mode = "async"
            continue
        if marker == "# unasync: sync only":
            mode = "sync"
            continue
        if marker == "# unasync: end":
            mode = ""
            continue
        if mode == "async":
            continue
        if mode == "sync":
            out.append(re.sub(r"^(\s*)# ?", r"\1", line, count=1))
            continue
        out.append(unasync_line(line))
    return HEADER.format(source=source) + "".join(out)


def _ruff(args: list[str], text: str, target: Path) -> str:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(target), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def formatted(text: str, target: Path) -> str:
    """Imports sorted (a sync-only import lands in its place) and the code formatted."""
    text = _ruff(["check", "--quiet", "--fix-only", "--select", "I"], text, target)
    return _ruff(["format", "--quiet"], text, target)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for source, target in FILES.items():
        wanted = formatted(unasync((ROOT / source).read_text("utf-8"), source), ROOT / target)
        path = ROOT / target
        current = path.read_text("utf-8") if path.exists() else ""
        if current == wanted:
            continue
        if check:
            stale.append(target)
        else:
            path.write_text(wanted, "utf-8")
            print(f"wrote {target} from {source}")
    if stale:
        print(
            "stale (run `python scripts/unasync.py`): " + ", ".join(stale),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
