"""``HTTPX2Auth``: any :class:`httpx.Auth` of odsc_llm as the ``auth=`` of ``httpx2``.

``httpx2`` (the maintained fork of httpx that openai >= 2 sends through) has the same
auth-flow protocol as httpx, but its own classes: it accepts only an ``httpx2.Auth``.
Rather than a second signing path, the flow here hands the wrapped auth an
:class:`httpx.Request` *view* of the httpx2 request (method, URL, headers, the body
read), runs that auth's own flow on it (:class:`~odsc_llm.auth.OCIAuth`: when and where
to sign, the 401 refresh; or the OpenAI adapter's ``DeploymentAuth``: routing, then
signing), and copies the method, URL and headers it ends with back onto the httpx2
request before it is sent. Each response goes back into the flow as an httpx view too.

This module imports ``httpx2``: it is loaded only when an httpx2 client is asked for.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import httpx
import httpx2

__all__ = ["HTTPX2Auth"]


def _view(request: httpx2.Request) -> httpx.Request:
    """The httpx request the wrapped auth sees (its body already read)."""
    return httpx.Request(
        request.method,
        str(request.url),
        headers=list(request.headers.raw),
        content=request.content,
    )


def _apply(view: httpx.Request, request: httpx2.Request) -> None:
    """What the wrapped auth made of the view (routing, signature) onto ``request``."""
    request.method = view.method
    request.url = httpx2.URL(str(view.url))
    request.headers = httpx2.Headers(list(view.headers.raw))


def _response_view(
    response: httpx2.Response, view: httpx.Request, with_body: bool
) -> httpx.Response:
    # OCIAuth reads only the status (401); the body only for an auth that asks for it.
    content = response.content if with_body else b""
    return httpx.Response(
        response.status_code,
        headers=list(response.headers.raw),
        content=content,
        request=view,
    )


class HTTPX2Auth(httpx2.Auth):
    """Signs ``httpx2`` requests with an odsc_llm :class:`httpx.Auth` (one signing path).

    Build it with :func:`odsc_llm.auth.for_httpx2`.
    """

    requires_request_body = True

    def __init__(self, auth: httpx.Auth) -> None:
        #: The wrapped httpx auth, which decides everything about the request.
        self.auth = auth
        self.requires_response_body = auth.requires_response_body

    @property
    def signer(self) -> object:
        """The underlying oci signer of the wrapped auth, if any."""
        return getattr(self.auth, "signer", None)

    @property
    def region(self) -> str | None:
        """The region of the wrapped auth's credentials, if it knows it."""
        region = getattr(self.auth, "region", None)
        return region if isinstance(region, str) else None

    def __repr__(self) -> str:
        return f"HTTPX2Auth({self.auth!r})"

    def sync_auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.read()
        view = _view(request)
        flow = self.auth.sync_auth_flow(view)
        try:
            outgoing = next(flow)
            while True:
                _apply(outgoing, request)
                response = yield request
                if self.requires_response_body:
                    response.read()
                answer = _response_view(response, outgoing, self.requires_response_body)
                try:
                    outgoing = flow.send(answer)
                except StopIteration:
                    return
        finally:
            flow.close()

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        await request.aread()
        view = _view(request)
        flow = self.auth.async_auth_flow(view)
        try:
            outgoing = await flow.__anext__()
            while True:
                _apply(outgoing, request)
                response = yield request
                if self.requires_response_body:
                    await response.aread()
                answer = _response_view(response, outgoing, self.requires_response_body)
                try:
                    outgoing = await flow.asend(answer)
                except StopAsyncIteration:
                    return
        finally:
            await flow.aclose()
