"""The operations of the clients, grouped as in the OpenAI SDK.

``responses`` (the Responses API) is not imported here: the clients load it on first use.
"""

from .chat import AsyncChat, AsyncChatCompletions, Chat, ChatCompletions
from .completions import AsyncCompletions, Completions
from .embeddings import AsyncEmbeddings, Embeddings
from .models import AsyncModels, Models
from .rerank import AsyncRerank, Rerank
from .tokenize import AsyncDetokenize, AsyncTokenize, Detokenize, Tokenize

__all__ = [
    "AsyncChat",
    "AsyncChatCompletions",
    "AsyncCompletions",
    "AsyncDetokenize",
    "AsyncEmbeddings",
    "AsyncModels",
    "AsyncRerank",
    "AsyncTokenize",
    "Chat",
    "ChatCompletions",
    "Completions",
    "Detokenize",
    "Embeddings",
    "Models",
    "Rerank",
    "Tokenize",
]
