"""``client.audio``: speech to text, ``transcriptions`` and ``translations``.

vLLM's ``/v1/audio/transcriptions`` and ``/v1/audio/translations`` (Whisper-style
models; AI Quick Actions deploys them, and Multiple Inference Endpoints deployments
allowlist both routes) take ``multipart/form-data``: the form is built by httpx
(``_multipart``) and sent through the client's routing like any call, to
``/predictWithResponseStream`` when streamed. vLLM takes ``json``, ``text`` and
``verbose_json`` (not ``srt``/``vtt``), and refuses to stream ``verbose_json``
(``speech_to_text.py``, ``_create_speech_to_text``): both refused here, before sending.
vLLM answers ``text`` with its JSON ``{"text": ...}``, OpenAI with plain text: the
``str`` returned is the text either way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, overload

from typing_extensions import Unpack

from .._constants import ROUTE_TRANSCRIPTIONS, ROUTE_TRANSLATIONS
from .._errors import APIResponseValidationError, InvalidRequestError
from .._multipart import FileInput, Multipart, multipart, read_file
from .._response import APIResponse
from .._streaming import AsyncStream, Stream
from ..types.audio import Transcription, TranscriptionChunk, TranscriptionVerbose
from ..types.params import RequestOptions
from ._common import APIResource, AsyncAPIResource, split_params

__all__ = [
    "AsyncAudio",
    "AsyncTranscriptions",
    "AsyncTranslations",
    "Audio",
    "Transcriptions",
    "Translations",
]

AudioResponseFormat = Literal["json", "text", "verbose_json"]
_FORMATS = ("json", "text", "verbose_json")
_ALLOWED = frozenset(RequestOptions.__optional_keys__) | {
    "model",
    "language",
    "prompt",
    "temperature",
}
_RESULT: dict[str, type[Transcription] | type[TranscriptionVerbose]] = {
    "json": Transcription,
    "text": Transcription,
    "verbose_json": TranscriptionVerbose,
}


def _form(
    method: str,
    file: Any,
    default_model: str,
    response_format: str,
    stream: bool,
    params: Mapping[str, Any],
) -> tuple[Multipart, dict[str, Any]]:
    """(the encoded form, the call options), every argument checked."""
    if response_format not in _FORMATS:
        raise InvalidRequestError(
            f"response_format must be one of {', '.join(map(repr, _FORMATS))} (what vLLM "
            f"serves), not {response_format!r}."
        )
    if stream is not True and stream is not False:
        raise InvalidRequestError(f"stream must be True or False, not {stream!r}.")
    if stream and response_format == "verbose_json":
        raise InvalidRequestError(
            "response_format='verbose_json' cannot stream (vLLM refuses it): use 'json' or "
            "'text' with stream=True, or stream=False."
        )
    for name in ("model", "language", "prompt"):
        value = params.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidRequestError(f"{name} must be a string, not {type(value).__name__}.")
    fields, options = split_params(method, {}, params, _ALLOWED, stream)
    if "file" in fields:
        raise InvalidRequestError("extra_body must not set 'file': pass file=... instead.")
    fields = {"model": fields.pop("model", None) or default_model, **fields}
    fields["response_format"] = response_format
    name, data = read_file(file)
    if not data:
        raise InvalidRequestError(f"file {name!r} is empty: pass the audio's bytes.")
    body = multipart(fields, {"file": (name, data)})
    # The form's own content-type (its boundary) replaces the client's JSON one.
    headers = {**(options.get("extra_headers") or {}), "content-type": body.content_type}
    options["extra_headers"] = headers
    return body, options


def _text(answer: APIResponse[Any]) -> str:
    """The text of a ``response_format="text"`` answer: plain text, or vLLM's JSON."""
    response = answer.http_response
    if "json" not in response.headers.get("content-type", ""):
        return response.text
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return str(data["text"])
    if isinstance(data, str):
        return data
    body = response.content[:300].decode("utf-8", "replace")
    raise APIResponseValidationError(
        f"The answer of {response.request.url} has no transcription text; body starts "
        f"with {body!r} (opc-request-id: {response.headers.get('opc-request-id') or '-'})",
        response=response,
        body=body,
    )


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class Transcriptions(APIResource):
    """``client.audio.transcriptions.create(file=..., ...)``."""

    _route = ROUTE_TRANSCRIPTIONS
    _method = "audio.transcriptions.create"

    @overload
    def create(
        self,
        *,
        file: FileInput,
        model: str | None = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["json"] = ...,
        temperature: float | None = ...,
        stream: Literal[False] = ...,
        **params: Unpack[RequestOptions],
    ) -> Transcription: ...
    @overload
    def create(
        self,
        *,
        file: FileInput,
        model: str | None = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["verbose_json"],
        temperature: float | None = ...,
        stream: Literal[False] = ...,
        **params: Unpack[RequestOptions],
    ) -> TranscriptionVerbose: ...
    @overload
    def create(
        self,
        *,
        file: FileInput,
        model: str | None = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["text"],
        temperature: float | None = ...,
        stream: Literal[False] = ...,
        **params: Unpack[RequestOptions],
    ) -> str: ...
    @overload
    def create(
        self,
        *,
        file: FileInput,
        model: str | None = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["json", "text"] = ...,
        temperature: float | None = ...,
        stream: Literal[True],
        **params: Unpack[RequestOptions],
    ) -> Stream[TranscriptionChunk]: ...
    def create(
        self,
        *,
        file: FileInput,
        model: str | None = None,
        language: str | None = None,
        prompt: str | None = None,
        response_format: AudioResponseFormat = "json",
        temperature: float | None = None,
        stream: bool = False,
        **params: Unpack[RequestOptions],
    ) -> Transcription | TranscriptionVerbose | str | Stream[TranscriptionChunk]:
        """The text spoken in ``file`` (a path, bytes or a binary file: any format the
        model server decodes, such as WAV, MP3 or FLAC), sent as ``multipart/form-data``.

        ``response_format="json"`` (default) gives a :class:`~odsc_llm.types.audio.
        Transcription`, ``"verbose_json"`` a ``TranscriptionVerbose`` (segments and
        timings), ``"text"`` the ``str`` itself. ``stream=True`` gives a
        :class:`~odsc_llm.Stream` of ``TranscriptionChunk`` (``stream.text()`` yields
        the new text). ``language`` (ISO-639-1, e.g. ``"en"``) and ``prompt`` guide
        the model; per-call options (``timeout``, ``extra_headers``, ``extra_body``
        for vLLM's other form fields) as for every ``create``.
        """
        every: dict[str, Any] = {"model": model, "language": language, "prompt": prompt}
        every["temperature"] = temperature
        body, options = _form(
            self._method, file, self._client.model, response_format, stream, {**params, **every}
        )
        request = self._client._request
        if stream:
            return request(self._route, body, Transcription, TranscriptionChunk, options)  # type: ignore[no-any-return]
        if response_format == "text":
            return _text(request(self._route, body, Transcription, None, options, True))
        return request(self._route, body, _RESULT[response_format], None, options)  # type: ignore[no-any-return]


