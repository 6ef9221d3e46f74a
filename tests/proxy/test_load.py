"""1,000 concurrent streams through one ``odsc-llm proxy`` process, on loopback."""

from __future__ import annotations

import asyncio
import resource

import httpx

from odsc_llm.testing import LocalDeployment

from ..support.proxy import ProxyProcess, env_for

STREAMS = 1000


async def _stream_all(base_url: str) -> list[str]:
    limits = httpx.Limits(max_connections=STREAMS + 10, max_keepalive_connections=STREAMS)
    timeout = httpx.Timeout(120.0, connect=60.0)  # bounds of a shared, slow machine
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:

        async def one(i: int) -> str:
            body = {
                "model": "m",
                "stream": True,
                "messages": [{"role": "user", "content": f"stream {i}"}],
            }
            async with client.stream("POST", f"{base_url}/v1/chat/completions", json=body) as r:
                text = (await r.aread()).decode()
            ok = r.status_code == 200 and text.endswith("data: [DONE]\n\n")
            ok = ok and f' {i}"' in text and '"error"' not in text
            return "" if ok else f"{i}: {r.status_code} {text[-200:]!r}"

        return await asyncio.gather(*(one(i) for i in range(STREAMS)))


def test_a_thousand_concurrent_streams() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= 4 * STREAMS, f"this test needs ulimit -n >= {4 * STREAMS} (it is {soft})"
    # Each stream stays open a while (a token every 50 ms), so they overlap.
    with LocalDeployment(token_delay=0.05, request_log_size=0) as local:
        config = local.write_oci_config()
        with ProxyProcess(local.url, "--no-api-key", env=env_for(str(config))) as proxy:
            proxy.wait_ready(count=2)
            failures = [f for f in asyncio.run(_stream_all(proxy.base_url)) if f]
            status, _, err = proxy.stop()
        assert failures == [], failures[:3]
        assert local.peak_streams >= 100  # they really were concurrent upstream
        assert local.active_streams == 0
    assert status == 0
    assert err.count("status=200") == STREAMS
