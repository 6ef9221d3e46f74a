"""Streams: Server-Sent Events decoded into typed chunks, ``Stream`` / ``AsyncStream``.

- ``_sse``: bytes to events to typed chunks and errors (no I/O); the end of a stream.
- ``_accumulate``: the answer a stream makes, merged chunk by chunk as they arrive.
- ``_io``: the read loops (deadlines, the drain after ``[DONE]``), sync and async.
- ``_release``: giving a connection back, never from a finalizer's thread under a lock.
- ``_streams``: the public ``Stream`` and ``AsyncStream``.
- ``_responses``: the Responses API's ``ResponseStream`` and ``AsyncResponseStream``
  (the same streams; another end: ``response.completed``, no ``[DONE]``).
"""

from ._accumulate import chunk_reasoning, chunk_text
from ._release import close_soon
from ._responses import AsyncResponseStream, ResponseStream, stream_class
from ._streams import AsyncStream, Stream

__all__ = [
    "AsyncResponseStream",
    "AsyncStream",
    "ResponseStream",
    "Stream",
    "chunk_reasoning",
    "chunk_text",
    "close_soon",
    "stream_class",
]
