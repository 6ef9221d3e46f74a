"""Run the benchmarks: ``python -m benchmarks.run`` (``--quick`` for a tiny smoke run).

Every contender is measured in the same run against the same local server, in rounds
(A B C ..., then B C ... A, ...) so that drift on a busy machine hits all alike.
Each figure is the median over rounds with the min-max across rounds, and its ratio
to the floor (plain httpx + hand-written RSA-SHA256 signing).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from . import batch, report
from . import proxy as proxy_figure
from ._common import Identity
from .contenders import ASYNC, SYNC, Contender
from .server import running_server

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@dataclass
class Summary:
    """Median of per-round values, with the min and max across rounds."""

    median: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        return cls(statistics.median(values), min(values), max(values), len(values))


@dataclass
class Sizes:
    rounds: int = 5
    requests: int = 1000
    stream_chunks: int = 20_000
    ttft_streams: int = 200
    ttft_chunks: int = 8
    fanout_streams: int = 1000
    fanout_chunks: int = 50
    fanout_rounds: int = 5
    held_rounds: int = 3
    import_reps: int = 7

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            rounds=2,
            requests=20,
            stream_chunks=300,
            ttft_streams=6,
            ttft_chunks=4,
            fanout_streams=20,
            fanout_chunks=5,
            fanout_rounds=1,
            held_rounds=1,
            import_reps=1,
        )


@dataclass
class Results:
    meta: dict[str, Any] = field(default_factory=dict)
    contenders: dict[str, dict[str, Any]] = field(default_factory=dict)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class Deadline:
    """The whole run's time bound: figures stop taking new rounds once it has passed."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def passed(self) -> bool:
        return self.left() <= 0


def _rotations(items: list[Any], rounds: int) -> list[list[Any]]:
    return [items[r % len(items) :] + items[: r % len(items)] for r in range(rounds)]


# --------------------------------------------------------------------------- figures


def fig_per_request(
    clients: dict[str, Any], sizes: Sizes, deadline: Deadline, res: Results
) -> None:
    """Figure 1: sequential small completions, wall and client CPU per request."""
    rounds = max(1, min(sizes.rounds * 2, sizes.requests))
    per_round = max(1, sizes.requests // rounds)
    for client in clients.values():  # warm-up: connections, lazy imports, caches
        for _ in range(min(20, per_round)):
            client.complete()
    wall: dict[str, list[float]] = {k: [] for k in clients}
    cpu: dict[str, list[float]] = {k: [] for k in clients}
    for order in _rotations(list(clients), rounds):
        if deadline.passed() and wall[order[0]]:
            res.notes.append("figure 1 cut short by the time limit")
            break
        for key in order:
            complete = clients[key].complete
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(per_round):
                complete()
            wall[key].append((time.perf_counter() - t0) / per_round * 1e6)
            cpu[key].append((time.process_time() - c0) / per_round * 1e6)
    res.figures["per_request"] = {
        "title": f"1. Per-request cost, {per_round * len(wall[next(iter(wall))])} sequential "
        "small completions (µs/request, lower is better)",
        "unit": "µs",
        "wall": {k: asdict(Summary.of(v)) for k, v in wall.items()},
        "cpu": {k: asdict(Summary.of(v)) for k, v in cpu.items()},
    }


def fig_stream(clients: dict[str, Any], sizes: Sizes, deadline: Deadline, res: Results) -> None:
    """Figure 2: one long stream's parse throughput, and time to first token."""
    for client in clients.values():
        for _ in client.stream(sizes.ttft_chunks):
            pass
    rate: dict[str, list[float]] = {k: [] for k in clients}
    for order in _rotations(list(clients), sizes.rounds):
        if deadline.passed() and rate[order[0]]:
            res.notes.append("figure 2 (throughput) cut short by the time limit")
            break
        for key in order:
            t0 = time.perf_counter()
            count = 0
            for _ in clients[key].stream(sizes.stream_chunks):
                count += 1
            elapsed = time.perf_counter() - t0
            if count != sizes.stream_chunks:
                raise RuntimeError(f"{key}: got {count} of {sizes.stream_chunks} chunks")
            rate[key].append(count / elapsed)
    ttft: dict[str, list[float]] = {k: [] for k in clients}
    per_round = max(1, sizes.ttft_streams // sizes.rounds)
    for order in _rotations(list(clients), sizes.rounds):
        if deadline.passed() and ttft[order[0]]:
            res.notes.append("figure 2 (time to first token) cut short by the time limit")
            break
        for key in order:
            samples = []
            for _ in range(per_round):
                t0 = time.perf_counter()
                it = iter(clients[key].stream(sizes.ttft_chunks))
                next(it)
                samples.append((time.perf_counter() - t0) * 1e3)
                for _ in it:
                    pass
            ttft[key].append(statistics.median(samples))
    res.figures["stream"] = {
        "title": f"2a. Stream parse throughput, one stream of {sizes.stream_chunks:,} chunks "
        "(chunks/s, higher is better)",
        "unit": "chunks/s",
        "rate": {k: asdict(Summary.of(v)) for k, v in rate.items()},
    }
    res.figures["ttft"] = {
        "title": f"2b. Time to first token, {per_round * len(ttft[next(iter(ttft))])} short "
        f"streams of {sizes.ttft_chunks} chunks (ms; per-round medians)",
        "unit": "ms",
        "ttft": {k: asdict(Summary.of(v)) for k, v in ttft.items()},
    }


#: The held fan-out's contenders (issue 27 point 1): the floor, odsc_llm on both transports.
HELD_KEYS = ("floor", "odsc_llm", "odsc_llm_aiohttp")


def _fanout_worker(
    key: str, server: str, identity: Identity, sizes: Sizes, timeout: float, hold: bool
) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "benchmarks.fanout", "--contender", key,
        "--server", server, "--identity", identity.workdir,
        "--streams", str(sizes.fanout_streams), "--chunks", str(sizes.fanout_chunks),
        "--timeout", str(timeout),
    ]  # fmt: skip
    if hold:
        cmd.append("--hold")
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout + 60)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
            raise RuntimeError(f"worker failed ({proc.returncode}): {tail[0][:300]}")
        return dict(json.loads(lines[-1]))
    except Exception as exc:
        return {"wall_s": float("nan"), "errors": sizes.fanout_streams,
                "first_error": str(exc)[:300], "peak_rss_mb": float("nan"),
                "base_rss_mb": float("nan"), "peak_connections": 0}  # fmt: skip


