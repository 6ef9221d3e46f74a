"""Figure 6: ``odsc-llm proxy`` in front of the benchmark server, against calling it directly.

Both sides read with the same plain reader (``httpx`` streaming, one line at a time, no
JSON parsing), so what differs is only the path: *direct* signs each request with
odsc_llm's auth and sends it to the deployment's stream endpoint; *proxy* sends an
unsigned OpenAI-style request to a ``odsc-llm proxy`` process (its own process, as in
use), which signs and forwards it. Measured side by side, in alternating order:

* time to first token (median of short streams): the proxy's added latency;
* one long stream's throughput (chunks/s): proxy / direct;
* ``fanout_streams`` concurrent streams through the one proxy process: errors and wall.

Run as part of ``python -m benchmarks.run`` (figure 6), or alone:
``python -m benchmarks.proxy --quick``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx

from ._common import OCID, Identity, request_body

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TITLE = "6. odsc-llm proxy vs direct"


@contextlib.contextmanager
def running_proxy(server: str, identity: Identity, checkout: str = ROOT) -> Iterator[str]:
    """``odsc-llm proxy`` (no key, a free port) in front of ``server``, running the code
    of ``checkout`` (this one by default); yields its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCI_", "ODSC_LLM_"))}
    env["OCI_CONFIG_FILE"] = identity.config_path
    env["PYTHONPATH"] = checkout
    proc = subprocess.Popen(
        [sys.executable, "-m", "odsc_llm", "proxy", f"{server}/{OCID}", "--no-api-key",
         "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=checkout, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("export OPENAI_BASE_URL="):
            raise RuntimeError(f"the proxy did not start (said {line!r})")
        yield line.strip().split("=", 1)[1].removesuffix("/v1")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Path:
    """One way to the server: (url, headers, auth) of a stream request."""

    def __init__(self, url: str, headers: dict[str, str], auth: Any) -> None:
        self.url, self.headers, self.auth = url, headers, auth
        self.client = httpx.Client(timeout=120)

    def stream(self, chunks: int) -> Iterator[str]:
        body = request_body(chunks, stream=True)
        with self.client.stream(
            "POST", self.url, json=body, headers=self.headers, auth=self.auth
        ) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    yield line


def _paths(server: str, proxies: dict[str, str], identity: Identity) -> dict[str, _Path]:
    import odsc_llm

    auth = odsc_llm.auth.api_key(config_file=identity.config_path)
    direct_headers = {
        "route": "/v1/completions",
        "accept": "text/event-stream",
        "enable-streaming": "true",
    }
    paths = {"direct": _Path(f"{server}/{OCID}/predictWithResponseStream", direct_headers, auth)}
    for key, url in proxies.items():
        paths[key] = _Path(f"{url}/v1/completions", {}, None)
    return paths


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "lo": min(values), "hi": max(values)}


async def _fanout(proxy: str, streams: int, chunks: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams)
    errors: list[str] = []
    async with httpx.AsyncClient(limits=limits, timeout=180) as client:

        async def one() -> None:
            try:
                body = request_body(chunks, stream=True)
                async with client.stream("POST", f"{proxy}/v1/completions", json=body) as r:
                    text = (await r.aread()).decode()
                got = text.count("data: ") - 1
                if r.status_code != 200 or got != chunks or not text.endswith("[DONE]\n\n"):
                    errors.append(f"status {r.status_code}, {got} of {chunks} chunks")
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(streams)))
        wall = time.perf_counter() - started
    return {"wall_s": wall, "errors": len(errors), "first_error": errors[0] if errors else None}


def _first_token_ms(path: _Path, chunks: int) -> float:
    started = time.perf_counter()
    it = path.stream(chunks)
    next(it)
    elapsed = (time.perf_counter() - started) * 1e3
    for _ in it:
        pass
    return elapsed


