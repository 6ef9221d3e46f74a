"""Models of vLLM's pooling routes: ``/score``, ``/classify`` and ``/pooling``.

Shaped as vLLM's protocol classes (``vllm/entrypoints/pooling/{score,classify,
pooling}/protocol.py``): each answer is a ``list`` object whose ``data`` has one item per
input (or pair), with its ``index``, and the tokens read in ``usage``.
"""

from __future__ import annotations

from pydantic import Field

from ._base import BaseType, ResponseType
from .params import RequestOptions
from .usage import CompletionUsage

__all__ = [
    "ClassificationData",
    "ClassificationResponse",
    "PoolingData",
    "PoolingResponse",
    "ScoreCreateParams",
    "ScoreData",
    "ScoreResponse",
]


class ScoreData(BaseType):
    """The score of one (``text_1``, ``text_2``) pair; ``index`` is the pair's."""

    index: int
    object: str = "score"
    score: float


class ScoreResponse(ResponseType):
    """The answer of ``score.create``: one :class:`ScoreData` per pair, in order."""

    id: str = ""
    object: str = "list"
    created: int = 0
    model: str = ""
    data: list[ScoreData] = Field(default_factory=list)
    usage: CompletionUsage | None = None


class ClassificationData(BaseType):
    """One input's class: its ``label``, the probability of each class (``probs``)."""

    index: int
    label: str | None = None
    probs: list[float] = Field(default_factory=list)
    num_classes: int = 0


class ClassificationResponse(ResponseType):
    """The answer of ``classify.create``: one :class:`ClassificationData` per input."""

    id: str = ""
    object: str = "list"
    created: int = 0
    model: str = ""
    data: list[ClassificationData] = Field(default_factory=list)
    usage: CompletionUsage | None = None


class PoolingData(BaseType):
    """One input's pooled output: a vector, one vector per token, or base64 text."""

    index: int
    object: str = "pooling"
    data: list[list[float]] | list[float] | str


class PoolingResponse(ResponseType):
    """The answer of ``pooling.create``: one :class:`PoolingData` per input."""

    id: str = ""
    object: str = "list"
    created: int = 0
    model: str = ""
    data: list[PoolingData] = Field(default_factory=list)
    usage: CompletionUsage | None = None


class ScoreCreateParams(RequestOptions, total=False):
    """Optional parameters of ``score.create``, ``classify.create`` and
    ``pooling.create`` (others go in ``extra_body``)."""

    model: str
    truncate_prompt_tokens: int
    use_activation: bool
