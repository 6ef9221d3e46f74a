"""Write each sync module from its async source (as httpcore's scripts/unasync.py does).

    python scripts/unasync.py          # rewrite the sync modules
    python scripts/unasync.py --check  # exit 1 if one is stale (CI runs this)

Two forms:

- a whole module (``FILES``): ``odsc_llm/_client.py`` is written from ``_async_client.py``;
- a region inside a module, so each pair stands side by side in one file (as httpx keeps
  them): every module under ``odsc_llm/`` with a ``# unasync: begin source`` ...
  ``# unasync: end source`` region also has, anywhere in the same file, a
  ``# unasync: begin generated`` ... ``# unasync: end generated`` region; the k-th
  generated region is rewritten from the k-th source region. A source marker may name
  extra renames for its region: ``# unasync: begin source rename=aactivate:activate,...``.

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
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncIterable\b", "Iterable"),
    (r"\bAsyncGenerator\b", "Generator"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\barelease_when_collected\b", "release_when_collected"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\b_async_client\b", "_client"),
    (r"\b_async_backend\b", "_backend"),
    (r"\bAn asynchronous\b", "A synchronous"),
    (r"\basynchronous\b", "synchronous"),
    # control plane (odsc_llm/control_plane, deployment.py): the waits' names, and an
    # injected async sleep's type (``Callable[[float], Awaitable[object]]``).
    (r"\bawait_until_", "wait_until_"),
    (r"\bAwaitable\[(\w+)\]", r"\1"),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in SUBSTITUTIONS]

HEADER = (
    "# Generated from {source} by scripts/unasync.py: edit that file, then run\n"
    "# `python scripts/unasync.py`. (CI fails when this file is stale.)\n"
)


def unasync_line(line: str, renames: dict[str, str] | None = None) -> str:
    for old, new in (renames or {}).items():
        line = re.sub(rf"\b{re.escape(old)}\b", new, line)
    for pattern, replacement in _COMPILED:
        line = pattern.sub(replacement, line)
    return line


def unasync_lines(text: str, renames: dict[str, str] | None = None) -> str:
    """The sync twin of ``text``, honouring the async-only / sync-only markers."""
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
        out.append(unasync_line(line, renames))
    return "".join(out)


def unasync(text: str, source: str) -> str:
    return HEADER.format(source=source) + unasync_lines(text)


BEGIN_SOURCE = "# unasync: begin source"
END_SOURCE = "# unasync: end source"
BEGIN_GENERATED = "# unasync: begin generated"
END_GENERATED = "# unasync: end generated"
REGION_NOTE = (
    "# Generated from the `unasync: begin source` region {k} of this file by\n"
    "# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.\n"
)


class RegionError(Exception):
    """The markers of a module are unbalanced or unpaired."""


def _renames(marker: str) -> dict[str, str]:
    rest = marker[len(BEGIN_SOURCE) :].strip()
    if not rest:
        return {}
    if not rest.startswith("rename="):
        raise RegionError(f"unknown option on {marker!r}: write rename=old:new,...")
    pairs = [item.split(":") for item in rest[len("rename=") :].split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise RegionError(f"bad rename list on {marker!r}: write rename=old:new,...")
    return {old.strip(): new.strip() for old, new in pairs}


def with_regions(text: str, path: str) -> str:
    """``text`` with each generated region rewritten from its source region."""
    lines = text.splitlines(keepends=True)
    sources: list[tuple[str, dict[str, str]]] = []
    current: list[str] | None = None
    renames: dict[str, str] = {}
    for line in lines:
        marker = line.strip()
        if marker.startswith(BEGIN_SOURCE):
            if current is not None:
                raise RegionError(f"{path}: a source region opens inside another")
            current, renames = [], _renames(marker)
        elif marker == END_SOURCE:
            if current is None:
                raise RegionError(f"{path}: {END_SOURCE!r} without a begin")
            sources.append(("".join(current), renames))
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        raise RegionError(f"{path}: a source region is not closed")
    out: list[str] = []
    k = 0
    skipping = False
    for line in lines:
        marker = line.strip()
        if marker == BEGIN_GENERATED:
            if k >= len(sources):
                raise RegionError(f"{path}: more generated regions than source regions")
            out.append(line)
            body, names = sources[k]
            out.append(REGION_NOTE.format(k=k + 1))
            out.append(unasync_lines(body, names))
            k += 1
            skipping = True
        elif marker == END_GENERATED:
            skipping = False
            out.append(line)
        elif not skipping:
            out.append(line)
    if k != len(sources):
        raise RegionError(f"{path}: {len(sources)} source regions but {k} generated ones")
    return "".join(out)


def region_modules() -> list[Path]:
    """Every module of the package that holds a source region."""
    return sorted(
        path
        for path in (ROOT / "odsc_llm").rglob("*.py")
        if BEGIN_SOURCE in path.read_text("utf-8")
    )


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


def _wanted() -> list[tuple[str, str, str]]:
    """(target, what it is generated from, its wanted text) for every generated module."""
    out = []
    for source, target in FILES.items():
        text = unasync((ROOT / source).read_text("utf-8"), source)
        out.append((target, source, formatted(text, ROOT / target)))
    for path in region_modules():
        name = str(path.relative_to(ROOT))
        out.append((name, name, formatted(with_regions(path.read_text("utf-8"), name), path)))
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for target, source, wanted in _wanted():
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
