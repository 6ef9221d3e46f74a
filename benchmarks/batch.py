"""Figure 5: a batch at the service's limits (``python -m benchmarks.batch``, or a section
of ``python -m benchmarks.run``).

N prompts against the throttling emulator (``LocalDeployment(capacity=64,
rate_limit=150, queue_size=64)``: a tenancy-style 429 above 150 requests/s, a 503 when
the model server's queue is full), once per contender:

- odsc_llm ``batch(concurrency="auto")`` (the default), and fixed concurrency 32 and 512;
- the OpenAI SDK through ``odsc_llm.async_openai_client`` with ``asyncio.Semaphore(64)``
  + ``gather`` (its own retries: 2, as by default);
- oracle-ads' ``AsyncClient`` with the same semaphore (``retries=2``).

Each contender runs in a process of its own (its peak RSS is its own) against a fresh
emulator in another process (its own rate-limit bucket; the emulator's GIL is not the
client's). Reported: goodput (successful items/s of wall time), its ratio to the
limit, the share of requests answered 429/503 (all, and after the first 5 s, counted by
the emulator), wall time and peak RSS. Standalone, it rewrites only its own section of
``RESULTS.md`` (between the ``batch:start``/``batch:end`` markers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

RATE_LIMIT = 150.0
CAPACITY = 64
QUEUE_SIZE = 64
#: Completion tokens per answer and seconds per token: 0.3 s of generation, so
#: ``capacity / 0.3`` (213/s) is above the rate limit and the rate limit is what binds.
MAX_TOKENS = 6
TOKEN_DELAY = 0.05
#: Throttled share is judged after this warm-up (seconds from the first request).
WARMUP_S = 5.0
SEMAPHORE = 64

CONTENDERS: dict[str, str] = {
    "odsc_auto": 'odsc_llm batch(concurrency="auto")',
    "odsc_32": "odsc_llm batch(concurrency=32)",
    "odsc_512": "odsc_llm batch(concurrency=512)",
    "openai_sem64": "openai SDK (async_openai_client) + Semaphore(64)",
    "ads_sem64": "oracle-ads AsyncClient + Semaphore(64)",
}


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# --------------------------------------------------------------------------- the server


def serve(args: argparse.Namespace) -> None:
    """Child: one throttling emulator; prints its address, then stats when asked."""
    from odsc_llm.testing import LocalDeployment

    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalDeployment(
            capacity=args.capacity,
            rate_limit=args.rate_limit,
            queue_size=args.queue_size,
            token_delay=args.token_delay,
            request_log_size=0,
        ) as local,
    ):
        config = local.write_oci_config(tmp)
        print(json.dumps({"url": local.url, "config": str(config)}), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                events = list(local.throttle.events)
                first = events[0][0] if events else 0.0
                late = [s for t, s in events if t - first > WARMUP_S]
                print(json.dumps({
                    "requests": len(events),
                    "429": sum(s == 429 for _, s in events),
                    "503": sum(s == 503 for _, s in events),
                    "late_requests": len(late),
                    "late_throttled": sum(s != 200 for s in late),
                    "peak_generating": local.throttle.peak_generating,
                }), flush=True)  # fmt: skip
            if line.strip() == "quit":
                return


# --------------------------------------------------------------------------- contenders


async def _odsc(url: str, config: str, prompts: list[str], concurrency: Any) -> tuple[int, Any]:
    import odsc_llm

    auth = odsc_llm.auth.api_key(config_file=config)
    async with odsc_llm.AsyncClient(url, auth=auth) as client:
        result = await client.completions.batch(
            prompts, concurrency=concurrency, max_tokens=MAX_TOKENS
        )
    s = result.summary
    first = next((i.error for i in result.errors), None)
    extra = {"final_concurrency": s.final_concurrency, "final_rate": s.final_rate,
             "cuts": s.cuts, "first_error": None if first is None else first.type}  # fmt: skip
    return s.ok, extra


async def _gather(prompts: list[str], one: Any) -> tuple[int, Any]:
    semaphore = asyncio.Semaphore(SEMAPHORE)

    async def guarded(prompt: str) -> Any:
        async with semaphore:
            return await one(prompt)

    answers = await asyncio.gather(*(guarded(p) for p in prompts), return_exceptions=True)
    errors = [a for a in answers if isinstance(a, BaseException)]
    first = f"{type(errors[0]).__name__}: {errors[0]}"[:200] if errors else None
    return len(answers) - len(errors), {"first_error": first}


async def _openai(url: str, config: str, prompts: list[str]) -> tuple[int, Any]:
    import odsc_llm

    client = odsc_llm.async_openai_client(url, odsc_llm.auth.api_key(config_file=config))

    async def one(prompt: str) -> Any:
        return await client.completions.create(
            model="odsc-llm", prompt=prompt, max_tokens=MAX_TOKENS
        )

    try:
        return await _gather(prompts, one)
    finally:
        await client.close()


async def _ads(url: str, config: str, prompts: list[str]) -> tuple[int, Any]:
    import oci
    from ads.aqua.client.client import AsyncClient

    cfg = oci.config.from_file(config)
    signer = oci.signer.Signer(cfg["tenancy"], cfg["user"], cfg["fingerprint"], cfg["key_file"])
    client = AsyncClient(endpoint=url + "/predict", auth={"signer": signer}, retries=2)

    async def one(prompt: str) -> Any:
        return await client.generate(
            prompt=prompt, payload={"model": "odsc-llm", "max_tokens": MAX_TOKENS}
        )

    try:
        return await _gather(prompts, one)
    finally:
        await client.close()


def unavailable_reason(key: str) -> str | None:
    import importlib.util

    needs = {"openai_sem64": "openai", "ads_sem64": "ads"}.get(key)
    if needs and importlib.util.find_spec(needs) is None:
        return f"{needs} is not installed (pip install -e '.[bench]')"
    return None


def contend(args: argparse.Namespace) -> None:
    """Child: run one contender; print one JSON line."""
    prompts = [f"prompt {i}" for i in range(args.prompts)]
    key = args.contender
    runs = {
        "odsc_auto": lambda: _odsc(args.url, args.config, prompts, "auto"),
        "odsc_32": lambda: _odsc(args.url, args.config, prompts, 32),
        "odsc_512": lambda: _odsc(args.url, args.config, prompts, 512),
        "openai_sem64": lambda: _openai(args.url, args.config, prompts),
        "ads_sem64": lambda: _ads(args.url, args.config, prompts),
    }
    started = time.perf_counter()
    try:
        ok, extra = asyncio.run(runs[key]())
    except Exception as exc:  # a contender that cannot run at all is reported, not fatal
        ok, extra = 0, {"first_error": f"{type(exc).__name__}: {exc}"[:300]}
    wall = time.perf_counter() - started
    print(json.dumps({"ok": ok, "wall_s": wall, "peak_rss_mb": _peak_rss_mb(), **extra}))


# --------------------------------------------------------------------------- the harness


def child_env() -> dict[str, str]:
    """The environment of the benchmark's child processes (this checkout importable)."""
    return {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}


