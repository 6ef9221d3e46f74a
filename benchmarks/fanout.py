"""Figure 3 worker: N concurrent streams on one event loop, in a process of its own.

Run by the harness as ``python -m benchmarks.fanout --contender KEY --server URL
--identity DIR --streams N --chunks M --timeout S [--hold] [--tracemalloc]``; prints one
JSON line with the wall time, the error count (an exception, or a stream that did not
deliver M chunks), the first error, the process's peak RSS (its own: nothing else runs
in it) and the most connections the server saw open at once.

``--hold`` asks the server to hold every answer until all N requests have arrived, so
the contender really holds N streams at once (against the instant server, httpcore's
stock pool hands a finished connection to the next queued request and opens only a
handful: its memory figure then says little about a stream's cost). ``--tracemalloc``
traces allocations (slow: for the breakdown, not the timing) and reports, for the
moment the most memory was in use, the bytes per open stream by source file.

``python -m benchmarks.fanout --compare floor,odsc_llm [--hold] [--rounds R]`` starts a
server and runs the workers side by side in interleaved rounds, printing a table with
the ratios to the first contender.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any
from urllib.parse import urlsplit

from ._common import Identity
from .contenders import ASYNC

#: Source files below this many bytes per stream are summed into one "other" row.
_TRACE_MIN_BYTES = 64
#: Seconds between two looks at the traced memory while the streams run.
_TRACE_POLL = 0.1


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


def _control(server: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A request to the benchmark server's ``/_bench/`` paths (outside the timed part)."""
    parts = urlsplit(server)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={"content-type": "application/json"})
        return json.loads(conn.getresponse().read() or b"null")
    finally:
        conn.close()


def _where(filename: str) -> str:
    """A short name for a source file: ``package/module.py`` from site-packages or here."""
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            tail = filename.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3" else tail
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.relpath(filename, root) if filename.startswith(root) else filename


def _breakdown(
    base: tracemalloc.Snapshot, peak: tracemalloc.Snapshot, streams: int, key: str
) -> list[dict[str, Any]]:
    """Bytes per open stream by the file (or line) that allocated them, largest first."""
    rows: list[dict[str, Any]] = []
    other = 0
    for stat in peak.compare_to(base, key):
        per_stream = stat.size_diff / streams
        if per_stream < _TRACE_MIN_BYTES:
            other += stat.size_diff
            continue
        frame = stat.traceback[0]
        where = _where(frame.filename) + (f":{frame.lineno}" if key == "lineno" else "")
        rows.append({"where": where, "bytes_per_stream": round(per_stream)})
    rows.append({"where": "(other files)", "bytes_per_stream": round(other / streams)})
    return rows


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    identity = Identity(args.identity)
    contender: Any = ASYNC[args.contender](args.server, identity)
    traced: dict[str, Any] = {}
    try:
        # One warm-up stream: connection set up, lazy imports done.
        await contender.astream_count(args.chunks)
        # Arms the hold (n=0: none) and starts counting the peak of open connections.
        _control(args.server, "POST", "/_bench/hold", {"n": args.streams if args.hold else 0})
        base_rss = _rss_bytes()
        if args.tracemalloc:
            tracemalloc.start()
            traced["base"] = tracemalloc.take_snapshot()
            traced["most"] = 0
        errors: list[str] = []

        async def one() -> None:
            try:
                got = await contender.astream_count(args.chunks)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                return
            if got != args.chunks:
                errors.append(f"stream delivered {got} of {args.chunks} chunks")

        async def watch_memory() -> None:
            # The snapshot at the most memory in use: every stream open, chunks arriving.
            while True:
                await asyncio.sleep(_TRACE_POLL)
                current, _ = tracemalloc.get_traced_memory()
                if current > traced["most"]:
                    traced["most"] = current
                    traced["peak"] = tracemalloc.take_snapshot()

        watcher = asyncio.ensure_future(watch_memory()) if args.tracemalloc else None
        tasks = [asyncio.ensure_future(one()) for _ in range(args.streams)]
        start = time.perf_counter()
        _, pending = await asyncio.wait(tasks, timeout=args.timeout)
        wall = time.perf_counter() - start
        if watcher is not None:
            watcher.cancel()
            if "peak" not in traced:  # a run shorter than one look: its end, then
                traced["most"] = tracemalloc.get_traced_memory()[0]
                traced["peak"] = tracemalloc.take_snapshot()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            errors.extend([f"not finished within {args.timeout:.0f} s"] * len(pending))
        stats = _control(args.server, "GET", "/_bench/stats")
    finally:
        await contender.aclose()
    result = {
        "contender": args.contender,
        "streams": args.streams,
        "chunks": args.chunks,
        "held": args.hold,
        "wall_s": wall,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "base_rss_mb": base_rss / 2**20,
        "peak_rss_mb": _peak_rss_bytes() / 2**20,
        "peak_connections": stats["peak"],
    }
    if "peak" in traced:
        result["traced_peak_mb"] = traced["most"] / 2**20
        result["tracemalloc"] = _breakdown(
            traced["base"], traced["peak"], args.streams, args.trace_key
        )
    return result