def _per_round_ratios(
    rounds: list[dict[str, dict[str, Any]]], key: str, value: Callable[[dict[str, Any]], float]
) -> list[float]:
    """``key``'s value over the floor's, in each round both finished without error: on a
    shared machine a round's load hits both alike, so the ratio within a round is steadier
    than the ratio of medians taken over different rounds."""
    out = []
    for r in rounds:
        mine, base = r.get(key), r.get("floor")
        if not mine or not base or mine["errors"] or base["errors"]:
            continue
        a, b = value(mine), value(base)
        if a == a and b == b and b > 0:  # not NaN
            out.append(a / b)
    return out


def _growth(r: dict[str, Any]) -> float:
    return float(r["peak_rss_mb"] - r["base_rss_mb"])


def fig_fanout(
    keys: list[str],
    server: str,
    identity: Identity,
    sizes: Sizes,
    deadline: Deadline,
    res: Results,
    *,
    hold: bool = False,
) -> None:
    """Figure 3 (instant answers) or 3h (``hold``: every answer held until all streams are
    open, so each contender holds them all at once): concurrent streams on one event
    loop, each contender in its own process, in interleaved rounds."""
    name = "fanout_held" if hold else "fanout"
    n_rounds = sizes.held_rounds if hold else sizes.fanout_rounds
    rounds: list[dict[str, dict[str, Any]]] = []
    for order in _rotations(keys, n_rounds):
        if deadline.passed() and rounds:
            res.notes.append(f"figure {'3h' if hold else '3'} cut short by the time limit")
            break
        timeout = max(30.0, min(180.0, deadline.left()))
        rounds.append({k: _fanout_worker(k, server, identity, sizes, timeout, hold) for k in order})
    out: dict[str, Any] = {}
    for key in keys:
        rs = [r[key] for r in rounds]
        ok = [r for r in rs if r["wall_s"] == r["wall_s"]]  # not NaN
        wall_ratios = _per_round_ratios(rounds, key, lambda r: float(r["wall_s"]))
        growth_ratios = _per_round_ratios(rounds, key, _growth)
        out[key] = {
            "wall": asdict(Summary.of([r["wall_s"] for r in ok])) if ok else None,
            "peak_rss_mb": asdict(Summary.of([r["peak_rss_mb"] for r in ok])) if ok else None,
            "growth_mb": asdict(Summary.of([_growth(r) for r in ok])) if ok else None,
            "wall_ratio": asdict(Summary.of(wall_ratios)) if wall_ratios else None,
            "growth_ratio": asdict(Summary.of(growth_ratios)) if growth_ratios else None,
            "connections": max((int(r.get("peak_connections") or 0) for r in rs), default=0),
            "errors": sum(r["errors"] for r in rs),
            "runs": len(rs),
            "first_error": next((r["first_error"] for r in rs if r.get("first_error")), None),
        }
    what = (
        "answers held until every stream is open (RSS growth MB, lower is better)"
        if hold
        else "instant answers (wall s, lower is better)"
    )
    res.figures[name] = {
        "title": f"{'3h' if hold else '3'}. Async fan-out: {sizes.fanout_streams:,} concurrent "
        f"streams of {sizes.fanout_chunks} chunks on one event loop, {what}",
        "unit": "s",
        "held": hold,
        "contenders": out,
    }


