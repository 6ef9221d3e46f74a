"""``complete``, ``chat`` and ``embed``: the commands that ask the model."""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

from . import _connect
from ._base import EXIT_ERROR, EXIT_OK, Meter, Output, UsageError, err, int_at_least, number_in
from ._connect import split_positionals
from ._messages import report_error

if TYPE_CHECKING:
    from .._client import Client

STDIN_NOTE = "stdin is read as UTF-8: bytes that are not UTF-8 become U+FFFD, not an error"


def _generation_options(parser: argparse.ArgumentParser) -> None:
    from .. import _constants as C

    group = parser.add_argument_group("generation")
    group.add_argument(
        "--max-tokens", type=int_at_least(1), metavar="N", help="most tokens to generate (>= 1)"
    )
    group.add_argument(
        "--temperature", type=number_in(0, 2), metavar="T", help="sampling temperature (0..2)"
    )
    group.add_argument(
        "--top-p",
        type=number_in(0, 1, low_open=True),
        metavar="P",
        help="nucleus sampling probability (0 < P <= 1)",
    )
    group.add_argument(
        "--stop",
        action="append",
        metavar="S",
        help="stop sequence (repeat the option for several)",
    )
    group.add_argument("--model", help=f"model name (default: {C.DEFAULT_MODEL})")
    group.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="wait for the whole answer instead of streaming it",
    )
    group.add_argument(
        "--stream-endpoint",
        choices=C.STREAM_ENDPOINTS,
        default=C.DEFAULT_STREAM_ENDPOINT,
        help="where streamed requests go (default: %(default)s)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print the response JSON (JSON lines of chunks when streaming)",
    )
    _connect.add_routing_option(parser)


def add_complete(p: argparse.ArgumentParser) -> None:
    p.description = (
        f"Complete a prompt, printing tokens as they arrive. PROMPT '-' reads it from "
        f"stdin ({STDIN_NOTE})."
    )
    _connect.add_deployment_positional(p)
    p.add_argument("prompt", metavar="PROMPT", help="the prompt ('-' reads it from stdin)")
    _generation_options(p)
    p.set_defaults(handler=_cmd_complete)


def add_chat(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Send one message (MESSAGE given), or read messages line by line from stdin and "
        "keep the conversation (type /reset to forget it, /exit or Ctrl-D to end); "
        f"{STDIN_NOTE}."
    )
    _connect.add_deployment_positional(p)
    p.add_argument("message", nargs="?", metavar="MESSAGE", help="send this one message and exit")
    p.add_argument("--system", metavar="TEXT", help="system prompt")
    p.add_argument(
        "--image",
        action="append",
        metavar="FILE_OR_URL",
        help="send this image with MESSAGE (PNG, JPEG, GIF or WebP file, or an http(s) URL; "
        "repeat the option for several)",
    )
    _generation_options(p)
    p.set_defaults(handler=_cmd_chat)


def add_embed(p: argparse.ArgumentParser) -> None:
    from .. import _constants as C

    p.description = "Embed each TEXT; prints a JSON array of vectors (one per TEXT, in order)."
    _connect.add_deployment_positional(p)
    p.add_argument("texts", nargs="+", metavar="TEXT", help="text to embed")
    p.add_argument("--model", help=f"model name (default: {C.DEFAULT_MODEL})")
    p.add_argument("--json", action="store_true", help="print the whole response JSON")
    _connect.add_routing_option(p)
    p.set_defaults(handler=_cmd_embed)


# --------------------------------------------------------------------------- helpers