class EmulatorProcess:
    """``with EmulatorProcess("--rate-limit", "150", ...) as server``: the throttling
    emulator (``--serve``) in a child process; ``server.url``, ``server.config``,
    ``server.stats()``. Asked to quit on a clean exit, killed on any other."""

    def __init__(self, *options: str) -> None:
        command = [sys.executable, "-m", "benchmarks.batch", "--serve", *options]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
            env=child_env(),
        )  # fmt: skip
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin, self._stdout = self._process.stdin, self._process.stdout
        self.url = self.config = ""

    def __enter__(self) -> EmulatorProcess:
        try:
            where = json.loads(self._stdout.readline())
        except BaseException:
            self._process.kill()
            raise
        self.url, self.config = where["url"], where["config"]
        return self

    def _say(self, line: str) -> None:
        self._stdin.write(line + "\n")
        self._stdin.flush()

    def stats(self) -> dict[str, Any]:
        """What the emulator counted (requests, 429s, 503s, those after the warm-up)."""
        self._say("stats")
        return dict(json.loads(self._stdout.readline()))

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None:
                self._say("quit")
                self._process.wait(timeout=30)
        finally:
            if self._process.poll() is None:
                self._process.kill()


def _run_one(key: str, prompts: int, timeout: float, limits: dict[str, Any]) -> dict[str, Any]:
    options = ["--rate-limit", str(limits["rate_limit"]), "--capacity", str(limits["capacity"]),
               "--queue-size", str(limits["queue_size"])]  # fmt: skip
    with EmulatorProcess(*options) as server:
        try:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.batch", "--contender", key,
                 "--url", server.url, "--config", server.config, "--prompts", str(prompts)],
                capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=child_env(),
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


