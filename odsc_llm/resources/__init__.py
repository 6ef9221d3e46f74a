"""The operations of the clients, grouped as in the OpenAI SDK.

``responses`` (the Responses API) is not imported here: the clients load it on first use.
"""

from .audio import AsyncAudio, Audio
from .chat import AsyncChat, AsyncChatCompletions, Chat, ChatCompletions
from .completions import AsyncCompletions, Completions
from .embeddings import AsyncEmbeddings, Embeddings
from .models import AsyncModels, Models
from .rerank import AsyncRerank, Rerank
from .scoring import AsyncClassify, AsyncPooling, AsyncScore, Classify, Pooling, Score
from .tokenize import AsyncDetokenize, AsyncTokenize, Detokenize, Tokenize

__all__ = [
    "AsyncAudio",
    "AsyncChat",
    "AsyncChatCompletions",
    "AsyncClassify",
    "AsyncCompletions",
    "AsyncDetokenize",
    "AsyncEmbeddings",
    "AsyncModels",
    "AsyncPooling",
    "AsyncRerank",
    "AsyncScore",
    "AsyncTokenize",
    "Audio",
    "Chat",
    "ChatCompletions",
    "Classify",
    "Completions",
    "Detokenize",
    "Embeddings",
    "Models",
    "Pooling",
    "Rerank",
    "Score",
    "Tokenize",
]
