"""Figure 5: a batch at the service's limits (``python -m benchmarks.batch``, or a section
of ``python -m benchmarks.run``).

N prompts against the throttling emulator (``LocalDeployment(capacity=64,
rate_limit=150, queue_size=64)``: a tenancy-style 429 above 150 requests/s, a 503 when
the model server's queue is full), once per contender:

- odsc_llm ``batch(concurrency="auto")`` (the default), and fixed concurrency 32 and 512;
- the OpenAI SDK through ``odsc_llm.async_openai_client`` with ``asyncio.Semaphore(64)``
  + ``gather`` (its own retries: 2, as by default);
- oracle-ads' ``AsyncClient`` with the same semaphore (``retries=2``);
- an ideal client that knows the limit: odsc_llm's ``AsyncClient.completions.create``
  sent exactly ``1 / rate_limit`` seconds apart (no concurrency cap, its default retries).

Every contender runs twice: on the machine as it is ("quiet"; a shared machine is
rarely quiet, the ratios within one run are what count), then with ``CPU_HOGS``
CPU-bound processes beside it ("loaded": the benchmark starts them just before the
contender and kills them right after, and each exits on its own after the contender's
timeout, so a killed benchmark leaves none behind).

Each contender runs in a process of its own (its peak RSS is its own) against a fresh
emulator in another process (its own rate-limit bucket; the emulator's GIL is not the
client's). Reported: goodput (successful items/s of wall time), its ratio to the
limit, the share of requests answered 429/503 (all, and after the first 5 s, counted by
the emulator), wall time and peak RSS. Standalone, it rewrites only its own section of
``RESULTS.md`` (between the ``batch:start``/``batch:end`` markers).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

from .batch_peers import CONTENDERS, MAX_TOKENS, SEMAPHORE, contend, unavailable_reason
from .batch_procs import HERE, ROOT, WARMUP_S, CpuLoad, EmulatorProcess, child_env, serve
from .batch_report import (
    PEERS,
    _conditions,
    kept_sections,
    table_lines,
    targets,
    write_section,
)

__all__ = [
    "CAPACITY", "CONTENDERS", "CPU_HOGS", "HERE", "MAX_TOKENS", "PEERS", "QUEUE_SIZE",
    "RATE_LIMIT", "ROOT", "SEMAPHORE", "TOKEN_DELAY", "WARMUP_S", "CpuLoad",
    "EmulatorProcess", "child_env", "contend", "figure", "kept_sections", "main", "serve",
    "table_lines", "targets", "unavailable_reason", "write_section",
]  # fmt: skip

RATE_LIMIT = 150.0
CAPACITY = 64
QUEUE_SIZE = 64
#: Seconds per generated token (``MAX_TOKENS`` of them per answer: 0.3 s of generation,
#: so ``capacity / 0.3`` (213/s) is above the rate limit and the rate limit is what binds).
TOKEN_DELAY = 0.05
#: CPU-bound processes beside each contender in the loaded condition (2 keep a 2-core
#: machine's cores busy: the client then competes for CPU with them and the emulator).
CPU_HOGS = 2


def _run_one(
    key: str,
    prompts: int,
    timeout: float,
    limits: dict[str, Any],
    hogs: int = 0,
    trace: str | None = None,
) -> dict[str, Any]:
    options = ["--rate-limit", str(limits["rate_limit"]), "--capacity", str(limits["capacity"]),
               "--queue-size", str(limits["queue_size"])]  # fmt: skip
    with EmulatorProcess(*options) as server, CpuLoad(hogs, max_seconds=timeout + 30):
        try:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.batch", "--contender", key,
                 "--url", server.url, "--config", server.config, "--prompts", str(prompts),
                 "--rate-limit", str(limits["rate_limit"])],
                capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                env={**child_env(), **({"ODSC_LLM_BATCH_TRACE": trace} if trace else {})},
            )  # fmt: skip
            lines = out.stdout.strip().splitlines()
            row = json.loads(lines[-1]) if lines else {
                "ok": 0, "wall_s": float("nan"), "peak_rss_mb": float("nan"),
                "first_error": (out.stderr.strip().splitlines() or ["no output"])[-1][:300],
            }  # fmt: skip
        except subprocess.TimeoutExpired:
            row = {"ok": 0, "wall_s": float("nan"), "peak_rss_mb": float("nan"),
                   "first_error": f"did not finish within {timeout:.0f} s"}  # fmt: skip
        row["server"] = server.stats()
    return row


def _condition_name(hogs: int) -> str:
    return "quiet" if hogs == 0 else f"{hogs} CPU-bound processes beside it"


def figure(
    prompts: int = 3000,
    timeout: float = 300.0,
    keys: list[str] | None = None,
    rate_limit: float = RATE_LIMIT,
    capacity: int = CAPACITY,
    queue_size: int = QUEUE_SIZE,
    hogs: tuple[int, ...] = (0, CPU_HOGS),
    trace_dir: str | None = None,
) -> dict[str, Any]:
    """Run every contender once per load condition (``hogs``: how many CPU-bound
    processes beside it; each contender's conditions run back to back, so they are
    compared on the same background load); the figure's data (see :func:`table_lines`).
    ``rows`` is the first condition's, ``conditions`` holds them all. ``trace_dir``:
    each contender's batch controller logs its decisions to ``<key>-<hogs>hogs.jsonl``
    there (``ODSC_LLM_BATCH_TRACE``; only ``batch()`` contenders write one)."""
    limits = {"rate_limit": rate_limit, "capacity": capacity, "queue_size": queue_size}
    conditions: list[dict[str, Any]] = [
        {"hogs": h, "name": _condition_name(h), "rows": {}} for h in hogs
    ]
    for key in keys or list(CONTENDERS):
        reason = unavailable_reason(key)
        for condition in conditions:
            if reason is not None:
                condition["rows"][key] = {"available": False, "reason": reason}
                continue
            print(f"figure 5: batch, {CONTENDERS[key]}, {condition['name']} ...",
                  file=sys.stderr, flush=True)  # fmt: skip
            trace = None
            if trace_dir is not None:
                os.makedirs(trace_dir, exist_ok=True)
                trace = os.path.join(trace_dir, f"{key}-{condition['hogs']}hogs.jsonl")
            row = _run_one(key, prompts, timeout, limits, hogs=condition["hogs"], trace=trace)
            server = row["server"]
            wall = row["wall_s"]
            row.update(
                available=True,
                goodput=row["ok"] / wall if wall and wall == wall else 0.0,
                throttled_share=(server["429"] + server["503"]) / max(1, server["requests"]),
                late_throttled_share=server["late_throttled"] / max(1, server["late_requests"]),
            )
            row["goodput_ratio"] = row["goodput"] / rate_limit
            condition["rows"][key] = row
    return {
        "title": f"5. Batch at the service's limits: {prompts:,} prompts, rate limit "
        f"{rate_limit:g}/s, capacity {capacity}, queue {queue_size}",
        "prompts": prompts,
        "rows": conditions[0]["rows"],
        "conditions": conditions,
        **limits,
    }


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 prompts (smoke test)")
    parser.add_argument("--prompts", type=int, default=None, help="prompts per contender (3000)")
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--json", help="also write the raw figure as JSON here")
    parser.add_argument("--contenders", default="", help="comma-separated keys (default: all)")
    parser.add_argument("--tag", default="", help="a name for this section of RESULTS.md")
    parser.add_argument(
        "--merge", help="a --json file of an earlier run: its rows fill in contenders not run"
    )
    parser.add_argument(
        "--hogs", default=f"0,{CPU_HOGS}",
        help=f"load conditions: CPU-bound processes beside each contender (0,{CPU_HOGS})",
    )  # fmt: skip
    parser.add_argument(
        "--trace", metavar="DIR",
        help="log each batch() contender's controller decisions (JSON lines) in DIR",
    )  # fmt: skip
    # Children:
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--capacity", type=int, default=CAPACITY, help="emulator capacity (64)")
    parser.add_argument("--rate-limit", type=float, default=RATE_LIMIT, help="requests/s (150)")
    parser.add_argument("--queue-size", type=int, default=QUEUE_SIZE, help="emulator queue (64)")
    parser.add_argument("--token-delay", type=float, default=TOKEN_DELAY, help=argparse.SUPPRESS)
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return None
    if args.contender:
        contend(args)
        return None
    prompts = args.prompts or (300 if args.quick else 3000)
    keys = [k.strip() for k in args.contenders.split(",") if k.strip()] or None
    hogs = tuple(int(h) for h in args.hogs.split(",") if h.strip())
    fig = figure(prompts, keys=keys, rate_limit=args.rate_limit, capacity=args.capacity,
                 queue_size=args.queue_size, hogs=hogs or (0,), trace_dir=args.trace)  # fmt: skip
    if args.merge:
        with open(args.merge) as f:
            earlier = {c["hogs"]: c for c in _conditions(json.load(f))}
        for condition in fig["conditions"]:
            old = earlier.get(condition["hogs"], {}).get("rows", {})
            merged = {**old, **condition["rows"]}
            condition["rows"] = {k: merged[k] for k in CONTENDERS if k in merged}
        fig["rows"] = fig["conditions"][0]["rows"]
        fig["merged_from"] = args.merge
    lines = table_lines(fig)
    if args.merge:
        earlier_keys = [CONTENDERS[k] for k in fig["rows"] if keys and k not in keys]
        lines.append(
            "Measured in this run: "
            + ", ".join(CONTENDERS[k] for k in keys or [])
            + "; taken from the previous run of this section (same settings): "
            + ", ".join(earlier_keys)
            + "."
        )
        lines.append("")
    print("\n".join(lines))
    for name, goal, measured, met in targets(fig):
        status = "met" if met else "NOT met" if met is not None else "-"
        print(f"{name}: {goal}: {measured} ({status})")
    write_section(args.out, lines + ["Targets:", ""] + [
        f"- {name}: {goal}: {measured} — {'met' if met else 'not met' if met is not None else '–'}"
        for name, goal, measured, met in targets(fig)
    ], tag=args.tag)  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(fig, f, indent=1)
    return fig


if __name__ == "__main__":
    main()
