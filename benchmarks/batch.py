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
#: CPU-bound processes beside each contender in the loaded condition (2 keep a 2-core
#: machine's cores busy: the client then competes for CPU with them and the emulator).
CPU_HOGS = 2

CONTENDERS: dict[str, str] = {
    "odsc_auto": 'odsc_llm batch(concurrency="auto")',
    "odsc_32": "odsc_llm batch(concurrency=32)",
    "odsc_512": "odsc_llm batch(concurrency=512)",
    "openai_sem64": "openai SDK (async_openai_client) + Semaphore(64)",
    "ads_sem64": "oracle-ads AsyncClient + Semaphore(64)",
    "ideal_paced": "ideal: paced at exactly the limit (odsc_llm AsyncClient.create)",
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
                    "cpu_s": time.process_time(),
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


async def _ideal(url: str, config: str, prompts: list[str], rate: float) -> tuple[int, Any]:
    """Knows the limit: request ``i`` starts at ``t0 + i / rate`` (a schedule, so a late
    timer is caught up, never lost), no concurrency cap, the client's default retries."""
    import odsc_llm

    auth = odsc_llm.auth.api_key(config_file=config)
    async with odsc_llm.AsyncClient(url, auth=auth) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def one(index: int, prompt: str) -> Any:
            await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
            return await client.completions.create(prompt=prompt, max_tokens=MAX_TOKENS)

        answers = await asyncio.gather(
            *(one(i, p) for i, p in enumerate(prompts)), return_exceptions=True
        )
    errors = [a for a in answers if isinstance(a, BaseException)]
    first = f"{type(errors[0]).__name__}: {errors[0]}"[:200] if errors else None
    return len(answers) - len(errors), {"first_error": first}


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
        "ideal_paced": lambda: _ideal(args.url, args.config, prompts, args.rate_limit),
    }
    started = time.perf_counter()
    try:
        ok, extra = asyncio.run(runs[key]())
    except Exception as exc:  # a contender that cannot run at all is reported, not fatal
        ok, extra = 0, {"first_error": f"{type(exc).__name__}: {exc}"[:300]}
    wall = time.perf_counter() - started
    print(json.dumps({"ok": ok, "wall_s": wall, "peak_rss_mb": _peak_rss_mb(),
                      "cpu_s": time.process_time(), **extra}))  # fmt: skip


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


#: A CPU-bound process that stops by itself after ``argv[1]`` seconds.
_HOG = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    pass
"""


class CpuLoad:
    """``with CpuLoad(2, max_seconds=330)``: that many CPU-bound processes while the block
    runs. Killed (by their own PIDs) when it ends, however it ends (Ctrl-C, an error);
    each also exits by itself after ``max_seconds``, so even a ``kill -9`` of the
    benchmark leaves nothing spinning for long."""

    def __init__(self, count: int, max_seconds: float) -> None:
        self.count = count
        self.max_seconds = max_seconds
        self._processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> CpuLoad:
        try:
            for _ in range(self.count):
                self._processes.append(subprocess.Popen(
                    [sys.executable, "-c", _HOG, str(self.max_seconds)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                ))  # fmt: skip
        except BaseException:
            self.__exit__(None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
        for process in self._processes:
            process.wait()
        self._processes.clear()


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


#: The peers of the wall-time target: the ideal paced client and the other libraries
#: (the issue's "peer configurations"); odsc_llm's own fixed concurrencies are shown
#: beside them in the table.
PEERS = ("ideal_paced", "openai_sem64", "ads_sem64")


def _conditions(fig: dict[str, Any]) -> list[dict[str, Any]]:
    """The figure's conditions (a figure from before the loaded run has only ``rows``)."""
    return list(fig.get("conditions") or [{"hogs": 0, "name": "quiet", "rows": fig["rows"]}])


