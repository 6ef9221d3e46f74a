"""Typed models of requests and answers (OpenAI / vLLM shapes; unknown fields are kept)."""

from .chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    ChatCompletionTokenLogprob,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChoiceLogprobs,
    ChunkChoice,
    Function,
    TopLogprob,
)
from .completion import Completion, CompletionChoice, CompletionLogprobs
from .embedding import CreateEmbeddingResponse, Embedding, EmbeddingUsage
from .params import (
    ChatCompletionCreateParams,
    ChatCompletionMessageParam,
    CompletionCreateParams,
    EmbeddingCreateParams,
    RequestOptions,
    StreamOptions,
)
from .usage import CompletionUsage, PromptTokensDetails

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionCreateParams",
    "ChatCompletionMessage",
    "ChatCompletionMessageParam",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "Completion",
    "CompletionChoice",
    "CompletionCreateParams",
    "CompletionLogprobs",
    "CompletionUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingCreateParams",
    "EmbeddingUsage",
    "Function",
    "PromptTokensDetails",
    "RequestOptions",
    "StreamOptions",
    "TopLogprob",
]
