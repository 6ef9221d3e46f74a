"""The contenders: one class per way of calling a deployment, sync and async.

Every contender sends the same completion request (``_common.request_body``) signed
with the same API key, and hands back each answer's text, so the work is the same:
sign, send, parse, give the user the text. Each one is written the way its own
documentation shows.

A sync contender has ``complete() -> str``, ``stream(n) -> Iterator[str]`` (the text
of each chunk) and ``close()``. An async contender has ``acomplete()``,
``astream_count(n) -> int`` and ``aclose()``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from ._common import OCID, PROMPT, FloorSigner, Identity, dumps, request_body

#: Keyword arguments of an OpenAI-shaped ``completions.create`` (besides stream/size).
_SAMPLING = {"temperature": 0.7, "top_p": 0.8}
_TIMEOUT = 60.0


class Contender:
    """Base: a name, a label for tables, and an availability check."""

    key: ClassVar[str]
    label: ClassVar[str]
    #: Modules whose import this contender needs (checked before use).
    requires: ClassVar[tuple[str, ...]] = ()
    #: The statement timed by the import figure.
    import_stmt: ClassVar[str] = ""
    #: Distributions whose versions RESULTS.md records.
    dists: ClassVar[tuple[str, ...]] = ()

    def __init__(self, server: str, identity: Identity) -> None:
        self.endpoint = f"{server}/{OCID}"
        self.predict_url = f"{self.endpoint}/predict"
        self.stream_url = f"{self.endpoint}/predictWithResponseStream"
        self.identity = identity

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when usable, else why not (e.g. a package that does not install)."""
        for module in cls.requires:
            try:
                importlib.import_module(module)
            except Exception as exc:  # ImportError, or a broken install
                return f"cannot import {module}: {type(exc).__name__}: {exc}"
        return None


# --------------------------------------------------------------------------- floor


class Floor(Contender):
    """httpx + RSA-SHA256 signing by hand + httpx-sse and ``json.loads``: the floor.

    After ``[DONE]`` it reads the (empty) rest of the body, so that the connection goes
    back to the pool instead of being closed and opened again for the next stream.
    """

    key = "floor"
    label = "floor (httpx + hand-signed)"
    requires = ("httpx", "httpx_sse", "cryptography")
    import_stmt = "import httpx, httpx_sse, cryptography.hazmat.primitives.asymmetric.rsa"
    dists = ("httpx", "httpx-sse", "cryptography")

    def __init__(self, server: str, identity: Identity) -> None:
        super().__init__(server, identity)
        import httpx

        self._signer = FloorSigner(identity.pem, identity.key_id)
        self._http = httpx.Client(timeout=_TIMEOUT)

    def complete(self) -> str:
        body = dumps(request_body(16, stream=False))
        headers = self._signer.headers("POST", self.predict_url, body)
        response = self._http.post(self.predict_url, content=body, headers=headers)
        response.raise_for_status()
        return str(response.json()["choices"][0]["text"])

    def stream(self, n: int) -> Iterator[str]:
        from httpx_sse import connect_sse

        body = dumps(request_body(n, stream=True))
        headers = self._signer.headers("POST", self.stream_url, body)
        headers["accept"] = "text/event-stream"
        done = False
        with connect_sse(self._http, "POST", self.stream_url, content=body, headers=headers) as es:
            es.response.raise_for_status()
            for sse in es.iter_sse():
                if sse.data == "[DONE]":
                    done = True
                elif not done:
                    yield json.loads(sse.data)["choices"][0]["text"]
        if not done:
            raise RuntimeError("stream ended without [DONE]")

    def close(self) -> None:
        self._http.close()


class AsyncFloor(Floor):
    """The async floor: httpx.AsyncClient + hand signing + httpx-sse.

    Its pool holds as many connections as the fan-out has streams (httpx's default of
    100 makes 1,000 streams queue for connections, which costs several times the work).
    """

    def __init__(self, server: str, identity: Identity) -> None:
        Contender.__init__(self, server, identity)
        import httpx

        self._signer = FloorSigner(identity.pem, identity.key_id)
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        self._ahttp = httpx.AsyncClient(timeout=_TIMEOUT, limits=limits)

    async def astream_count(self, n: int) -> int:
        from httpx_sse import aconnect_sse

        body = dumps(request_body(n, stream=True))
        headers = self._signer.headers("POST", self.stream_url, body)
        headers["accept"] = "text/event-stream"
        count = 0
        done = False
        async with aconnect_sse(
            self._ahttp, "POST", self.stream_url, content=body, headers=headers
        ) as es:
            es.response.raise_for_status()
            async for sse in es.aiter_sse():
                if sse.data == "[DONE]":
                    done = True
                elif not done:
                    _ = json.loads(sse.data)["choices"][0]["text"]
                    count += 1
        if not done:
            raise RuntimeError("stream ended without [DONE]")
        return count

    async def aclose(self) -> None:
        await self._ahttp.aclose()