def figure(
    prompts: int = 3000,
    timeout: float = 300.0,
    keys: list[str] | None = None,
    rate_limit: float = RATE_LIMIT,
    capacity: int = CAPACITY,
    queue_size: int = QUEUE_SIZE,
) -> dict[str, Any]:
    """Run every contender; the figure's data (see :func:`table_lines`)."""
    limits = {"rate_limit": rate_limit, "capacity": capacity, "queue_size": queue_size}
    rows: dict[str, Any] = {}
    for key in keys or list(CONTENDERS):
        reason = unavailable_reason(key)
        if reason is not None:
            rows[key] = {"available": False, "reason": reason}
            continue
        print(f"figure 5: batch, {CONTENDERS[key]} ...", file=sys.stderr, flush=True)
        row = _run_one(key, prompts, timeout, limits)
        server = row["server"]
        wall = row["wall_s"]
        row.update(
            available=True,
            goodput=row["ok"] / wall if wall and wall == wall else 0.0,
            throttled_share=(server["429"] + server["503"]) / max(1, server["requests"]),
            late_throttled_share=server["late_throttled"] / max(1, server["late_requests"]),
        )
        row["goodput_ratio"] = row["goodput"] / rate_limit
        rows[key] = row
    return {
        "title": f"5. Batch at the service's limits: {prompts:,} prompts, rate limit "
        f"{rate_limit:g}/s, capacity {capacity}, queue {queue_size}",
        "prompts": prompts,
        "rows": rows,
        **limits,
    }


#: The peers of the wall-time target: other libraries (the issue's "peer configurations");
#: odsc_llm's own fixed concurrencies are shown beside them in the table.
PEERS = ("openai_sem64", "ads_sem64")


