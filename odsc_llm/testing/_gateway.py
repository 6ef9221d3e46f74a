"""Gateway mode: forward a verified request to an upstream OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from ._aqua import forward_headers
from ._faults import oci_error_body
from ._request import Request

if TYPE_CHECKING:
    import httpx

__all__ = ["Gateway"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
    "date",
    "server",
}
_log = logging.getLogger("odsc_llm.testing")


class Gateway:
    """Forwards to ``upstream`` with one pooled ``httpx.AsyncClient`` (made on first use)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(600.0, connect=10.0),
                limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
                follow_redirects=False,
            )
        return self._client

    async def forward(self, req: Request, route: str, *, buffer: bool) -> None:
        """Forward, and stop at once (closing the upstream request) if the client leaves.

        Without the watcher a client that goes away would be noticed only when the
        upstream sends its next bytes, which can be seconds away (a long prefill).
        ``buffer``: collect the whole answer and send it with a ``content-length``.
        """
        forward = asyncio.ensure_future(self._forward_once(req, route, buffer))
        watcher = asyncio.ensure_future(req.until_disconnect())
        try:
            await asyncio.wait({forward, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not forward.done():
                forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward

    async def _forward_once(self, req: Request, route: str, buffer: bool) -> None:
        import httpx

        url = self.upstream.rstrip("/") + "/" + route.lstrip("/")
        headers = forward_headers(req.headers)  # the end-to-end ones, as a real gateway
        content = req.body or None  # a GET (/v1/models) goes on without a body
        client = self.client()
        request = client.build_request(req.method, url, content=content, headers=headers)
        try:
            try:
                response = await client.send(request, stream=True)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                # A pooled keep-alive connection the upstream had already reset (llama.cpp
                # does after a failed stream): send once more on a fresh connection, as a
                # real gateway would, before any byte of an answer was seen.
                request = client.build_request(req.method, url, content=content, headers=headers)
                response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            _log.warning("upstream %s failed: %s", url, exc)
            message = f"The model server did not answer ({type(exc).__name__})."
            await req.send_json(503, oci_error_body(503, message=message))
            return
        try:
            await self._relay(req, response, url, buffer)
        finally:
            await response.aclose()

    @staticmethod
    async def _relay(req: Request, response: httpx.Response, url: str, buffer: bool) -> None:
        import httpx

        out_headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers.multi_items()
            if name.lower() not in _HOP_BY_HOP and name.lower() != "opc-request-id"
        ]
        out_headers.append((b"opc-request-id", req.request_id.encode("latin-1")))
        if buffer:
            content = await response.aread()
            out_headers = [(n, v) for n, v in out_headers if n.lower() != b"content-length"]
            out_headers.append((b"content-length", str(len(content)).encode()))
            await req.start(response.status_code, out_headers)
            await req.body_part(content, more=False)
            return
        await req.start(response.status_code, out_headers)
        fault = req.fault
        reset_after = 1 if fault is not None and fault.reset_mid_stream else None
        sent = 0
        try:
            async for chunk in response.aiter_raw():
                if req.closed():
                    return
                if reset_after is not None and sent >= reset_after:
                    await req.abort()
                    return
                await req.body_part(chunk, more=True)
                sent += 1
        except httpx.HTTPError as exc:
            _log.warning("upstream %s broke mid-answer: %s", url, exc)
            await req.abort()
            return
        if reset_after is not None:
            await req.abort()
            return
        await req.body_part(b"", more=False)