# --------------------------------------------------------------------------- odsc_llm


class OdscLLM(Contender):
    """odsc_llm.Client with ``auth.from_signer(oci.signer.Signer(...))``."""

    key = "odsc_llm"
    label = "odsc_llm"
    requires = ("odsc_llm", "odsc_llm._client", "odsc_llm.auth")
    import_stmt = "import odsc_llm; odsc_llm.Client; odsc_llm.auth"
    dists = ("odsc-llm", "pydantic", "tenacity")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = super().unavailable_reason()
        if reason is None:
            import odsc_llm

            for name in ("Client", "AsyncClient"):
                if not hasattr(odsc_llm, name):
                    return f"odsc_llm.{name} does not exist yet"
            if not hasattr(odsc_llm.auth, "from_signer"):
                return "odsc_llm.auth.from_signer does not exist yet"
        return reason

    def _auth(self) -> Any:
        import odsc_llm.auth

        return odsc_llm.auth.from_signer(self.identity.oci_signer())

    def __init__(self, server: str, identity: Identity) -> None:
        super().__init__(server, identity)
        import odsc_llm

        self._client = odsc_llm.Client(
            deployment=self.endpoint, auth=self._auth(), max_retries=2, timeout=_TIMEOUT
        )

    def complete(self) -> str:
        c = self._client.completions.create(
            prompt=PROMPT, max_tokens=16, temperature=0.7, top_p=0.8
        )
        return str(c.choices[0].text)

    def stream(self, n: int) -> Iterator[str]:
        with self._client.completions.create(
            prompt=PROMPT, max_tokens=n, stream=True, temperature=0.7, top_p=0.8
        ) as stream:
            for chunk in stream:
                yield chunk.choices[0].text

    def close(self) -> None:
        self._client.close()


class OdscLLMTraced(OdscLLM):
    """odsc_llm.Client with ``tracing=True``, into opentelemetry-sdk's providers (spans to
    an exporter that drops them, metrics aggregated in memory): the cost of tracing."""

    key = "odsc_llm_traced"
    label = "odsc_llm, tracing on"
    requires = (*OdscLLM.requires, "opentelemetry.sdk.trace")

    def __init__(self, server: str, identity: Identity) -> None:
        Contender.__init__(self, server, identity)
        import odsc_llm

        _install_otel_sdk()
        self._client = odsc_llm.Client(
            deployment=self.endpoint,
            auth=self._auth(),
            max_retries=2,
            timeout=_TIMEOUT,
            tracing=True,
        )


def _install_otel_sdk() -> None:
    """Global SDK providers (once per process): what a traced service pays for, minus I/O."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class _Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_Drop()))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


class AsyncOdscLLM(OdscLLM):
    def __init__(self, server: str, identity: Identity) -> None:
        Contender.__init__(self, server, identity)
        import odsc_llm

        self._aclient = odsc_llm.AsyncClient(
            deployment=self.endpoint, auth=self._auth(), max_retries=2, timeout=_TIMEOUT
        )

    async def astream_count(self, n: int) -> int:
        count = 0
        stream = await self._aclient.completions.create(
            prompt=PROMPT, max_tokens=n, stream=True, temperature=0.7, top_p=0.8
        )
        async with stream:
            async for chunk in stream:
                _ = chunk.choices[0].text
                count += 1
        return count

    async def aclose(self) -> None:
        await self._aclient.aclose()


class AsyncOdscLLMAiohttp(AsyncOdscLLM):
    """odsc_llm.AsyncClient(transport="aiohttp"): aiohttp's pool and C HTTP parser."""

    def __init__(self, server: str, identity: Identity) -> None:
        Contender.__init__(self, server, identity)
        import odsc_llm

        self._aclient = odsc_llm.AsyncClient(
            deployment=self.endpoint,
            auth=self._auth(),
            max_retries=2,
            timeout=_TIMEOUT,
            transport="aiohttp",
        )


