"""The benchmark runs end to end on tiny sizes and reports every contender and figure.

Timings are never asserted: only that the harness works, the output is complete, and
the floor signs exactly as oci's own signer does.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import batch as batch_contenders  # noqa: E402
from benchmarks import pool as pool_benchmark  # noqa: E402
from benchmarks import run  # noqa: E402
from benchmarks._common import FloorSigner, Identity, dumps, request_body  # noqa: E402
from benchmarks.contenders import ASYNC, SYNC  # noqa: E402


def test_floor_signs_like_oci_signer() -> None:
    pytest.importorskip("oci")
    requests = pytest.importorskip("requests")
    identity = Identity.create()
    try:
        url = "http://127.0.0.1:8080/ocid1.datasciencemodeldeployment.oc1.iad.x/predict"
        body = dumps(request_body(16, stream=False))
        date = "Thu, 05 Jan 2014 21:31:40 GMT"
        mine = FloorSigner(identity.pem, identity.key_id).headers("POST", url, body, date=date)
        prepared = requests.Request(
            "POST", url, data=body, headers={"date": date, "content-type": "application/json"}
        ).prepare()
        identity.oci_signer()(prepared)
        for name in ("authorization", "x-content-sha256", "content-length", "host"):
            assert mine[name] == prepared.headers[name], name
    finally:
        identity.cleanup()


def test_quick_run_reports_every_contender_and_figure(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    raw = tmp_path / "results.json"
    run.main(["--quick", "--out", str(out), "--json", str(raw), "--time-limit", "240"])
    stdout = capsys.readouterr().out
    results = json.loads(raw.read_text())

    # Every contender is either measured or listed with the reason it was not.
    assert set(results["contenders"]) == {c.key for c in SYNC}
    for cls in SYNC:
        info = results["contenders"][cls.key]
        assert cls.label in stdout
        assert info["available"] or info["reason"]
    assert results["contenders"]["floor"]["available"], results["contenders"]["floor"]
    measured = {k for k, v in results["contenders"].items() if v["available"]}

    figures = results["figures"]
    assert set(figures) == {
        "per_request", "stream", "ttft", "fanout", "fanout_held", "imports", "batch", "proxy"
    }  # fmt: skip
    assert set(figures["per_request"]["wall"]) == measured
    assert set(figures["per_request"]["cpu"]) == measured
    assert set(figures["stream"]["rate"]) == measured
    assert set(figures["ttft"]["ttft"]) == measured
    assert set(figures["fanout"]["contenders"]) == measured & set(ASYNC)
    for key, fan in figures["fanout"]["contenders"].items():
        assert fan["errors"] == 0, (key, fan["first_error"])
    # The held fan-out: every contender holds every stream at once (issue 27 point 1).
    held = figures["fanout_held"]["contenders"]
    assert set(held) == measured & set(run.HELD_KEYS)
    for key, fan in held.items():
        assert fan["errors"] == 0, (key, fan["first_error"])
        assert fan["connections"] == results["meta"]["sizes"]["fanout_streams"], (key, fan)
        assert fan["growth_ratio"] is not None, key
    assert {"ref", *measured} <= set(figures["imports"]["time"])
    batch = figures["batch"]
    assert set(batch["rows"]) == set(batch_contenders.CONTENDERS)
    for key, row in batch["rows"].items():
        assert row["available"] or row["reason"], key
        if row["available"]:
            assert row["server"]["requests"] >= row["ok"], key
    proxied = figures["proxy"]
    assert set(proxied["ttft_ms"]) == set(proxied["rate"]) == {"direct", "proxy"}
    assert proxied["fanout"]["errors"] == 0, proxied["fanout"]["first_error"]
    auto = batch["rows"]["odsc_auto"]
    assert auto["ok"] == batch["prompts"], auto  # the default batch finishes every item
    for title in ("1. Per-request", "2a. Stream parse", "2b. Time to first token",
                  "3. Async fan-out", "3h. Async fan-out", "4. Import time",
                  "5. Batch at the service's limits", "6. odsc-llm proxy vs direct",
                  "Targets"):  # fmt: skip
        assert title in stdout
    # Every issue-27 target is judged in this one run, side by side (met or NOT met).
    for target in ("stream parse vs floor", "stream parse, tracing on",
                   "aiohttp: stream parse", "aiohttp: fan-out wall",
                   "fan-out RSS growth (held answers)", "fan-out wall time (instant answers)",
                   "batch goodput (auto)", "batch goodput (auto, 2 CPU-bound processes",
                   "proxy: added time to first token"):  # fmt: skip
        line = next(ln for ln in stdout.splitlines() if ln.startswith(f"| {target}"))
        assert line.rstrip(" |").endswith(("met", "NOT met")), line

    md = (out / "RESULTS.md").read_text()
    assert "## Targets" in md and "## History" in md
    # One section per figure, none repeated, even when written over an earlier file.
    for title in ("### 1. Per-request", "### 3. Async fan-out", "### 3h. Async fan-out",
                  "### 5. Batch at the service's limits", "## Targets", "## History"):  # fmt: skip
        assert md.count(title) == 1, title
    assert "5. Batch at the service's limits" in md and "batch goodput (auto)" in md
    for cls in SYNC:
        assert cls.label in md
    # --render: the same report again from the run's JSON, nothing measured.
    again = tmp_path / "again"
    run.main(["--render", str(raw), "--out", str(again)])
    assert (again / "RESULTS.md").read_text().count("### 3h. Async fan-out") == 1
    if importlib.util.find_spec("matplotlib") is not None:
        png = (out / "ratios.png").read_bytes()
        assert png.startswith(b"\x89PNG")
        assert "ratios.png" in md


def test_pool_benchmark_measures_both_pools_at_each_width(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("uvicorn")
    result = pool_benchmark.main(["--quick", "--in-flight", "4,16"])
    assert set(result) == {4, 16}
    for row in result.values():
        assert set(row) == {"httpcore", "odsc_llm"}
        assert all(v["cpu_ms"] > 0 and v["per_s"] > 0 for v in row.values())
    assert "httpcore ÷ odsc_llm" in capsys.readouterr().out


def test_server_answers_on_a_transport_that_is_no_asyncio_transport() -> None:
    # uvloop's TCPTransport (used when uvloop is installed) is no subclass of
    # asyncio.Transport: the server once asserted it was, and dropped every connection.
    from benchmarks.server import _Answers, _HTTPProtocol

    class Transport:  # the duck-typed part the protocol uses
        def __init__(self) -> None:
            self.written = b""

        def get_extra_info(self, name: str, default: object = None) -> object:
            return default

        def write(self, data: bytes) -> None:
            self.written += data

        def close(self) -> None:
            pass

    transport = Transport()
    protocol = _HTTPProtocol(_Answers())
    protocol.connection_made(transport)  # type: ignore[arg-type]
    body = dumps(request_body(2, stream=True))
    protocol.data_received(b"POST /x HTTP/1.1\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
    assert transport.written.startswith(b"HTTP/1.1 200 OK")
    assert b"data: [DONE]" in transport.written


def test_proxy_figure_writes_its_own_section(tmp_path: Path) -> None:
    from benchmarks import proxy as proxy_figure

    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmark results\n\nkept\n")
    for _ in range(2):  # the second run replaces the section, it does not add one
        fig = proxy_figure.main(["--quick", "--write", "--out", str(out)])
    text = out.read_text()
    assert text.startswith("# Benchmark results\n\nkept\n")
    assert text.count(proxy_figure.START) == text.count(proxy_figure.END) == 1
    assert "python -m benchmarks.proxy --quick --write --out" in text
    assert "Added time to first token" in text and "load average at the end" in text
    assert fig["fanout"]["errors"] == 0
    assert fig["sizes"]["ttft_streams"] == 80


def test_fanout_holds_every_answer_until_all_streams_are_open() -> None:
    """``--hold``: the server answers once all N requests arrived, so each contender holds
    N streams (connections) at once; the worker reports that peak and a tracemalloc
    breakdown per stream."""
    import argparse

    from benchmarks import fanout

    args = argparse.Namespace(
        compare="floor,odsc_llm", rounds=1, streams=6, chunks=4, timeout=60.0, hold=True,
        tracemalloc=True, trace_key="filename",
    )  # fmt: skip
    runs = fanout.compare(args)
    assert {r["contender"] for r in runs} == {"floor", "odsc_llm"}
    for run_ in runs:
        assert run_["errors"] == 0, run_["first_error"]
        assert run_["held"] is True
        assert run_["peak_connections"] == 6, run_
        assert run_["tracemalloc"] and all("where" in row for row in run_["tracemalloc"])


def test_results_md_keeps_notes_and_unmeasured_figures_once(tmp_path: Path) -> None:
    """A run rewrites the figures it measured; a figure it did not measure keeps its last
    section, hand-written notes stay after their figure, and nothing appears twice."""
    from benchmarks import report

    def summary(x: float) -> dict[str, float]:
        return {"median": x, "lo": x, "hi": x, "n": 1}

    res = run.Results(
        meta={
            "date": "2026-12-06 11:00 UTC",
            "versions": {"httpx": "0"},
            "nproc": 2,
            "command": "python -m benchmarks.run --figures 2",
            "platform": "p",
            "implementation": "CPython",
            "python": "3",
            "loadavg_start": [1.0, 1.0, 1.0],
            "label": "t",
        },
        contenders={
            "floor": {"label": "floor", "available": True, "reason": None},
            "odsc_llm": {"label": "odsc_llm", "available": True, "reason": None},
        },
        figures={
            "stream": {
                "title": "2a. Stream parse",
                "unit": "chunks/s",
                "rate": {"floor": summary(10.0), "odsc_llm": summary(11.0)},
            }
        },
    )
    path = tmp_path / "RESULTS.md"
    path.write_text(
        "# old\n\n<!-- figure:imports:start -->\n### 4. Import time\nold table\n"
        "<!-- figure:imports:end -->\n\n<!-- figure:stream:start -->\n### 2a. old\n"
        "<!-- figure:stream:end -->\n\n<!-- notes:2a:start -->\nWhy 2a moved.\n"
        "<!-- notes:2a:end -->\n\n<!-- notes:3m:start -->\n### 3m. Memory\n"
        "<!-- notes:3m:end -->\n\n<!-- proxy:start -->\n## 6. proxy\n<!-- proxy:end -->\n"
    )
    report.write_markdown(res, str(path), chart_name="ratios.png")
    first = path.read_text()
    report.write_markdown(res, str(path), chart_name="ratios.png")
    assert path.read_text() == first  # the same run again: nothing added
    for text in ("### 2a. Stream parse", "Why 2a moved.", "### 4. Import time", "### 3m. Memory",
                 "## 6. proxy", "## Targets", "2026-12-06 11:00 UTC | t |"):  # fmt: skip
        assert first.count(text) == 1, text
    assert "### 2a. old" not in first
    assert first.index("### 2a. Stream parse") < first.index("Why 2a moved.")
    assert first.index("Why 2a moved.") < first.index("### 3m. Memory")
    assert first.index("### 3m. Memory") < first.index("### 4. Import time")
    assert (
        first.index("### 4. Import time") < first.index("## 6. proxy") < first.index("## Targets")
    )
    target = next(ln for ln in first.splitlines() if ln.startswith("| stream parse vs floor "))
    assert "1.10× floor" in target and target.rstrip(" |").endswith("| met"), target
