"""Figure 5's report (see :mod:`benchmarks.batch`): its targets, its Markdown tables,
and its sections of ``RESULTS.md``."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from .batch_peers import CONTENDERS

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
            said = " ".join(str(v["first_error"]).split())  # one line in the report
            out.append(f"- first error of {CONTENDERS[key]}: `{said}`")
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