class OdscLLMAiohttp(OdscLLM):
    """The aiohttp transport in the sync figures: ``AsyncClient(transport="aiohttp")`` on
    an event loop of its own (aiohttp is async only). A stream's first chunk is handed
    over as soon as it arrives (time to first token), the rest in one run of the loop
    (so the loop's start-up is paid once per stream, not once per chunk)."""

    key = "odsc_llm_aiohttp"
    label = "odsc_llm, aiohttp transport"
    requires = (*OdscLLM.requires, "aiohttp")
    import_stmt = "import odsc_llm; odsc_llm.AsyncClient; odsc_llm.auth; import aiohttp"
    dists = (*OdscLLM.dists, "aiohttp")

    def __init__(self, server: str, identity: Identity) -> None:
        import asyncio

        self._loop = asyncio.new_event_loop()
        self._async = AsyncOdscLLMAiohttp(server, identity)
        Contender.__init__(self, server, identity)

    def complete(self) -> str:
        async def one() -> str:
            c = await self._async._aclient.completions.create(
                prompt=PROMPT, max_tokens=16, temperature=0.7, top_p=0.8
            )
            return str(c.choices[0].text)

        return self._loop.run_until_complete(one())

    def stream(self, n: int) -> Iterator[str]:
        run = self._loop.run_until_complete
        stream = run(
            self._async._aclient.completions.create(
                prompt=PROMPT, max_tokens=n, stream=True, temperature=0.7, top_p=0.8
            )
        )

        async def rest() -> list[str]:
            async with stream:
                return [chunk.choices[0].text async for chunk in stream]

        try:
            yield run(stream.__anext__()).choices[0].text
        except BaseException:
            run(stream.aclose())
            raise
        yield from run(rest())

    def close(self) -> None:
        self._loop.run_until_complete(self._async.aclose())
        self._loop.close()


# --------------------------------------------------------------------------- oracle-ads


class OracleAds(Contender):
    """oracle-ads' ``ads.aqua.client.client.Client`` with ``auth={"signer": Signer}``."""

    key = "ads"
    label = "oracle-ads aqua Client"
    requires = ("ads.aqua.client.client",)
    import_stmt = "from ads.aqua.client.client import Client, AsyncClient"
    dists = ("oracle-ads",)

    def _payload(self, n: int) -> dict[str, Any]:
        return {"model": "odsc-llm", "max_tokens": n, **_SAMPLING}

    def __init__(self, server: str, identity: Identity) -> None:
        super().__init__(server, identity)
        from ads.aqua.client.client import Client

        # Its docs pass the /predict URL and `auth=ads.common.auth.default_signer()`,
        # which is this dict; streaming goes to the same endpoint.
        self._client = Client(
            endpoint=self.predict_url,
            auth={"signer": identity.oci_signer()},
            retries=2,
            timeout=_TIMEOUT,
        )

    def complete(self) -> str:
        answer = self._client.generate(prompt=PROMPT, payload=self._payload(16))
        return str(answer["choices"][0]["text"])

    def stream(self, n: int) -> Iterator[str]:
        for chunk in self._client.generate(prompt=PROMPT, payload=self._payload(n), stream=True):
            yield chunk["choices"][0]["text"]

    def close(self) -> None:
        self._client.close()


class AsyncOracleAds(OracleAds):
    def __init__(self, server: str, identity: Identity) -> None:
        Contender.__init__(self, server, identity)
        from ads.aqua.client.client import AsyncClient

        self._aclient = AsyncClient(
            endpoint=self.predict_url,
            auth={"signer": identity.oci_signer()},
            retries=2,
            timeout=_TIMEOUT,
        )

    async def astream_count(self, n: int) -> int:
        count = 0
        chunks: AsyncIterator[Any] = await self._aclient.generate(
            prompt=PROMPT, payload=self._payload(n), stream=True
        )
        async for chunk in chunks:
            _ = chunk["choices"][0]["text"]
            count += 1
        return count

    async def aclose(self) -> None:
        await self._aclient.close()


# --------------------------------------------------------------------------- seed style


