"""Property tests of the SSE layer (hypothesis): splits, line endings, garbage, surrogates.

The body reaches the stream through ``httpx.MockTransport`` in the pieces hypothesis
chose, exactly as TCP reads would deliver them; sync and async twins are both drawn.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from odsc_llm import AsyncStream, Stream
from odsc_llm._errors import StreamError
from odsc_llm._json import replace_lone_surrogates, validate_json
from odsc_llm.types.completion import Completion

from ..support.hostile_sse import completion_chunk

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class _Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def _split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    return [body[a:b] for a, b in itertools.pairwise(points) if b > a]


def read_text(pieces: list[bytes], sync: bool) -> str:
    """The text of the stream whose body arrives in ``pieces`` (raises StreamError)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_Pieces(pieces)
        )

    transport = httpx.MockTransport(handler)
    if sync:
        with httpx.Client(transport=transport) as http:
            request = http.build_request("POST", "http://deployment/")
            with Stream(http.send(request, stream=True), Completion) as stream:
                return "".join(c.choices[0].text for c in stream)

    async def read() -> str:
        async with httpx.AsyncClient(transport=transport) as http:
            request = http.build_request("POST", "http://deployment/")
            response = await http.send(request, stream=True)
            async with AsyncStream(response, Completion) as stream:
                return "".join([c.choices[0].text async for c in stream])

    return asyncio.run(read())


texts = st.lists(st.text(max_size=12), min_size=1, max_size=6)