def _worker(key: str, server: str, identity: Identity, args: argparse.Namespace) -> Any:
    cmd = [
        sys.executable, "-m", "benchmarks.fanout", "--contender", key, "--server", server,
        "--identity", identity.workdir, "--streams", str(args.streams),
        "--chunks", str(args.chunks), "--timeout", str(args.timeout),
    ]  # fmt: skip
    if args.hold:
        cmd.append("--hold")
    if args.tracemalloc:
        cmd += ["--tracemalloc", "--trace-key", args.trace_key]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=args.timeout + 120)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{key}: worker failed ({proc.returncode}): {proc.stderr[-500:]}")
    return json.loads(lines[-1])


def compare(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run the contenders' workers in interleaved rounds; print and return the runs."""
    from .server import running_server

    keys = args.compare.split(",")
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    identity = Identity.create()
    try:
        with running_server(max_seconds=args.timeout * args.rounds * len(keys) + 300) as url:
            for r in range(args.rounds):
                for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
                    runs[key].append(_worker(key, url, identity, args))
    finally:
        identity.cleanup()
    first = keys[0]

    def med(key: str, field: str) -> float:
        if field == "growth":
            return statistics.median(r["peak_rss_mb"] - r["base_rss_mb"] for r in runs[key])
        return statistics.median(float(r[field]) for r in runs[key])

    mode = "held until all arrived" if args.hold else "instant"
    print(f"{args.streams} streams of {args.chunks} chunks, answers {mode}, {args.rounds} rounds")
    print(f"{'contender':<10} {'wall s':>8} {'x':>6} {'growth MB':>10} {'x':>6} "
          f"{'peak conns':>10} {'errors':>6}  walls s | growths MB")  # fmt: skip
    for key in keys:
        walls = " ".join(f"{r['wall_s']:.2f}" for r in runs[key])
        walls += " | " + " ".join(f"{r['peak_rss_mb'] - r['base_rss_mb']:.1f}" for r in runs[key])
        print(
            f"{key:<10} {med(key, 'wall_s'):>8.2f} "
            f"{med(key, 'wall_s') / med(first, 'wall_s'):>5.2f}x "
            f"{med(key, 'growth'):>10.1f} {med(key, 'growth') / med(first, 'growth'):>5.2f}x "
            f"{med(key, 'peak_connections'):>10.0f} "
            f"{sum(r['errors'] for r in runs[key]):>6}  {walls}"
        )
        if args.tracemalloc:
            for row in runs[key][-1].get("tracemalloc", []):
                print(f"    {row['bytes_per_stream']:>8,} B/stream  {row['where']}")
    return [r for rs in runs.values() for r in rs]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contender", choices=sorted(ASYNC))
    parser.add_argument("--server")
    parser.add_argument("--identity")
    parser.add_argument("--compare", help="comma-separated contenders: run them side by side")
    parser.add_argument("--rounds", type=int, default=3, help="with --compare")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--hold", action="store_true", help="answer once all have arrived")
    parser.add_argument("--tracemalloc", action="store_true", help="bytes per stream by file")
    parser.add_argument("--trace-key", choices=["filename", "lineno"], default="filename")
    args = parser.parse_args(argv)
    if args.compare:
        unknown = set(args.compare.split(",")) - set(ASYNC)
        if unknown:
            parser.error(f"unknown contenders {sorted(unknown)}; choose from {sorted(ASYNC)}")
        compare(args)
        return
    if not (args.contender and args.server and args.identity):
        parser.error("--contender, --server and --identity are required (or --compare)")
    if not args.server.startswith("http://127.0.0.1:"):
        parser.error("the benchmark talks to 127.0.0.1 only")
    result = asyncio.run(_run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