class SeedRequests(Contender):
    """What OCI's docs show: ``requests.post(url, json=..., auth=oci.signer.Signer(...))``.

    As in the docs, each call is a plain ``requests.post`` (no ``Session``, so no
    connection reuse), and a stream is read with ``response.iter_lines()``.
    """

    key = "seed"
    label = "requests + oci.signer (docs)"
    requires = ("requests", "oci.signer")
    import_stmt = "import requests, oci.signer"
    dists = ("requests", "oci")

    def __init__(self, server: str, identity: Identity) -> None:
        super().__init__(server, identity)
        self._signer = identity.oci_signer()

    def complete(self) -> str:
        import requests

        response = requests.post(
            self.predict_url,
            json=request_body(16, stream=False),
            auth=self._signer,
            timeout=_TIMEOUT,
        )
        response.raise_for_status()
        return str(response.json()["choices"][0]["text"])

    def stream(self, n: int) -> Iterator[str]:
        import requests

        headers = {"enable-streaming": "true", "Accept": "text/event-stream"}
        with requests.post(
            self.stream_url,
            json=request_body(n, stream=True),
            auth=self._signer,
            headers=headers,
            stream=True,
            timeout=_TIMEOUT,
        ) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith(b"data: "):
                    continue
                data = line[6:]
                if data == b"[DONE]":
                    return
                yield json.loads(data)["choices"][0]["text"]
        raise RuntimeError("stream ended without [DONE]")

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- openai


class OpenAIOci(Contender):
    """The OpenAI SDK through oci-openai's ``OciOpenAI`` and ``OciUserPrincipalAuth``."""

    key = "openai"
    label = "openai + oci-openai"
    requires = ("openai", "oci_openai")
    import_stmt = "import openai, oci_openai"
    dists = ("openai", "oci-openai")

    def _auth(self) -> Any:
        from oci_openai import OciUserPrincipalAuth

        return OciUserPrincipalAuth(config_file=self.identity.config_path)

    def __init__(self, server: str, identity: Identity) -> None:
        super().__init__(server, identity)
        from oci_openai import OciOpenAI

        auth = self._auth()
        # OpenAI's base_url reaches a deployment as {endpoint}/predict/v1 (and the
        # stream endpoint likewise), so a stream needs its own client.
        self._client = OciOpenAI(auth=auth, base_url=f"{self.predict_url}/v1", max_retries=2)
        self._sclient = OciOpenAI(auth=auth, base_url=f"{self.stream_url}/v1", max_retries=2)

    def complete(self) -> str:
        c = self._client.completions.create(
            model="odsc-llm", prompt=PROMPT, max_tokens=16, temperature=0.7, top_p=0.8
        )
        return str(c.choices[0].text)

    def stream(self, n: int) -> Iterator[str]:
        with self._sclient.completions.create(
            model="odsc-llm", prompt=PROMPT, max_tokens=n, stream=True, temperature=0.7, top_p=0.8
        ) as stream:
            for chunk in stream:
                yield chunk.choices[0].text

    def close(self) -> None:
        self._client.close()
        self._sclient.close()


class AsyncOpenAIOci(OpenAIOci):
    def __init__(self, server: str, identity: Identity) -> None:
        Contender.__init__(self, server, identity)
        from oci_openai import AsyncOciOpenAI

        self._aclient = AsyncOciOpenAI(
            auth=self._auth(), base_url=f"{self.stream_url}/v1", max_retries=2
        )

    async def astream_count(self, n: int) -> int:
        count = 0
        stream = await self._aclient.completions.create(
            model="odsc-llm", prompt=PROMPT, max_tokens=n, stream=True, temperature=0.7, top_p=0.8
        )
        async with stream:
            async for chunk in stream:
                _ = chunk.choices[0].text
                count += 1
        return count

    async def aclose(self) -> None:
        await self._aclient.close()


#: Sync contenders in table order (the floor first).
SYNC: tuple[type[Contender], ...] = (
    Floor,
    OdscLLM,
    OdscLLMTraced,
    OdscLLMAiohttp,
    OracleAds,
    SeedRequests,
    OpenAIOci,
)
#: Async contenders for the fan-out figure (requests has no async client).
ASYNC: dict[str, type[Contender]] = {
    "floor": AsyncFloor,
    "odsc_llm": AsyncOdscLLM,
    "odsc_llm_aiohttp": AsyncOdscLLMAiohttp,
    "ads": AsyncOracleAds,
    "openai": AsyncOpenAIOci,
}
BY_KEY: dict[str, type[Contender]] = {c.key: c for c in SYNC}