def figure(
    server: str,
    identity: Identity,
    *,
    rounds: int = 10,
    ttft_streams: int = 600,
    ttft_chunks: int = 8,
    stream_chunks: int = 20_000,
    fanout_streams: int = 1000,
    fanout_chunks: int = 50,
    baseline: str | None = None,
) -> dict[str, Any]:
    """Measure both paths side by side; the figure's dict (see ``table_lines``).

    Short streams alternate path by path, one stream each in turn (the first path of
    each turn rotates), so the machine's drift on a shared box hits every path alike;
    each round's medians give one "added" figure, and the spread across rounds says how
    steady it was. ``baseline``: another checkout's proxy (e.g. ``main``), measured in
    the same turns, for an A/B of a change.
    """
    with contextlib.ExitStack() as stack:
        proxies = {"proxy": stack.enter_context(running_proxy(server, identity))}
        if baseline is not None:
            proxies["baseline"] = stack.enter_context(
                running_proxy(server, identity, os.path.abspath(baseline))
            )
        paths = _paths(server, proxies, identity)
        for path in paths.values():  # warm-up: connections, imports, caches
            for _ in range(20):
                _first_token_ms(path, ttft_chunks)
        order = list(paths)
        ttft: dict[str, list[float]] = {k: [] for k in paths}
        added: dict[str, list[float]] = {k: [] for k in proxies}
        rate: dict[str, list[float]] = {k: [] for k in paths}
        per_round = max(1, ttft_streams // rounds)
        turn = 0
        for _ in range(rounds):
            samples: dict[str, list[float]] = {k: [] for k in paths}
            for _ in range(per_round):
                turn += 1
                start = turn % len(order)
                for key in order[start:] + order[:start]:
                    samples[key].append(_first_token_ms(paths[key], ttft_chunks))
            for key, values in samples.items():
                ttft[key].extend(values)
            for key in proxies:
                added[key].append(
                    statistics.median(samples[key]) - statistics.median(samples["direct"])
                )
            for key in order[turn % len(order) :] + order[: turn % len(order)]:
                started = time.perf_counter()
                count = sum(1 for _ in paths[key].stream(stream_chunks))
                if count != stream_chunks:
                    raise RuntimeError(f"{key}: {count} of {stream_chunks} chunks")
                rate[key].append(count / (time.perf_counter() - started))
        for path in paths.values():
            path.client.close()
        fanout = asyncio.run(_fanout(proxies["proxy"], fanout_streams, fanout_chunks))
    return {
        "title": TITLE,
        "ttft_ms": {k: _summary(v) for k, v in ttft.items()},
        "added_ms": {k: _summary(v) for k, v in added.items()},
        "ttft_p10_ms": {k: statistics.quantiles(v, n=10)[0] for k, v in ttft.items()},
        "rate": {k: _summary(v) for k, v in rate.items()},
        "sizes": {
            "rounds": rounds,
            "ttft_streams": per_round * rounds,
            "ttft_chunks": ttft_chunks,
            "stream_chunks": stream_chunks,
            "fanout_streams": fanout_streams,
            "fanout_chunks": fanout_chunks,
        },
        "fanout": fanout,
    }


def _added_ms(fig: dict[str, Any], key: str = "proxy") -> float:
    """The added time to first token: the median over rounds of (proxy - direct)."""
    return float(fig["added_ms"][key]["median"])


def _rate_ratio(fig: dict[str, Any], key: str = "proxy") -> float:
    return float(fig["rate"][key]["median"] / fig["rate"]["direct"]["median"])


def table_lines(fig: dict[str, Any]) -> list[str]:
    """The figure as Markdown (the report's section)."""
    s = fig["sizes"]
    t, p10, r, fo = fig["ttft_ms"], fig["ttft_p10_ms"], fig["rate"], fig["fanout"]
    labels = {
        "direct": "direct (signed by odsc_llm)",
        "proxy": "through odsc-llm proxy",
        "baseline": "through the baseline checkout's proxy",
    }

    def spread(x: dict[str, float], fmt: str) -> str:
        return f"{x['median']:{fmt}} ({x['lo']:{fmt}}–{x['hi']:{fmt}})"

    def added(key: str) -> str:
        a = fig["added_ms"][key]
        return f"{a['median']:+.2f} ms (rounds {a['lo']:+.2f} to {a['hi']:+.2f})"

    baseline = (
        [
            f"Baseline checkout, in the same turns: added {added('baseline')}; throughput "
            f"{_rate_ratio(fig, 'baseline'):.2f}× direct.",
            "",
        ]
        if "baseline" in fig["added_ms"]
        else []
    )
    return [
        f"### {TITLE}: the same reader, side by side in one run",
        "",
        f"| path | time to first token, ms: median (10th percentile) of {s['ttft_streams']} "
        f"streams of {s['ttft_chunks']} | one stream of {s['stream_chunks']:,} chunks, "
        "chunks/s: median (range) of rounds |",
        "| --- | --- | --- |",
        *(
            f"| {labels[key]} | {t[key]['median']:.2f} ({p10[key]:.2f}) | "
            f"{spread(r[key], ',.0f')} |"
            for key in t
        ),
        "",
        f"Added time to first token: {added('proxy')} at the median, over "
        f"{s['rounds']} rounds of streams alternating path by path; stream throughput "
        f"{_rate_ratio(fig):.2f}× direct. {s['fanout_streams']:,} concurrent streams of "
        f"{s['fanout_chunks']} chunks through one proxy process: {fo['errors']} errors, "
        f"{fo['wall_s']:.1f} s.",
        "",
        *baseline,
    ]


def targets(fig: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(name, goal, measured, met) rows for the report's Targets table."""
    added, ratio, errors = _added_ms(fig), _rate_ratio(fig), fig["fanout"]["errors"]
    streams = fig["sizes"]["fanout_streams"]
    return [
        ("proxy: added time to first token", "≤ 1 ms at the median", f"{added:+.2f} ms",
         added <= 1.0),
        ("proxy: stream throughput", "≥ 0.8× direct", f"{ratio:.2f}× direct", ratio >= 0.8),
        (f"proxy: {streams:,} concurrent streams", "zero errors", f"{errors} errors",
         errors == 0),
    ]  # fmt: skip


START, END = "<!-- proxy:start -->", "<!-- proxy:end -->"


def write_section(path: str, fig: dict[str, Any], argv: list[str]) -> None:
    """Replace (or append) figure 6's own section of ``RESULTS.md`` (``--write``), with
    the command, the machine's load and the targets."""
    text = "# Benchmark results\n"
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    command = " ".join(["python -m benchmarks.proxy", *argv])
    lines = table_lines(fig)[2:]  # the table and its summary, under this section's title
    rows = [
        f"- {name}: {goal}: {got} — {'met' if met else 'NOT met'}"
        for name, goal, got, met in targets(fig)
    ]
    block = "\n".join([
        START, f"## {TITLE}", "",
        f"Run {stamp} with `{command}` on {os.cpu_count()} cores, load average at the end "
        f"{load} (a shared machine: the added time grows with the load, see the guide).",
        "", *lines, "Targets:", "", *rows, "", END,
    ])  # fmt: skip
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from .server import running_server

    parser = argparse.ArgumentParser(prog="python -m benchmarks.proxy", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument(
        "--write", action="store_true", help="record the figure in RESULTS.md (its own section)"
    )
    parser.add_argument(
        "--baseline",
        metavar="CHECKOUT",
        help="also measure the proxy of another checkout (e.g. a worktree of main), in the "
        "same turns: an A/B of a change",
    )
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # --quick still times 80 short streams: a handful (6, once) made a noisy median.
    sizes: dict[str, int] = (
        {"rounds": 4, "ttft_streams": 80, "ttft_chunks": 8, "stream_chunks": 2_000,
         "fanout_streams": 20, "fanout_chunks": 5}
        if args.quick else {}
    )  # fmt: skip
    identity = Identity.create()
    try:
        with running_server() as server:
            fig = figure(server, identity, baseline=args.baseline, **sizes)
    finally:
        identity.cleanup()
    print("\n".join(table_lines(fig)))
    if args.write:
        write_section(args.out, fig, sys.argv[1:] if argv is None else argv)
    return fig


if __name__ == "__main__":
    main()