@st.composite
def valid_streams(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid stream in a random style, and the text it carries."""
    pieces = draw(texts)
    newline = draw(st.sampled_from([b"\n", b"\r", b"\r\n"]))
    comment = st.sampled_from([b": ping", b":", b": keep-alive " + "é".encode()])
    lines: list[bytes] = []

    def add(line: bytes) -> None:
        lines.append(line)
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(comment))  # a comment may sit anywhere, even inside an event

    for i, piece in enumerate(pieces):
        finish = "stop" if i == len(pieces) - 1 else None
        data = completion_chunk(piece, finish)
        if draw(st.booleans()):  # multi-line data: JSON whitespace where the lines join
            data = json.dumps(json.loads(data), indent=1)
        for part in data.split("\n"):
            add(b"data:" + draw(st.sampled_from([b"", b" "])) + part.encode())
        lines.append(b"")
        lines.extend([b""] * draw(st.integers(0, 2)))  # keep-alive blank lines
        if draw(st.integers(0, 5)) == 0:
            lines += [b"retry: 1000", b""]  # an event that is not a chunk
    lines.append(b"data: [DONE]")
    body = newline.join(lines)
    if draw(st.booleans()):
        body += newline * 2  # else [DONE] ends the body without its blank line
    if draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    return body, "".join(pieces)


@PROPERTY
@given(
    stream=valid_streams(), cuts=st.lists(st.integers(0, 10_000), max_size=40), sync=st.booleans()
)
def test_any_split_and_style_gives_the_same_text(
    stream: tuple[bytes, str], cuts: list[int], sync: bool
) -> None:
    body, text = stream
    assert read_text(_split(body, cuts), sync) == text


FRAGMENTS = st.sampled_from(
    [
        b"data: ", b"data:", b"event: error\n", b"id: 1\n", b"retry: x\n", b": c\n", b"\n",
        b"\r", b"\r\n", b"[DONE]", b"{", b"}", b'"', b"\xff", b"\xef\xbb\xbf", b"\x00",
        completion_chunk("a").encode(), completion_chunk("b", "stop").encode(),
        b'{"error": {"message": "x"}}', b"data: [DONE]\n\n",
    ]
)  # fmt: skip
garbage = st.one_of(st.binary(max_size=300), st.lists(FRAGMENTS, max_size=30).map(b"".join))


@PROPERTY
@given(body=garbage, cuts=st.lists(st.integers(0, 1000), max_size=10), sync=st.booleans())
def test_garbage_ends_in_a_stream_error_or_a_complete_answer(
    body: bytes, cuts: list[int], sync: bool
) -> None:
    try:
        read_text(_split(body, cuts), sync)
    except StreamError as exc:
        assert str(exc)  # a message, never an empty one
    else:
        # A clean end needs [DONE] and a finished choice: never a silent truncation.
        assert b"[DONE]" in body and b'"finish_reason":"stop"' in body


# -- lone surrogate escapes ---------------------------------------------------------------


class _Text(BaseModel):
    text: str


code_points = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr), st.just("\\"))


@PROPERTY
@given(chars=st.lists(code_points, max_size=20))
def test_lone_surrogates_become_replacement_characters(chars: list[str]) -> None:
    value = "".join(chars)
    data = json.dumps({"text": value})  # escapes every surrogate as \udxxx
    # What the text means: pairs joined, each lone surrogate U+FFFD.
    expected = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    assert validate_json(_Text, data).text == expected
    assert validate_json(_Text, data.encode()).text == expected


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ('{"text": "a\\ud83d"}', "a\ufffd"),
        ('{"text": "\\ud83d\\ude00"}', "\U0001f600"),
        ('{"text": "\\\\ud83d"}', "\\ud83d"),  # an escaped backslash: literal text
        ('{"text": "\\ude00\\ud83d"}', "\ufffd\ufffd"),
    ],
)
def test_replace_lone_surrogates(data: str, text: str) -> None:
    assert validate_json(_Text, data).text == text
    assert isinstance(replace_lone_surrogates(data.encode()), bytes)


def test_other_invalid_json_still_fails() -> None:
    with pytest.raises(ValidationError):
        validate_json(_Text, '{"text": "\\ud83d"')


# -- issue 27 point 4: SSEFeed's short cut gives httpx-sse's very events ----------------

SSE_LINES = st.sampled_from(
    [
        b"data: " + completion_chunk("a").encode(), b"data:" + completion_chunk("b").encode(),
        b"data: [DONE]", b"data:", b"data: x", b"data:  two spaces", b"event: error",
        b"event: other", b"id: 7", b"id: 8\x00", b"retry: 5", b"retry: x", b": comment",
        b"", b"", b"", b"field without colon", "data: é€😀".encode(),
    ]
)  # fmt: skip


@PROPERTY
@given(
    lines=st.lists(SSE_LINES, max_size=30),
    newline=st.sampled_from([b"\n", b"\r", b"\r\n"]),
    whole_events=st.booleans(),
    cuts=st.lists(st.integers(0, 3000), max_size=12),
)
# The short cut's edges: an id repeated on later events; a read that looks like a whole
# event but ends one whose fields came in the read before.
@example(lines=[b"id: 7", b"", b"data: x"], newline=b"\n", whole_events=True, cuts=[])
@example(lines=[b"event: error", b"data: x"], newline=b"\n", whole_events=False, cuts=[13])
@example(lines=[b"data: a", b"data: b"], newline=b"\n", whole_events=False, cuts=[8])
def test_sse_feed_gives_the_events_httpx_sse_gives(
    lines: list[bytes], newline: bytes, whole_events: bool, cuts: list[int]
) -> None:
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    from odsc_llm._streaming._sse import SSEFeed

    body = newline.join(lines) + newline * 2
    if whole_events:  # each event a read of its own, as vLLM sends them: the short cut
        blank, pieces, start = newline * 2, [], 0
        while (end := body.find(blank, start)) >= 0:
            pieces.append(body[start : end + len(blank)])
            start = end + len(blank)
        pieces.append(body[start:])
        assert b"".join(pieces) == body
    else:
        pieces = _split(body, cuts)
    feed = SSEFeed()
    got = [e for piece in pieces for e in feed.feed(piece)] + feed.flush()

    reference, line_decoder, decoder = [], SSELineDecoder(), SSEDecoder()
    for line in [*line_decoder.decode(body.decode("utf-8-sig", "replace")), *line_decoder.flush()]:
        event = decoder.decode(line)
        if event is not None:
            reference.append(event)

    def fields(events: list[Any]) -> list[tuple[str, str, str, int | None]]:
        return [(e.event, e.data, e.id, e.retry) for e in events]

    assert fields(got) == fields(reference)