def targets(fig: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(name, goal, measured, met) for the batch targets."""
    rows = fig["rows"]
    auto = rows.get("odsc_auto") or {}
    if not auto.get("available") or not auto.get("ok"):
        return [("batch goodput", ">= 0.95x the limit", "not measured", None)]
    # Met when auto finished every item faster than every peer. A peer that gave up on
    # items did not do the job: if it was faster, the comparison is with the peers that
    # finished every item (and with none of those, it is not judged).
    peers = {k: rows[k] for k in PEERS if rows.get(k, {}).get("available")}
    walls = {k: v["wall_s"] for k, v in peers.items() if v["wall_s"] == v["wall_s"]}
    finished = {k: w for k, w in walls.items() if peers[k].get("ok") == fig["prompts"]}
    complete = auto["ok"] == fig["prompts"]
    fastest = min(finished, key=finished.__getitem__, default=None)
    if fastest is None:
        measured = f"{auto['wall_s']:.1f} s (no peer finished every item)"
    else:
        measured = (
            f"{auto['wall_s']:.1f} s vs {finished[fastest]:.1f} s ({CONTENDERS[fastest]}, "
            "the fastest peer that finished every item)"
        )
    for key, peer in peers.items():
        if key in walls and key not in finished:
            failed = fig["prompts"] - peer["ok"]
            measured += f"; {CONTENDERS[key]} failed {failed:,} items in {walls[key]:.1f} s"
    met: bool | None
    if walls and all(auto["wall_s"] < w for w in walls.values()):
        met = complete
    elif fastest is not None:
        met = complete and auto["wall_s"] < finished[fastest]
    else:
        met = None
    return [
        ("batch goodput (auto)", ">= 0.95x the rate limit", f"{auto['goodput_ratio']:.2f}x",
         auto["goodput_ratio"] >= 0.95),
        ("batch throttled after 5 s (auto)", "< 2% of requests",
         f"{auto['late_throttled_share']:.1%}", auto["late_throttled_share"] < 0.02),
        ("batch wall time (auto)", "faster than every peer configuration", measured, met),
    ]  # fmt: skip


def table_lines(fig: dict[str, Any]) -> list[str]:
    """The figure as Markdown lines."""
    out = [f"### {fig['title']}", ""]
    header = ["contender", "ok", "goodput items/s", "× limit", "429/503 share",
              "after 5 s", "wall s", "peak RSS MB"]  # fmt: skip
    rows = []
    for key, v in fig["rows"].items():
        if not v.get("available"):
            rows.append([CONTENDERS[key], "–", "–", "–", "–", "–", "–", f"skipped: {v['reason']}"])
            continue
        rows.append([
            CONTENDERS[key], f"{v['ok']:,}/{fig['prompts']:,}", f"{v['goodput']:.1f}",
            f"{v['goodput_ratio']:.2f}×", f"{v['throttled_share']:.1%}",
            f"{v['late_throttled_share']:.1%}", f"{v['wall_s']:.1f}", f"{v['peak_rss_mb']:.0f}",
        ])  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out.append("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        out.append(
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
        )
    out.append("")
    for key, v in fig["rows"].items():
        if v.get("available") and v.get("first_error"):
            out.append(f"- first error of {CONTENDERS[key]}: `{v['first_error']}`")
        if v.get("final_concurrency") is not None:
            rate = v.get("final_rate")
            out.append(
                f"- {CONTENDERS[key]}: ended at concurrency {v['final_concurrency']}, pace "
                + ("none" if rate is None else f"{rate:.0f}/s")
                + f", {v['cuts']} cuts"
            )
    out += [
        "",
        "Each contender runs in its own process against a fresh emulator in another "
        "process. The 429/503 share is counted by the emulator over all requests it "
        'received (retries included); "after 5 s" leaves out the first five seconds '
        "(the controller's warm-up). Goodput is successful items per second of wall time.",
        "",
    ]
    return out


def write_section(path: str, lines: list[str], tag: str = "") -> None:
    """Replace (or append) this figure's section in ``RESULTS.md`` (one per ``tag``)."""
    name = f"batch {tag}" if tag else "batch"
    START, END = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = "# Benchmark results\n"
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    command = " ".join(["python -m benchmarks.batch", *sys.argv[1:]])
    title = "## Batch at the service's limits" + (f" ({tag})" if tag else "")
    about = (
        f"Run {stamp} with `{command}` on {os.cpu_count()} cores, load average at the "
        f"end {load} (a shared machine)."
    )
    block = "\n".join([START, title, "", about, "", *lines, END])
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def kept_sections(text: str, drop_untagged: bool) -> list[str]:
    """The ``batch*`` sections of an old RESULTS.md, for ``benchmarks.run`` to keep."""
    import re

    blocks = re.findall(r"(<!-- batch(.*?):start -->.*?<!-- batch\2:end -->)", text, re.S)
    return [b + "\n" for b, tag in blocks if tag or not drop_untagged]


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
    fig = figure(prompts, keys=keys, rate_limit=args.rate_limit, capacity=args.capacity,
                 queue_size=args.queue_size)  # fmt: skip
    if args.merge:
        with open(args.merge) as f:
            earlier = json.load(f)
        fig["rows"] = {**earlier["rows"], **fig["rows"]}
        fig["rows"] = {k: fig["rows"][k] for k in CONTENDERS if k in fig["rows"]}
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
