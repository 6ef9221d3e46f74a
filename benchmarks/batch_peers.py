"""Figure 5's contenders (see :mod:`benchmarks.batch`): each runs in a child process
(``python -m benchmarks.batch --contender KEY``) and prints one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

#: Completion tokens per answer (with the emulator's ``TOKEN_DELAY`` of 0.05 s a token:
#: 0.3 s of generation, so ``capacity / 0.3`` (213/s) is above the rate limit and the
#: rate limit is what binds).
MAX_TOKENS = 6
SEMAPHORE = 64

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
