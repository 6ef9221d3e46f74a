"""The connection pool under load (``python -m benchmarks.pool``): client CPU per
request at several numbers in flight, with httpcore 1.0.9's own pool and with odsc_llm's
(``odsc_llm/_pool.py``), side by side in one run.

One ``AsyncClient`` per measurement sends N small completions through
``asyncio.Semaphore(in_flight)`` + ``gather`` to the emulator (another process, so its
CPU is not the client's; ``token_delay`` makes the requests overlap). "httpcore" is the
same client with its pool put back to ``httpcore.AsyncConnectionPool``. The two pools
alternate within each round (which goes first flips every round) so that drift on a
shared machine hits both; each figure is the median over rounds. Nothing is written:
the table is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpcore

from . import batch

POOLS = ("httpcore", "odsc_llm")


async def _measure(url: str, config: str, pool: str, in_flight: int, n: int) -> dict[str, float]:
    import odsc_llm

    auth = odsc_llm.auth.api_key(config_file=config)
    async with odsc_llm.AsyncClient(url, auth=auth, max_retries=0) as client:
        if pool == "httpcore":  # the same client, with httpcore's own assignment pass
            http: Any = client._http
            http._transport._pool.__class__ = httpcore.AsyncConnectionPool
        await client.completions.create(prompt="warm up", max_tokens=2)
        gate = asyncio.Semaphore(in_flight)

        async def one(i: int) -> None:
            async with gate:
                await client.completions.create(prompt=f"prompt {i}", max_tokens=4)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_ms": 1000 * cpu / n, "per_s": n / wall}


def measure(widths: list[int], requests: int, rounds: int) -> dict[str, Any]:
    """{in_flight: {pool: {"cpu_ms": median, "per_s": median}}} over ``rounds``."""
    samples: dict[int, dict[str, list[dict[str, float]]]] = {
        w: {p: [] for p in POOLS} for w in widths
    }
    options = ("--rate-limit", "1e9", "--capacity", "100000", "--token-delay", "0.01")
    with batch.EmulatorProcess(*options) as server:
        for r in range(rounds):
            for width in widths:
                for pool in POOLS if r % 2 == 0 else POOLS[::-1]:
                    run = _measure(server.url, server.config, pool, width, requests)
                    samples[width][pool].append(asyncio.run(run))
    return {
        w: {
            p: {k: statistics.median(s[k] for s in samples[w][p]) for k in ("cpu_ms", "per_s")}
            for p in POOLS
        }
        for w in widths
    }


def table(result: dict[int, Any], requests: int, rounds: int) -> str:
    lines = [
        f"Connection pool under load: {requests:,} completions per measurement, median of "
        f"{rounds} rounds (client CPU ms/request, requests/s)",
        "",
        f"| in flight | httpcore {httpcore.__version__} CPU | odsc_llm CPU | "
        "httpcore ÷ odsc_llm | httpcore req/s | odsc_llm req/s |",
        "|---|---|---|---|---|---|",
    ]
    for width, row in result.items():
        stock, ours = row["httpcore"], row["odsc_llm"]
        lines.append(
            f"| {width} | {stock['cpu_ms']:.2f} | {ours['cpu_ms']:.2f} | "
            f"{stock['cpu_ms'] / ours['cpu_ms']:.2f}× | {stock['per_s']:.0f} | "
            f"{ours['per_s']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[int, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pool", description=__doc__)
    parser.add_argument("--in-flight", default="8,64,256", help="comma-separated (8,64,256)")
    parser.add_argument("--requests", type=int, default=1500, help="per measurement (1500)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = parser.parse_args(argv)
    widths = [int(w) for w in args.in_flight.split(",")]
    requests, rounds = (60, 1) if args.quick else (args.requests, args.rounds)
    if args.quick:
        widths = widths[:2]
    result = measure(widths, requests, rounds)
    print(table(result, requests, rounds))
    return result


if __name__ == "__main__":
    main()
