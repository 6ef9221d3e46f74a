"""Profile one contender on one figure with pyinstrument (``pip install pyinstrument``).

``python -m benchmarks.profile odsc_llm request`` (or ``stream``) starts the benchmark
server, warms the client up, then profiles ``--count`` calls and prints pyinstrument's
call tree (``--html FILE`` writes the interactive page instead).
"""

from __future__ import annotations

import argparse

from ._common import Identity
from .contenders import BY_KEY
from .server import running_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("contender", choices=sorted(BY_KEY))
    parser.add_argument("figure", choices=["request", "stream"])
    parser.add_argument("--count", type=int, default=None, help="calls (or chunks) to profile")
    parser.add_argument("--interval", type=float, default=0.0001, help="sampling interval, s")
    parser.add_argument("--html", help="write pyinstrument's HTML page here")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
