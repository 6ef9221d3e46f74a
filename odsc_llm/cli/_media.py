"""``transcribe``: speech to text (``client.audio``), printed as it arrives."""

from __future__ import annotations

import argparse
from typing import Any

from . import _connect
from ._base import EXIT_OK, Meter, Output, UsageError, err, number_in
from ._generate import _consume_stream, _dump, _request_id, _texts


def add_transcribe(p: argparse.ArgumentParser) -> None:
    """``odsc-llm transcribe [DEPLOYMENT] AUDIO``'s options."""
    from .. import _constants as C

    p.description = (
        "Transcribe an audio file (WAV, MP3, FLAC... whatever the model server decodes), "
        "printing the text as it arrives; --translate gives English text instead."
    )
    _connect.add_deployment_positional(p)
    p.add_argument("audio", metavar="AUDIO", help="the audio file")
    p.add_argument("--translate", action="store_true", help="translate the speech to English")
    p.add_argument("--language", metavar="CODE", help="the audio's language (ISO-639-1: en, de)")
    p.add_argument("--prompt", metavar="TEXT", help="text to guide the model's style or words")
    p.add_argument(
        "--temperature", type=number_in(0, 1), metavar="T", help="sampling temperature (0..1)"
    )
    p.add_argument("--model", help=f"model name (default: {C.DEFAULT_MODEL})")
    _connect.add_routing_option(p)
    p.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="wait for the whole text instead of streaming it",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the answer's JSON (verbose_json: segments and timings; not streamed)",
    )
    p.set_defaults(handler=_cmd_transcribe)


def _cmd_transcribe(args: argparse.Namespace, out: Output) -> int:
    from .._multipart import read_file

    deployment_arg, texts = _texts(args, [args.audio], "AUDIO")
    if len(texts) != 1:
        raise UsageError("one AUDIO file only")
    try:  # read before connecting: a missing file is a usage error, not an API one
        name, data = read_file(texts[0], "AUDIO")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not data:
        raise UsageError(f"AUDIO {texts[0]!r} is empty")
    kwargs: dict[str, Any] = {"file": (name, data)}
    for option in ("model", "language", "prompt", "temperature"):
        value = getattr(args, option)
        if value is not None:
            kwargs[option] = value
    streamed = args.stream and not args.json
    meter = Meter(streamed=streamed)
    client = _connect.make_client(args, _connect.deployment_of(args, deployment_arg))
    with client:
        audio = client.audio.translations if args.translate else client.audio.transcriptions
        if streamed:
            _consume_stream(audio.create(stream=True, **kwargs), out, as_json=False, meter=meter)
        elif args.json:
            response = audio.create(response_format="verbose_json", **kwargs)
            meter.done()
            meter.request_id = _request_id(response)
            out.line(_dump(response))
        else:
            out.line(audio.create(response_format="text", **kwargs))
            meter.done()
    if args.verbose:
        err(f"request id: {meter.request_id or '-'}; {len(data):,} bytes in {meter.elapsed:.3f} s")
    return EXIT_OK