def targets(fig: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(name, goal, measured, met) for the batch targets, per load condition."""
    out: list[tuple[str, str, str, bool | None]] = []
    for condition in _conditions(fig):
        suffix = "" if condition["hogs"] == 0 else f", {condition['name']}"
        out += _condition_targets(fig["prompts"], condition["rows"], suffix)
    return out


def _condition_targets(
    prompts: int, rows: dict[str, Any], suffix: str
) -> list[tuple[str, str, str, bool | None]]:
    auto = rows.get("odsc_auto") or {}
    if not auto.get("available") or not auto.get("ok"):
        return [(f"batch goodput (auto{suffix})", ">= 0.95x the limit", "not measured", None)]
    # Met when auto finished every item faster than every peer. A peer that gave up on
    # items did not do the job: if it was faster, the comparison is with the peers that
    # finished every item (and with none of those, it is not judged).
    peers = {k: rows[k] for k in PEERS if rows.get(k, {}).get("available")}
    walls = {k: v["wall_s"] for k, v in peers.items() if v["wall_s"] == v["wall_s"]}
    finished = {k: w for k, w in walls.items() if peers[k].get("ok") == prompts}
    complete = auto["ok"] == prompts
    fastest = min(finished, key=finished.__getitem__, default=None)
    if fastest is None:
        measured = f"{auto['wall_s']:.1f} s (no peer finished every item)"
    else:
        measured = (
            f"{auto['wall_s']:.1f} s vs {finished[fastest]:.1f} s ({CONTENDERS[fastest]}, "
            "the fastest peer that finished every item)"
        )
    if not complete:
        measured += f"; auto failed {prompts - auto['ok']:,} items"
    for key, peer in peers.items():
        if key in walls and key not in finished:
            failed = prompts - peer["ok"]
            measured += f"; {CONTENDERS[key]} failed {failed:,} items in {walls[key]:.1f} s"
    met: bool | None
    if walls and all(auto["wall_s"] < w for w in walls.values()):
        met = complete
    elif fastest is not None:
        met = complete and auto["wall_s"] < finished[fastest]
    else:
        met = None
    ratio = auto["goodput_ratio"]
    late = auto["late_throttled_share"]
    return [
        (f"batch goodput (auto{suffix})", ">= 0.95x the rate limit, every item",
         f"{ratio:.2f}x, {auto['ok']:,}/{prompts:,}", ratio >= 0.95 and complete),
        (f"batch throttled after 5 s (auto{suffix})", "< 2% of requests", f"{late:.1%}",
         late < 0.02),
        (f"batch wall time (auto{suffix})", "faster than every peer configuration", measured,
         met),
    ]  # fmt: skip


def table_lines(fig: dict[str, Any]) -> list[str]:
    """The figure as Markdown lines: one table per load condition."""
    out = [f"### {fig['title']}", ""]
    conditions = _conditions(fig)
    header = ["contender", "ok", "goodput items/s", "× limit", "429/503 share",
              "after 5 s", "wall s", "client CPU s", "peak RSS MB"]  # fmt: skip
    for condition in conditions:
        if len(conditions) > 1:
            name = condition["name"]
            out += [f"**{name[:1].upper() + name[1:]}:**", ""]
        out += _table(fig["prompts"], condition["rows"], header)
    out += [
        "Each contender runs in its own process against a fresh emulator in another "
        "process, once per condition, the conditions back to back. The 429/503 share is "
        "counted by the emulator over all requests it received (retries included); "
        '"after 5 s" leaves out the first five seconds (the controller\'s warm-up). '
        "Goodput is successful items per second of wall time; client CPU s is the "
        "contender process's CPU time (imports included): goodput can be no higher than "
        "the CPU share the client gets divided by its CPU per item. The CPU-bound "
        "processes (busy loops) start with the contender and are killed when it ends.",
        "",
    ]
    return out


def _table(prompts: int, fig_rows: dict[str, Any], header: list[str]) -> list[str]:
    out: list[str] = []
    rows = []
    for key, v in fig_rows.items():
        if not v.get("available"):
            skipped = f"skipped: {v['reason']}"
            rows.append([CONTENDERS[key], "–", "–", "–", "–", "–", "–", "–", skipped])
            continue
        rows.append([
            CONTENDERS[key], f"{v['ok']:,}/{prompts:,}", f"{v['goodput']:.1f}",
            f"{v['goodput_ratio']:.2f}×", f"{v['throttled_share']:.1%}",
            f"{v['late_throttled_share']:.1%}", f"{v['wall_s']:.1f}",
            f"{v['cpu_s']:.1f}" if "cpu_s" in v else "–", f"{v['peak_rss_mb']:.0f}",
        ])  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out.append("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        out.append(
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
        )
    out.append("")
    for key, v in fig_rows.items():
        if v.get("available") and v.get("first_error"):
            out.append(f"- first error of {CONTENDERS[key]}: `{v['first_error']}`")
        if v.get("final_concurrency") is not None:
            rate = v.get("final_rate")
            out.append(
                f"- {CONTENDERS[key]}: ended at concurrency {v['final_concurrency']}, pace "
                + ("none" if rate is None else f"{rate:.0f}/s")
                + f", {v['cuts']} cuts"
            )
    out.append("")
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
