"""Profile one contender on one figure with pyinstrument (``pip install pyinstrument``).

``python -m benchmarks.profile odsc_llm request`` (or ``stream``) starts the benchmark
server, warms the client up, then profiles ``--count`` calls and prints pyinstrument's
call tree (``--html FILE`` writes the interactive page instead).

``python -m benchmarks.profile --cpu floor,odsc_llm stream`` profiles nothing: it reads
one stream of ``--count`` chunks per contender in interleaved rounds and prints each
one's client CPU time per chunk (``time.process_time``: this process only, so neither
the server nor the other processes of a shared machine count) and its ratio to the
first contender's. Figure 2a's chunks/s is wall time, which the server and the machine's
load move as much as the client.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from ._common import Identity
from .contenders import BY_KEY
from .server import running_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("contender", help=f"one of {sorted(BY_KEY)}; with --cpu, several: a,b")
    parser.add_argument("figure", choices=["request", "stream"])
    parser.add_argument("--count", type=int, default=None, help="calls (or chunks) to profile")
    parser.add_argument("--interval", type=float, default=0.0001, help="sampling interval, s")
    parser.add_argument("--html", help="write pyinstrument's HTML page here")
    parser.add_argument("--cpu", action="store_true", help="client CPU per call, side by side")
    parser.add_argument("--rounds", type=int, default=5, help="with --cpu")
    args = parser.parse_args(argv)
    keys = args.contender.split(",")
    unknown = set(keys) - set(BY_KEY)
    if unknown or (len(keys) > 1 and not args.cpu):
        parser.error(f"unknown or too many contenders {sorted(unknown)}: {sorted(BY_KEY)}")
    if args.cpu:
        cpu_side_by_side(keys, args.figure, args.count, args.rounds)
        return
    from pyinstrument import Profiler

    identity = Identity.create()
    try:
        with running_server(max_seconds=600) as server:
            client = BY_KEY[args.contender](server, identity)
            for _ in range(50):
                client.complete()  # type: ignore[attr-defined]
            profiler = Profiler(interval=args.interval)
            if args.figure == "request":
                count = args.count or 2000
                with profiler:
                    for _ in range(count):
                        client.complete()  # type: ignore[attr-defined]
            else:
                count = args.count or 50_000
                with profiler:
                    for _ in client.stream(count):  # type: ignore[attr-defined]
                        pass
            client.close()  # type: ignore[attr-defined]
    finally:
        identity.cleanup()
    if args.html:
        with open(args.html, "w") as f:
            f.write(profiler.output_html())
    else:
        print(profiler.output_text(unicode=True, color=False, show_all=False))


def cpu_side_by_side(keys: list[str], figure: str, count: int | None, rounds: int) -> None:
    """Client CPU per chunk (or request) of each contender, in interleaved rounds."""
    count = count or (20_000 if figure == "stream" else 1000)
    cpu: dict[str, list[float]] = {k: [] for k in keys}
    identity = Identity.create()
    try:
        with running_server(max_seconds=600) as server:
            clients: dict[str, Any] = {k: BY_KEY[k](server, identity) for k in keys}
            for client in clients.values():  # warm up: connection, lazy imports
                client.complete()
                for _ in client.stream(100):
                    pass
            for r in range(rounds):
                for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
                    client = clients[key]
                    started = time.process_time()
                    if figure == "stream":
                        got = sum(1 for _ in client.stream(count))
                        if got != count:
                            raise RuntimeError(f"{key}: {got} of {count} chunks")
                    else:
                        for _ in range(count):
                            client.complete()
                    cpu[key].append((time.process_time() - started) / count)
            for client in clients.values():
                client.close()
    finally:
        identity.cleanup()
    unit = "chunk" if figure == "stream" else "request"
    first = statistics.median(cpu[keys[0]])
    print(f"client CPU per {unit}, {count:,} per round, median of {rounds} rounds")
    for key in keys:
        med = statistics.median(cpu[key])
        print(
            f"{key:<16} {med * 1e6:7.2f} us (min {min(cpu[key]) * 1e6:.2f}, max "
            f"{max(cpu[key]) * 1e6:.2f})  rate x{first / med:.3f} of {keys[0]}'s"
        )


if __name__ == "__main__":
    main()
