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
from .models import Model, ModelList
from .params import (
    ChatCompletionCreateParams,
    ChatCompletionMessageParam,
    ChatCompletionParseParams,
    CompletionCreateParams,
    EmbeddingCreateParams,
    RequestOptions,
    StreamOptions,
)
from .parsed import ParsedChatCompletion, ParsedChatCompletionMessage, ParsedChoice
from .usage import CompletionUsage, PromptTokensDetails
from .vllm import (
    DetokenizeResponse,
    RerankCreateParams,
    RerankDocument,
    RerankResponse,
    RerankResult,
    RerankUsage,
    TokenizeResponse,
)

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionCreateParams",
    "ChatCompletionMessage",
    "ChatCompletionMessageParam",
    "ChatCompletionMessageToolCall",
    "ChatCompletionParseParams",
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
    "DetokenizeResponse",
    "Embedding",
    "EmbeddingCreateParams",
    "EmbeddingUsage",
    "Function",
    "Model",
    "ModelList",
    "ParsedChatCompletion",
    "ParsedChatCompletionMessage",
    "ParsedChoice",
    "PromptTokensDetails",
    "RequestOptions",
    "RerankCreateParams",
    "RerankDocument",
    "RerankResponse",
    "RerankResult",
    "RerankUsage",
    "StreamOptions",
    "TokenizeResponse",
    "TopLogprob",
]
