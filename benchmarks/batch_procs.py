"""Figure 5's processes (see :mod:`benchmarks.batch`): the throttling emulator in a
child process (``--serve``) and the CPU-bound processes of the loaded condition."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

#: Throttled share is judged after this warm-up (seconds from the first request).
WARMUP_S = 5.0


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
