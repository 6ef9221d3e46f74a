"""The operations of the clients, grouped as in the OpenAI SDK."""

from .chat import AsyncChat, AsyncChatCompletions, Chat, ChatCompletions
from .completions import AsyncCompletions, Completions
from .embeddings import AsyncEmbeddings, Embeddings

__all__ = [
    "AsyncChat",
    "AsyncChatCompletions",
    "AsyncCompletions",
    "AsyncEmbeddings",
    "Chat",
    "ChatCompletions",
    "Completions",
    "Embeddings",
]
