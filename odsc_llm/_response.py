"""``APIResponse``: the raw HTTP answer of a call, for ``with_raw_response``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import httpx

__all__ = ["APIResponse"]

T = TypeVar("T")


class APIResponse(Generic[T]):
    """Status, headers and the undecoded answer; :meth:`parse` gives the typed result.

    For a stream, ``parse()`` returns the :class:`~odsc_llm.Stream` (reading it is up to
    you); otherwise the body has been read and ``parse()`` decodes it.
    """

    def __init__(self, http_response: httpx.Response, parse: Callable[[], T]) -> None:
        self.http_response = http_response
        self._parse = parse
        self._parsed: T | None = None
        self._is_parsed = False

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The ``opc-request-id`` response header."""
        request_id: str | None = self.http_response.headers.get("opc-request-id")
        return request_id

    @property
    def elapsed(self) -> float:
        """Seconds from sending the request to reading the headers (or the whole body)."""
        return self.http_response.elapsed.total_seconds()

    def parse(self) -> T:
        """The typed result (decoded once, then cached)."""
        if not self._is_parsed:
            self._parsed = self._parse()
            self._is_parsed = True
        return self._parsed  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<APIResponse [{self.status_code}] request_id={self.request_id!r}>"