def generation_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The generation options given on the command line (only those)."""
    kwargs: dict[str, Any] = {}
    for name in ("max_tokens", "temperature", "top_p", "stop", "model"):
        value = getattr(args, name, None)
        if value is not None:
            kwargs[name] = value
    if "stop" in kwargs and len(kwargs["stop"]) == 1:
        kwargs["stop"] = kwargs["stop"][0]
    return kwargs


def _split(args: argparse.Namespace, texts: list[str]) -> tuple[str | None, list[str]]:
    """The deployment given and the texts, by the rule of :mod:`._connect`."""
    literal: int = getattr(args, "literal_positionals", 0)
    return split_positionals(args.deployment, texts, flag=args.deployment_flag, literal=literal)


def _texts(args: argparse.Namespace, texts: list[str], what: str) -> tuple[str | None, list[str]]:
    """:func:`_split`, and at least one text (the deployment alone is not a text)."""
    deployment, texts = _split(args, texts)
    if not texts:
        raise UsageError(
            f"the {what} is missing after the deployment (quote the {what}; one that is a "
            "deployment URL or OCID goes after '--')"
        )
    return deployment, texts


def _too_many(what: str) -> UsageError:
    return UsageError(
        f"one {what} only: quote it (with -d or $ODSC_LLM_DEPLOYMENT set, every positional "
        "is text, except a deployment URL or OCID before '--')"
    )


def _stdin() -> TextIO:
    """stdin, decoding UTF-8 with replacement characters (see ``STDIN_NOTE``)."""
    stream = sys.stdin
    if stream is None:
        raise UsageError("standard input is closed")
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(encoding="utf-8", errors="replace")
    return stream


def _request_id(obj: object) -> str | None:
    value = getattr(obj, "request_id", None)
    if isinstance(value, str) and value:
        return value
    response = getattr(obj, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        found = headers.get("opc-request-id")
        return found if isinstance(found, str) else None
    return None


def _dump(model: Any) -> str:
    """Compact JSON of a response model, without the SDK's own attributes."""
    return str(model.model_dump_json(exclude_unset=True))


def _usage_tokens(chunk: Any) -> int | None:
    value = getattr(getattr(chunk, "usage", None), "completion_tokens", None)
    return value if isinstance(value, int) else None


def _text_of(chunk: Any) -> str:
    from .._streaming import chunk_text

    return chunk_text(chunk) or ""


def _chat_message_text(response: Any) -> str:
    choices = getattr(response, "choices", None) or []
    return (choices[0].message.content or "") if choices else ""


def _consume_stream(stream: Any, out: Output, *, as_json: bool, meter: Meter) -> str:
    """Print a stream's text (or its chunks as JSON lines); the whole text is returned.

    The stream is closed however this ends; Ctrl-C closes the line and propagates.
    """
    pieces: list[str] = []
    try:
        with stream:
            meter.request_id = _request_id(stream)
            for chunk in stream:
                text = _text_of(chunk)
                meter.token(text)
                usage = _usage_tokens(chunk)
                if usage is not None:
                    meter.usage_tokens = usage
                if as_json:
                    out.line(_dump(chunk))
                else:
                    out.write(text)
                pieces.append(text)
            meter.done()
    finally:
        out.end_line()
    return "".join(pieces)


def _answer(
    args: argparse.Namespace,
    out: Output,
    create: Callable[..., Any],
    whole_text: Callable[[Any], str],
) -> str:
    """Ask for one answer (streamed or whole), print it, and return its text."""
    kwargs = generation_kwargs(args)
    meter = Meter(streamed=args.stream)
    if args.stream:
        text = _consume_stream(create(stream=True, **kwargs), out, as_json=args.json, meter=meter)
    else:
        response = create(**kwargs)
        meter.done()
        meter.request_id = _request_id(response)
        text = whole_text(response)
        meter.token(text)
        meter.usage_tokens = _usage_tokens(response)
        if args.json:
            out.line(_dump(response))
        else:
            out.write(text)
            out.end_line()
    if args.verbose:
        meter.report()
    return text


# --------------------------------------------------------------------------- commands


def _cmd_complete(args: argparse.Namespace, out: Output) -> int:
    deployment_arg, texts = _texts(args, [args.prompt], "PROMPT")
    if len(texts) != 1:
        raise _too_many("PROMPT")
    prompt = _stdin().read() if texts[0] == "-" else texts[0]
    if not prompt.strip():  # the model would answer something to nothing: say so instead
        where = " read from stdin" if texts[0] == "-" else ""
        raise UsageError(f"the prompt{where} is empty (or only white space): give a text")
    with _connect.make_client(args, _connect.deployment_of(args, deployment_arg)) as client:
        create = functools.partial(client.completions.create, prompt=prompt)
        _answer(args, out, create, _text_of)
    return EXIT_OK