#: Import figure rows: key -> (label, statement). The reference row is odsc_llm's target.
IMPORT_REFERENCE = ("ref", "httpx + pydantic (reference)", "import httpx, pydantic")


def _import_rows(available: list[type[Contender]]) -> list[tuple[str, str, str]]:
    rows = [IMPORT_REFERENCE]
    for cls in available:
        if cls.key == "odsc_llm":
            rows.append(("odsc_llm_pkg", "odsc_llm (import odsc_llm)", "import odsc_llm"))
        rows.append((cls.key, cls.label, cls.import_stmt))
    return rows


_IMPORT_PROBE = (
    "import sys, time, json\n"
    "t = time.perf_counter()\n"
    "{stmt}\n"
    "t = time.perf_counter() - t\n"
    "print(json.dumps({{'s': t, 'oci': 'oci' in sys.modules}}))\n"
)


def fig_imports(
    available: list[type[Contender]], sizes: Sizes, deadline: Deadline, res: Results
) -> None:
    """Figure 4: import time of each client in a fresh interpreter (median of N)."""
    rows = _import_rows(available)
    times: dict[str, list[float]] = {k: [] for k, _, _ in rows}
    pulls_oci: dict[str, bool] = {}

    def probe(stmt: str) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE.format(stmt=stmt)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"{stmt!r} failed: {proc.stderr.strip().splitlines()[-1:]}")
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))

    if sizes.import_reps > 1:  # warm-up: write .pyc files so every rep reads them
        for _, _, stmt in rows:
            probe(stmt)
    keys = [k for k, _, _ in rows]
    stmts = {k: s for k, _, s in rows}
    for order in _rotations(keys, sizes.import_reps):
        if deadline.passed() and times[order[0]]:
            res.notes.append("figure 4 cut short by the time limit")
            break
        for key in order:
            out = probe(stmts[key])
            times[key].append(out["s"] * 1e3)
            pulls_oci[key] = out["oci"]
    res.figures["imports"] = {
        "title": "4. Import time in a fresh process (ms, median of "
        f"{sizes.import_reps}, lower is better)",
        "unit": "ms",
        "labels": {k: label for k, label, _ in rows},
        "statements": stmts,
        "imports_oci": pulls_oci,
        "time": {k: asdict(Summary.of(v)) for k, v in times.items()},
    }


# --------------------------------------------------------------------------- driver


