"""Bytes to Server-Sent Events, without I/O: the byte and line layer of the streams.

The streams read the body as bytes (not through ``EventSource.iter_sse()``) so that they
see every read, comments and keep-alive lines included, and can keep their deadlines
between reads. The parsing itself is httpx-sse's (``SSELineDecoder`` splits on CR, LF
and CRLF only; ``SSEDecoder`` applies the WHATWG field rules); we add what the spec asks
of the byte layer: UTF-8 with a leading U+FEFF stripped, and bad bytes replaced, and a
short cut for the one shape vLLM sends (see :class:`SSEFeed`).
"""

from __future__ import annotations

import codecs
from typing import Any

import httpx
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from httpx_sse._models import ServerSentEvent

from .._transport._aiohttp import _Body as _AiohttpBody

__all__ = ["DONE", "SSEFeed", "ServerSentEvent", "rest_is_here"]

#: The data of the event that ends an OpenAI-style stream.
DONE = "[DONE]"


class SSEFeed:
    """Feed it the body's bytes in any split; get the complete events they finish.

    One shape takes a short cut past httpx-sse's decoders: a read that is exactly one
    event of one ``data:`` line (``data: {...}\n\n``, no CR), arriving at an event
    boundary. That is every chunk vLLM sends (one HTTP chunk per event), and the result
    is the event httpx-sse would give (no field but ``data``; an ``id:`` seen once turns
    the short cut off, since httpx-sse repeats the last id on later events). Measured
    (issue 27 point 4): httpx-sse's line splitting and field parsing were a third of
    the client's own work per chunk, and the stream read 0.97x the floor's chunks/s.
    """

    __slots__ = ("_boundary", "_events", "_ids", "_lines", "_plain", "_text")

    def __init__(self) -> None:
        # utf-8-sig strips one leading BOM, even when it is split across reads.
        self._text = codecs.getincrementaldecoder("utf-8-sig")("replace")
        self._lines = SSELineDecoder()
        self._events = SSEDecoder()
        # Whether the next read may be decoded on its own: the BOM is settled and no
        # character was left half-read (the incremental decoder runs in Python: ~0.5 us
        # a read, a tenth of the stream's own work per chunk).
        self._plain = False
        # Whether the text so far ended with a blank line: no partial line is buffered
        # and no field of an unfinished event is pending in httpx-sse's decoders.
        self._boundary = True
        self._ids = False  # an event carried an id (see the class docstring)

    def _decode(self, raw: bytes) -> str:
        """A read through the incremental decoder (the BOM not yet settled, a character
        split across reads, or bad bytes to replace)."""
        text = self._text.decode(raw)
        self._plain = self._text.getstate() == (b"", 0)
        return text

    def feed(self, raw: bytes) -> list[ServerSentEvent]:
        """The events completed by ``raw`` (a blank line ends an event)."""
        got = self.feed_data(raw)
        return [ServerSentEvent(data=got)] if isinstance(got, str) else got

    def feed_data(self, raw: bytes) -> str | list[ServerSentEvent]:
        """As :meth:`feed`; for a read that is one event of one ``data:`` line (the short
        cut), that event's data alone: no event object to make (the streams' hot path)."""
        if self._plain:  # _decode's common case, inline (once per read: chunks/s matter)
            try:
                text = raw.decode()
            except UnicodeDecodeError:  # split or bad bytes: buffered or replaced
                text = self._decode(raw)
        else:
            text = self._decode(raw)
        if not text:
            return []
        if self._boundary and text[-2:] == "\n\n" and text[:5] == "data:":
            value = text[5:-2]
            if "\n" not in value and "\r" not in value and not self._ids:
                return value[1:] if value[:1] == " " else value
        self._boundary = text[-2:] == "\n\n"
        decode = self._events.decode
        events = []
        for line in self._lines.decode(text):
            sse = decode(line)
            if sse is not None:
                events.append(sse)
                if sse.id:
                    self._ids = True
        return events

    def flush(self) -> list[ServerSentEvent]:
        """At the end of the body: the events its last lines complete.

        The spec drops an event the body ends in before its blank line; we keep it only
        when it is ``data: [DONE]`` (the answer was complete; only the last line ending
        is missing), so a torn chunk still ends the stream as incomplete.
        """
        decode = self._events.decode
        events = []
        lines = self._lines.decode(tail) if (tail := self._text.decode(b"", True)) else []
        for line in [*lines, *self._lines.flush()]:
            sse = decode(line)
            if sse is not None:
                events.append(sse)
        last = decode("")
        if last is not None and last.data == DONE:
            events.append(last)
        return events


def rest_is_here(response: httpx.Response) -> bool:
    """Whether reading the rest of the body cannot wait on the server.

    True when a declared length is all received, when the HTTP/1.1 parser already holds
    the end of a chunked body (aiohttp's: it parsed the end), or when the socket has
    bytes ready. The parser is reached
    through httpcore 1.x internals; on any other shape the answer is False (the
    connection is then closed: correct, only without reuse).
    """
    length = response.headers.get("content-length")
    if length is not None and length.isdigit():
        return response.num_bytes_downloaded >= int(length)
    # httpx's bound stream -> its transport stream -> httpcore's pool stream -> the
    # connection's body stream -> the HTTP/1.1 connection, which holds the h11 parser.
    layer: Any = response.stream
    for _ in range(6):
        parser = getattr(layer, "_h11_state", None)
        if parser is not None:
            break
        if isinstance(layer, _AiohttpBody):  # aiohttp parsed the body's end: it is here
            return bool(layer.at_end())
        layer = (
            getattr(layer, "_httpcore_stream", None)
            or getattr(layer, "_stream", None)
            or getattr(layer, "_connection", None)
        )
    else:
        return False
    try:
        buffered, closed = parser.trailing_data
    except (AttributeError, TypeError, ValueError):
        return False
    if closed:
        return False
    if bytes(buffered).endswith(b"0\r\n\r\n"):
        return True
    network = response.extensions.get("network_stream")
    return bool(network is not None and network.get_extra_info("is_readable"))