class Translations(Transcriptions):
    """``client.audio.translations.create(file=..., ...)``: speech to English text
    (the arguments and answers of :meth:`Transcriptions.create`)."""

    _route = ROUTE_TRANSLATIONS
    _method = "audio.translations.create"


class Audio(APIResource):
    """``client.audio``: ``transcriptions`` and ``translations``."""

    @property
    def transcriptions(self) -> Transcriptions:
        """Speech to text in the audio's language."""
        return Transcriptions(self._client, raw=self._raw)

    @property
    def translations(self) -> Translations:
        """Speech to English text."""
        return Translations(self._client, raw=self._raw)


# unasync: end generated


# unasync: begin source
class AsyncTranscriptions(AsyncAPIResource):
    """``await client.audio.transcriptions.create(file=..., ...)``."""

    _route = ROUTE_TRANSCRIPTIONS
    _method = "audio.transcriptions.create"

    @overload
    async def create(
        self,
        *,
        file: FileInput,
        model: str | None = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["json"] = ...,
        temperature: float | None = ...,
        stream: Literal[False] = ...,
        **params: Unpack[RequestOptions],
    ) -> Transcription: ...
    @overload
    async def create(
        self,
        *,
        file: FileInput,
        model: str | None = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["verbose_json"],
        temperature: float | None = ...,
        stream: Literal[False] = ...,
        **params: Unpack[RequestOptions],
    ) -> TranscriptionVerbose: ...
    @overload
    async def create(
        self,
        *,
        file: FileInput,
        model: str | None = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["text"],
        temperature: float | None = ...,
        stream: Literal[False] = ...,
        **params: Unpack[RequestOptions],
    ) -> str: ...
    @overload
    async def create(
        self,
        *,
        file: FileInput,
        model: str | None = ...,
        language: str | None = ...,
        prompt: str | None = ...,
        response_format: Literal["json", "text"] = ...,
        temperature: float | None = ...,
        stream: Literal[True],
        **params: Unpack[RequestOptions],
    ) -> AsyncStream[TranscriptionChunk]: ...
    async def create(
        self,
        *,
        file: FileInput,
        model: str | None = None,
        language: str | None = None,
        prompt: str | None = None,
        response_format: AudioResponseFormat = "json",
        temperature: float | None = None,
        stream: bool = False,
        **params: Unpack[RequestOptions],
    ) -> Transcription | TranscriptionVerbose | str | AsyncStream[TranscriptionChunk]:
        """The text spoken in ``file`` (a path, bytes or a binary file: any format the
        model server decodes, such as WAV, MP3 or FLAC), sent as ``multipart/form-data``.

        ``response_format="json"`` (default) gives a :class:`~odsc_llm.types.audio.
        Transcription`, ``"verbose_json"`` a ``TranscriptionVerbose`` (segments and
        timings), ``"text"`` the ``str`` itself. ``stream=True`` gives a
        :class:`~odsc_llm.AsyncStream` of ``TranscriptionChunk`` (``stream.text()`` yields
        the new text). ``language`` (ISO-639-1, e.g. ``"en"``) and ``prompt`` guide
        the model; per-call options (``timeout``, ``extra_headers``, ``extra_body``
        for vLLM's other form fields) as for every ``create``.
        """
        every: dict[str, Any] = {"model": model, "language": language, "prompt": prompt}
        every["temperature"] = temperature
        body, options = _form(
            self._method, file, self._client.model, response_format, stream, {**params, **every}
        )
        request = self._client._request
        if stream:
            return await request(self._route, body, Transcription, TranscriptionChunk, options)  # type: ignore[no-any-return]
        if response_format == "text":
            return _text(await request(self._route, body, Transcription, None, options, True))
        return await request(self._route, body, _RESULT[response_format], None, options)  # type: ignore[no-any-return]


class AsyncTranslations(AsyncTranscriptions):
    """``await client.audio.translations.create(file=..., ...)``: speech to English text
    (the arguments and answers of :meth:`AsyncTranscriptions.create`)."""

    _route = ROUTE_TRANSLATIONS
    _method = "audio.translations.create"


class AsyncAudio(AsyncAPIResource):
    """``client.audio``: ``transcriptions`` and ``translations``."""

    @property
    def transcriptions(self) -> AsyncTranscriptions:
        """Speech to text in the audio's language."""
        return AsyncTranscriptions(self._client, raw=self._raw)

    @property
    def translations(self) -> AsyncTranslations:
        """Speech to English text."""
        return AsyncTranslations(self._client, raw=self._raw)


# unasync: end source
