"""Figure 3 worker: N concurrent streams on one event loop, in a process of its own.

Run by the harness as ``python -m benchmarks.fanout --contender KEY --server URL
--identity DIR --streams N --chunks M --timeout S``; prints one JSON line with the wall
time, the error count (an exception, or a stream that did not deliver M chunks), the
first error, and the process's peak RSS (its own: nothing else runs in it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from typing import Any

from ._common import Identity
from .contenders import ASYNC


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _peak_rss_bytes() -> int:
    # VmHWM is this process's own high-water mark; ru_maxrss is not (on Linux it keeps
    # the parent's peak across fork and exec).
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    identity = Identity(args.identity)
    contender: Any = ASYNC[args.contender](args.server, identity)
    try:
        # One warm-up stream: connection set up, lazy imports done.
        await contender.astream_count(args.chunks)
        base_rss = _rss_bytes()
        errors: list[str] = []

        async def one() -> None:
            try:
                got = await contender.astream_count(args.chunks)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                return
            if got != args.chunks:
                errors.append(f"stream delivered {got} of {args.chunks} chunks")

        tasks = [asyncio.ensure_future(one()) for _ in range(args.streams)]
        start = time.perf_counter()
        _, pending = await asyncio.wait(tasks, timeout=args.timeout)
        wall = time.perf_counter() - start
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            errors.extend([f"not finished within {args.timeout:.0f} s"] * len(pending))
    finally:
        await contender.aclose()
    return {
        "contender": args.contender,
        "streams": args.streams,
        "chunks": args.chunks,
        "wall_s": wall,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "base_rss_mb": base_rss / 2**20,
        "peak_rss_mb": _peak_rss_bytes() / 2**20,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contender", required=True, choices=sorted(ASYNC))
    parser.add_argument("--server", required=True)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if not args.server.startswith("http://127.0.0.1:"):
        parser.error("the benchmark talks to 127.0.0.1 only")
    result = asyncio.run(_run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
