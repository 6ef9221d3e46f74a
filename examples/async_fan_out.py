"""Fan out many prompts concurrently with AsyncClient, streaming each answer.

Against a real deployment:

    export ODSC_LLM_DEPLOYMENT=https://modeldeployment.<region>.oci.customer-oci.com/<ocid>
    python examples/async_fan_out.py                 # auth: odsc_llm.auth.default()

Against the local emulator (no OCI account needed): add ``--local`` or set
``ODSC_LLM_LOCAL=1``.

OCI allows about 150 requests/s per tenancy: the semaphore bounds the concurrency, and
the client retries 429s by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterator

import httpx

import odsc_llm

PROMPTS = [f"Give me fact number {i} about the ocean." for i in range(40)]
CONCURRENCY = 16


@contextlib.contextmanager
def deployment_and_auth() -> Iterator[tuple[str, httpx.Auth]]:
    """(deployment URL, auth): the local emulator's, or the real ones."""
    if "--local" in sys.argv or os.environ.get("ODSC_LLM_LOCAL") == "1":
        from odsc_llm.testing import LocalDeployment

        with LocalDeployment(token_delay=0.01) as local:
            yield local.url, local.auth
        return
    url = os.environ.get("ODSC_LLM_DEPLOYMENT")
    if not url:
        sys.exit("Set ODSC_LLM_DEPLOYMENT to your deployment's URL, or pass --local.")
    yield url, odsc_llm.auth.default()


async def ask(client: odsc_llm.AsyncClient, gate: asyncio.Semaphore, prompt: str) -> str:
    async with gate:
        stream = await client.completions.create(prompt=prompt, max_tokens=100, stream=True)
        async with stream:
            return "".join([text async for text in stream.text()])


async def fan_out(url: str, auth: httpx.Auth) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    start = time.perf_counter()
    async with odsc_llm.AsyncClient(deployment=url, auth=auth) as client:
        answers = await asyncio.gather(
            *(ask(client, gate, p) for p in PROMPTS), return_exceptions=True
        )
    elapsed = time.perf_counter() - start
    failed = 0
    for prompt, answer in zip(PROMPTS, answers, strict=True):
        if isinstance(answer, BaseException):
            failed += 1
            print(f"{prompt!r} failed: {answer}")
        else:
            print(f"{prompt!r} -> {answer!r}")
    print(f"{len(PROMPTS) - failed}/{len(PROMPTS)} answers in {elapsed:.2f} s")


def main() -> None:
    with deployment_and_auth() as (url, auth):
        asyncio.run(fan_out(url, auth))


if __name__ == "__main__":
    main()