def _chat_turn(
    client: Client, args: argparse.Namespace, messages: list[dict[str, Any]], out: Output
) -> str:
    create = functools.partial(client.chat.completions.create, messages=messages)
    return _answer(args, out, create, _chat_message_text)


def _read_lines(stdin: TextIO, prompt: str | None) -> Iterator[str]:
    while True:
        if prompt:
            sys.stderr.write(prompt)
            sys.stderr.flush()
        line = stdin.readline()
        if not line:
            if prompt:
                sys.stderr.write("\n")
            return
        yield line.rstrip("\r\n")


def _with_images(message: str, images: list[str] | None) -> str | list[Any]:
    """MESSAGE as content: the text alone, or a text part and one part per ``--image``
    (read and checked here, so a bad file is a usage error before any connection)."""
    if not images:
        return message
    from .._content import image, text
    from .._errors import InvalidRequestError

    parts: list[Any] = [text(message)]
    for source in images:
        try:
            parts.append(image(source))
        except InvalidRequestError as exc:
            raise UsageError(f"--image {source}: {exc}") from None
    return parts


def _cmd_chat(args: argparse.Namespace, out: Output) -> int:
    from .._errors import APIError

    given = [args.message] if args.message is not None else []
    deployment_arg, texts = _split(args, given)
    if len(texts) > 1:
        raise _too_many("MESSAGE")
    if texts and not texts[0].strip():
        raise UsageError("the MESSAGE is empty: give a text (or none, to read messages on stdin)")
    if args.image and not texts:
        raise UsageError("--image goes with a MESSAGE: give the text to send with the image")
    content = _with_images(texts[0], args.image) if texts else None
    client = _connect.make_client(args, _connect.deployment_of(args, deployment_arg))
    base: list[dict[str, Any]] = []
    if args.system:
        base.append({"role": "system", "content": args.system})
    with client:
        if content is not None:
            _chat_turn(client, args, [*base, {"role": "user", "content": content}], out)
            return EXIT_OK
        stdin = _stdin()
        interactive = stdin.isatty()
        messages = list(base)
        status = EXIT_OK
        for line in _read_lines(stdin, "> " if interactive else None):
            command = line.strip()
            if not command:
                continue
            if command in ("/exit", "/quit"):
                break
            if command == "/reset":
                messages = list(base)
                continue
            messages.append({"role": "user", "content": line})
            try:
                answer = _chat_turn(client, args, messages, out)
            except APIError as exc:
                messages.pop()
                if not interactive:
                    raise
                report_error(exc)
                status = EXIT_ERROR
                continue
            messages.append({"role": "assistant", "content": answer})
        return status


def _cmd_embed(args: argparse.Namespace, out: Output) -> int:
    deployment_arg, texts = _texts(args, list(args.texts), "TEXT")
    if not texts:
        raise UsageError("the TEXT to embed is missing after the deployment")
    empty = [str(i) for i, text in enumerate(texts, 1) if not text.strip()]
    if empty:
        raise UsageError(f"TEXT {', '.join(empty)} is empty: give a text to embed")
    client = _connect.make_client(args, _connect.deployment_of(args, deployment_arg))
    kwargs: dict[str, Any] = {"model": args.model} if args.model else {}
    meter = Meter(streamed=False)
    with client:
        response = client.embeddings.create(input=texts, **kwargs)
    meter.done()
    meter.request_id = _request_id(response)
    if args.json:
        out.line(_dump(response))
    else:
        data = sorted(response.data, key=lambda item: item.index)
        out.line(json.dumps([list(item.embedding) for item in data]))
    if args.verbose:
        err(f"request id: {meter.request_id or '-'}; {len(texts)} texts in {meter.elapsed:.3f} s")
    return EXIT_OK
