"""Streams: Server-Sent Events decoded into typed chunks, ``Stream`` / ``AsyncStream``.

- ``_sse``: bytes to events to typed chunks and errors (no I/O); the end of a stream.
- ``_accumulate``: the answer a stream makes, merged chunk by chunk as they arrive.
- ``_io``: the read loops (deadlines, the drain after ``[DONE]``), sync and async.
- ``_release``: giving a connection back, never from a finalizer's thread under a lock.
- ``_streams``: the public ``Stream`` and ``AsyncStream``.
- ``_responses``: the Responses API's ``ResponseStream`` and ``AsyncResponseStream``
  (the same streams; another end: ``response.completed``, no ``[DONE]``), loaded on
  first use (``stream_class``).
"""

from typing import Any

from ..types.chat import ChatCompletionChunk
from ..types.completion import Completion
from ._accumulate import chunk_reasoning, chunk_text
from ._release import close_soon
from ._streams import AsyncStream, Stream

__all__ = [
    "AsyncStream",
    "Stream",
    "chunk_reasoning",
    "chunk_text",
    "close_soon",
    "stream_class",
]


def stream_class(base: type[Any], chunk_type: type[Any]) -> type[Any]:
    """The stream class for ``chunk_type``: ``base`` (``Stream`` or ``AsyncStream``) for
    completion and chat chunks, else (Responses API events) its Responses twin."""
    if issubclass(chunk_type, (Completion, ChatCompletionChunk)):
        return base
    # Deferred: the Responses models take longer to build than every other type.
    from ._responses import AsyncResponseStream, ResponseStream

    return AsyncResponseStream if issubclass(base, AsyncStream) else ResponseStream
