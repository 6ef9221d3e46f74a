"""The emulator's answers beyond text: images in chat, audio, and vLLM's pooling routes.

The rules (deterministic, so tests can assert exact values):

* **Images in chat**: each ``image_url`` part of a message reads as
  ``[<media type> <n> bytes]`` (a base64 ``data:`` URL, decoded: the bytes that
  arrived) or ``[image <url>]`` (an ``http(s)`` URL, never fetched), in the prompt the
  reply echoes: ``"You said: What is this? [image/png 67 bytes]"``.
* **Audio** (``/v1/audio/transcriptions`` and ``/translations``, ``multipart/form-data``
  as vLLM reads it): the ``file`` must be a WAV file (read with the standard library's
  ``wave``; anything else is vLLM's 400). The text is :func:`audio_text`:
  ``"<seconds> seconds of audio at <rate> Hz"`` (``"Translated: "`` before it for a
  translation). ``json`` and ``text`` answer ``{"text", "usage"}`` as vLLM does (no
  ``usage`` for a translation), ``verbose_json`` adds ``duration``, ``language`` and one
  segment; ``stream=true`` sends one ``transcription.chunk`` per word, the last with
  ``finish_reason="stop"``, then ``data: [DONE]``.
* **Score** (``/score``, ``/v1/score``): a pair's score is the share of ``text_1``'s
  words (case-insensitive) found in ``text_2``, as rerank scores.
* **Classify** (``/classify``): two classes ``["negative", "positive"]``; the positive
  probability is the first byte of the text's SHA-256 over 255.
* **Pooling** (``/pooling``): each input's embedding (the emulator's ``embed``).
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hashlib
import io
import math
import time
import uuid
import wave
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._aqua import AnswerError, ModelConfig

__all__ = [
    "AUDIO_ROUTES",
    "ROUTES",
    "answer",
    "audio_text",
    "form_payload",
    "image_part_text",
]

AUDIO_ROUTES = ("/v1/audio/transcriptions", "/v1/audio/translations")
_SCORE_ROUTES = ("/score", "/v1/score")
ROUTES = (*AUDIO_ROUTES, *_SCORE_ROUTES, "/classify", "/pooling")
_CLASSES = ("negative", "positive")
_FORMATS = ("json", "text", "verbose_json")

Event = tuple[dict[str, Any], bool]


# ---- images --------------------------------------------------------------------------


def image_part_text(part: Mapping[str, Any]) -> str:
    """How a chat prompt reads an ``image_url`` part (see the module's rules)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str) or not url:
        raise AnswerError(400, "an image_url part needs image_url.url.", param="messages")
    if not url.startswith("data:"):
        return f"[image {url}]"
    header, _, data = url[5:].partition(",")
    media, _, encoding = header.partition(";")
    if encoding != "base64":
        raise AnswerError(400, "an image data URL must be base64 encoded.", param="messages")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AnswerError(400, "the image data URL is not valid base64.") from None
    return f"[{media or 'image'} {len(raw)} bytes]"


# ---- multipart forms -----------------------------------------------------------------


def form_payload(headers: Mapping[str, str], body: bytes, payload: Any) -> Any:
    """A ``multipart/form-data`` body as a dict (text fields as str, ``stream`` as a
    bool, the file's bytes under ``file``); any other body: ``payload`` unchanged."""
    content_type = headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return payload
    head = f"content-type: {content_type}\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise AnswerError(400, "The multipart/form-data body could not be read.")
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        if part.get_filename() is not None:
            form[name], form[f"{name}_name"] = data, part.get_filename()
        else:
            form[name] = data.decode("utf-8", "replace")
    form["stream"] = str(form.get("stream", "false")).lower() == "true"
    return form


# ---- answers -------------------------------------------------------------------------


def answer(
    route: str,
    payload: dict[str, Any],
    config: ModelConfig,
    tokenize: Callable[[str], list[str]],
    embed: Callable[[str], list[float]],
) -> dict[str, Any] | list[Event]:
    """The JSON answer of ``route``, or a stream's events (``stream`` forms)."""
    route = route.rstrip("/")
    model = config.model_of(payload)
    if route in AUDIO_ROUTES:
        return _speech(route, payload, model)
    if route in _SCORE_ROUTES:
        return _score(payload, model, tokenize)
    inputs = _inputs(payload.get("input"), "input")
    tokens = sum(len(tokenize(t)) for t in inputs)
    if route == "/classify":
        data = [_classify(i, text) for i, text in enumerate(inputs)]
        return _listing("classify", model, data, tokens)
    data = [{"index": i, "object": "pooling", "data": embed(t)} for i, t in enumerate(inputs)]
    return _listing("pool", model, data, tokens)


def _listing(prefix: str, model: str, data: list[dict[str, Any]], tokens: int) -> dict[str, Any]:
    return {
        "id": f"{prefix}-{uuid.uuid4().hex}",
        "object": "list",
        "created": int(time.time()),
        "model": model,
        "data": data,
        "usage": {
            "prompt_tokens": tokens,
            "total_tokens": tokens,
            "completion_tokens": 0,
            "prompt_tokens_details": None,
        },
    }


def _inputs(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise AnswerError(400, f"{name} must be a string or a non-empty list of strings.", param=name)


def _score(payload: dict[str, Any], model: str, tokenize: Any) -> dict[str, Any]:
    first, second = (
        _inputs(payload.get("text_1"), "text_1"),
        _inputs(payload.get("text_2"), "text_2"),
    )
    if len(first) == 1:
        first = first * len(second)
    if len(first) != len(second):
        raise AnswerError(400, "text_1 and text_2 must have the same number of texts.")
    data = []
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        words = {w.lower() for w in a.split()}
        found = words & {w.lower() for w in b.split()}
        score = len(found) / len(words) if words else 0.0
        data.append({"index": index, "object": "score", "score": score})
    tokens = sum(len(tokenize(a)) + len(tokenize(b)) for a, b in zip(first, second, strict=True))
    return _listing("score", model, data, tokens)


def _classify(index: int, text: str) -> dict[str, Any]:
    positive = hashlib.sha256(text.encode("utf-8")).digest()[0] / 255
    probs = [1.0 - positive, positive]
    return {"index": index, "label": _CLASSES[positive >= 0.5], "probs": probs, "num_classes": 2}


def audio_text(seconds: float, rate: int, translate: bool) -> str:
    """The emulator's transcription of a WAV file of ``seconds`` at ``rate`` Hz."""
    text = f"{seconds:g} seconds of audio at {rate} Hz"
    return f"Translated: {text}" if translate else text


def _wav(data: Any) -> tuple[float, int]:
    if not isinstance(data, bytes) or not data:
        raise AnswerError(400, "file is required (a multipart file field).", param="file")
    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate, frames = wav.getframerate(), wav.getnframes()
    except (wave.Error, EOFError) as exc:
        raise AnswerError(400, f"Invalid or unsupported audio file: {exc}", param="file") from None
    return (frames / rate if rate else 0.0), rate


def _speech(route: str, form: dict[str, Any], model: str) -> dict[str, Any] | list[Event]:
    translate = route.endswith("translations")
    fmt = form.get("response_format", "json")
    if fmt not in _FORMATS:
        raise AnswerError(
            400, "Currently only support response_format `text`, `json` or `verbose_json`"
        )
    seconds, rate = _wav(form.get("file"))
    text = audio_text(seconds, rate, translate)
    if form.get("stream"):
        if fmt == "verbose_json":
            raise AnswerError(400, "verbose_json format doesn't support streaming case")
        return list(_speech_events(text, model, translate))
    if fmt == "verbose_json":
        segment = {
            "id": 0, "seek": 0, "start": 0.0, "end": seconds, "text": text, "tokens": [],
            "temperature": 0.0, "avg_logprob": 0.0, "compression_ratio": 1.0,
            "no_speech_prob": 0.0,
        }  # fmt: skip
        language = form.get("language") or "en"
        return {"text": text, "language": language, "duration": str(seconds), "segments": [segment]}
    if translate:  # vLLM: no usage in a translation's answer
        return {"text": text}
    return {"text": text, "usage": {"type": "duration", "seconds": math.ceil(seconds)}}


def _speech_events(text: str, model: str, translate: bool) -> Iterator[Event]:
    kind = "translation" if translate else "transcription"
    head = {
        "id": f"{kind[:4]}-{uuid.uuid4().hex}",
        "object": f"{kind}.chunk",
        "created": int(time.time()),
        "model": model,
    }
    words = text.split(" ")
    for i, word in enumerate(words):
        piece = word if i == 0 else " " + word
        choice: dict[str, Any] = {"delta": {"content": piece}}
        if i == len(words) - 1:
            choice.update(finish_reason="stop", stop_reason=None)
        yield {**head, "choices": [choice]}, True
