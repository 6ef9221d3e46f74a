"""Request parameters, as TypedDicts: what ``create(...)`` accepts besides the required ones.

Every field is optional and omitted from the request body unless given. Parameters the
server knows but these do not list go in ``extra_body`` (e.g. vLLM's ``structured_outputs``
on vLLM >= 0.12; for JSON answers prefer ``response_format`` or ``chat.completions.parse``,
which every vLLM release takes). Values are checked before anything is sent: NaN,
±Infinity and lone surrogates are refused anywhere, as are headers with CR or LF
(:class:`~odsc_llm.InvalidRequestError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypedDict, Union

import httpx
from typing_extensions import Required

__all__ = [
    "ChatCompletionContentPartImageParam",
    "ChatCompletionContentPartParam",
    "ChatCompletionContentPartTextParam",
    "ChatCompletionCreateParams",
    "ChatCompletionMessageParam",
    "ChatCompletionParseParams",
    "CompletionCreateParams",
    "EmbeddingCreateParams",
    "ImageURL",
    "RequestOptions",
    "Routing",
    "StreamOptions",
    "Transport",
]

#: How requests name their container path: ``"header"`` (``route`` header, every
#: deployment) or ``"path"`` (``/predict/v1/...``, Multiple Inference Endpoints only).
Routing = Literal["header", "path"]

#: How ``AsyncClient`` reaches the network: ``"httpx"`` (the default) or ``"aiohttp"``
#: (``pip install 'odsc-llm[aiohttp]'``).
Transport = Literal["httpx", "aiohttp"]


class StreamOptions(TypedDict, total=False):
    """``stream_options``: ``include_usage`` adds a last chunk with the token counts."""

    include_usage: bool
    continuous_usage_stats: bool


class RequestOptions(TypedDict, total=False):
    """Options of one call that are not part of the model's parameters."""

    #: Extra JSON fields merged into the body (vLLM extras such as ``top_k`` or
    #: ``structured_outputs``); ``stream`` is not one of them (pass ``stream=``).
    extra_body: Mapping[str, object]
    #: Extra HTTP headers for this call.
    extra_headers: Mapping[str, str]
    #: This call's per-attempt timeout (seconds or ``httpx.Timeout``); ``None`` for none.
    timeout: float | httpx.Timeout | None
    #: This call's bound on the whole call, retries and waits included (seconds).
    total_timeout: float | None
    #: This call's retry count (overrides the client's ``max_retries``).
    max_retries: int
    #: Seconds allowed between two content events of a stream, after the first one (SSE
    #: comments do not count); ``None`` for no limit. Default: the client's.
    stream_idle_timeout: float | None


class _SamplingParams(RequestOptions, total=False):
    model: str
    frequency_penalty: float
    presence_penalty: float
    repetition_penalty: float
    logit_bias: Mapping[str, float]
    max_tokens: int
    n: int
    seed: int
    stop: str | list[str]
    stream_options: StreamOptions
    temperature: float
    top_p: float
    top_k: int
    min_p: float
    user: str


class CompletionCreateParams(_SamplingParams, total=False):
    """Optional parameters of ``completions.create``."""

    best_of: int
    echo: bool
    #: Number of most likely tokens to return log probabilities for.
    logprobs: int
    suffix: str


class ChatCompletionContentPartTextParam(TypedDict):
    """A text part of a message's content (:func:`odsc_llm.text`)."""

    type: Literal["text"]
    text: str


class ImageURL(TypedDict, total=False):
    """An image part's image: an ``http(s)`` URL or a base64 ``data:`` URL."""

    url: Required[str]
    detail: Literal["auto", "low", "high"]


class ChatCompletionContentPartImageParam(TypedDict):
    """An image part of a message's content (:func:`odsc_llm.image`)."""

    type: Literal["image_url"]
    image_url: ImageURL


#: A part of a message's ``content`` list.
ChatCompletionContentPartParam = (
    ChatCompletionContentPartTextParam | ChatCompletionContentPartImageParam
)


class ChatCompletionMessageParam(TypedDict, total=False):
    """A chat message: ``{"role": "user", "content": "hi"}`` and the OpenAI variants
    (``content`` may be a list of parts: :func:`odsc_llm.text`, :func:`odsc_llm.image`)."""

    role: Required[Literal["system", "user", "assistant", "tool", "developer"] | str]
    content: str | list[ChatCompletionContentPartParam | dict[str, Any]] | None
    name: str
    tool_calls: list[dict[str, Any]]
    tool_call_id: str


class ChatCompletionParseParams(_SamplingParams, total=False):
    """Optional parameters of ``chat.completions.parse`` (those of ``create`` except
    ``response_format``, which ``parse`` builds from a type)."""

    logprobs: bool
    top_logprobs: int
    max_completion_tokens: int
    tools: Iterable[Mapping[str, Any]]
    tool_choice: Union[str, Mapping[str, Any]]  # noqa: UP007 - TypedDict needs runtime-safe union
    parallel_tool_calls: bool
    chat_template_kwargs: Mapping[str, Any]


class ChatCompletionCreateParams(ChatCompletionParseParams, total=False):
    """Optional parameters of ``chat.completions.create``."""

    response_format: Mapping[str, Any]


class EmbeddingCreateParams(RequestOptions, total=False):
    """Optional parameters of ``embeddings.create``."""

    model: str
    encoding_format: Literal["float", "base64"]
    dimensions: int
    user: str