def _versions(classes: list[type[Contender]]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    names: list[str] = []
    for cls in classes:
        names.extend(cls.dists)
    for name in dict.fromkeys([*names, "oci", "httpx", "pydantic"]):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _odsc_source() -> str:
    """Where odsc_llm was imported from, and its git commit when it is a checkout."""
    import importlib.util

    spec = importlib.util.find_spec("odsc_llm")
    if spec is None or not spec.origin:
        return "not installed"
    where = os.path.dirname(os.path.dirname(spec.origin))
    try:
        git = ["git", "-C", where]
        rev = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        changed = subprocess.run(
            [*git, "status", "--porcelain", "--", "odsc_llm"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        if rev and changed:
            rev += " + uncommitted changes in odsc_llm/"
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{where} ({rev})" if rev else where


def _meta(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "odsc_llm_source": _odsc_source(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "loadavg_start": [round(x, 2) for x in load],
        "command": shlex.join(["python", "-m", "benchmarks.run", *args.argv]),
        "quick": args.quick,
        "sizes": asdict(sizes),
        "label": args.label,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument(
        "--time-limit", type=float, default=1200.0, help="bound on the whole run, in seconds"
    )
    parser.add_argument("--out", default=HERE, help="where RESULTS.md and ratios.png go")
    parser.add_argument("--json", help="also write the raw results as JSON here")
    parser.add_argument("--label", default="", help="a name for this run in the history")
    parser.add_argument(
        "--render", help="measure nothing: write RESULTS.md from a --json file of a run"
    )
    parser.add_argument(
        "--figures", default="1,2,3,4,5,6", help="comma-separated figures to run (default all)"
    )
    parser.add_argument(
        "--contenders", default="", help="comma-separated keys to run (default all available)"
    )
    for name, default in asdict(Sizes()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None,
                            help=f"default {default}")  # fmt: skip
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return args


def render(path: str, out: str) -> Results:
    """RESULTS.md and the chart again from a run's ``--json`` file (after a change to the
    report's layout, say), without measuring anything."""
    with open(path, encoding="utf-8") as f:
        res = Results(**json.load(f))
    print(report.render_text(res))
    os.makedirs(out, exist_ok=True)
    report.write_chart(res, os.path.join(out, "ratios.png"))
    report.write_markdown(res, os.path.join(out, "RESULTS.md"), chart_name="ratios.png")
    return res


def main(argv: list[str] | None = None) -> Results:
    args = parse_args(argv)
    if args.render:
        return render(args.render, args.out)
    sizes = Sizes.quick() if args.quick else Sizes()
    for name in asdict(sizes):
        value = getattr(args, name)
        if value is not None:
            setattr(sizes, name, max(1, value))
    figures = {f.strip() for f in args.figures.split(",") if f.strip()}
    wanted = {k.strip() for k in args.contenders.split(",") if k.strip()}
    deadline = Deadline(args.time_limit)
    res = Results(meta=_meta(args, sizes))
    started = time.monotonic()

    classes = [c for c in SYNC if not wanted or c.key in wanted or c.key == "floor"]
    available: list[type[Contender]] = []
    for cls in classes:
        reason = cls.unavailable_reason()
        res.contenders[cls.key] = {"label": cls.label, "available": reason is None,
                                   "reason": reason}  # fmt: skip
        if reason is None:
            available.append(cls)
    res.meta["versions"] = _versions(classes)

    identity = Identity.create()
    try:
        with running_server(max_seconds=args.time_limit + 300) as server:
            clients: dict[str, Any] = {}
            for cls in available:
                try:
                    clients[cls.key] = cls(server, identity)
                    clients[cls.key].complete()
                except Exception as exc:
                    res.contenders[cls.key].update(
                        available=False, reason=f"setup failed: {type(exc).__name__}: {exc}"[:400]
                    )
            available = [c for c in available if res.contenders[c.key]["available"]]
            clients = {k: v for k, v in clients.items() if res.contenders[k]["available"]}
            gc.collect()
            if "1" in figures:
                print("figure 1: per-request cost ...", file=sys.stderr, flush=True)
                fig_per_request(clients, sizes, deadline, res)
            if "2" in figures:
                print("figure 2: streaming ...", file=sys.stderr, flush=True)
                fig_stream(clients, sizes, deadline, res)
            for client in clients.values():
                client.close()
            if "3" in figures:
                print("figure 3: async fan-out ...", file=sys.stderr, flush=True)
                keys = [c.key for c in available if c.key in ASYNC]
                fig_fanout(keys, server, identity, sizes, deadline, res)
                print("figure 3h: async fan-out, answers held ...", file=sys.stderr, flush=True)
                held = [k for k in keys if k in HELD_KEYS]
                fig_fanout(held, server, identity, sizes, deadline, res, hold=True)
            if "6" in figures:  # odsc-llm proxy vs direct (benchmarks/proxy.py)
                print("figure 6: odsc-llm proxy ...", file=sys.stderr, flush=True)
                res.figures["proxy"] = proxy_figure.figure(
                    server,
                    identity,
                    rounds=sizes.rounds,
                    ttft_streams=sizes.ttft_streams,
                    ttft_chunks=sizes.ttft_chunks,
                    stream_chunks=sizes.stream_chunks,
                    fanout_streams=sizes.fanout_streams,
                    fanout_chunks=sizes.fanout_chunks,
                )
        if "4" in figures:
            print("figure 4: imports ...", file=sys.stderr, flush=True)
            fig_imports(available, sizes, deadline, res)
        if "5" in figures:  # the batch at the service's limits (benchmarks/batch.py),
            # on the machine as it is and beside CPU-bound processes the figure starts
            res.figures["batch"] = batch.figure(
                prompts=100 if args.quick else 3000, hogs=(0, batch.CPU_HOGS)
            )
    finally:
        identity.cleanup()
    res.meta["elapsed_s"] = round(time.monotonic() - started, 1)

    text = report.render_text(res)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    chart = report.write_chart(res, os.path.join(args.out, "ratios.png"))
    if chart is None:
        res.notes.append("chart not drawn: matplotlib is not installed")
    report.write_markdown(res, os.path.join(args.out, "RESULTS.md"), chart_name="ratios.png")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(asdict(res), f, indent=1)
    return res


if __name__ == "__main__":
    main()
