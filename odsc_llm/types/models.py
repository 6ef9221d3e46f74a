"""Models of ``GET /v1/models``: what a deployment serves (base models and LoRA adapters)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import SupportsIndex, overload

from pydantic import Field

from ._base import BaseType, ResponseType

__all__ = ["Model", "ModelList"]


class Model(BaseType):
    """One model a deployment answers to; use its ``id`` as the ``model`` of a call."""

    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = ""
    #: What the model was loaded from (vLLM: the base model's path or name).
    root: str | None = None
    #: For a LoRA adapter, the ``id`` of its base model; ``None`` for a base model.
    parent: str | None = None
    #: The context window (vLLM ``--max-model-len``).
    max_model_len: int | None = None


class ModelList(ResponseType):
    """The answer of ``models.list()``: ``data`` holds one :class:`Model` per served name.

    It iterates over its models, as openai's pages do (``for m in client.models.list():
    m.id``), and ``len()`` and indexing work on them too.
    """

    object: str = "list"
    data: list[Model] = Field(default_factory=list)

    # pydantic's own __iter__ yields (field, value) pairs: a list yields its items.
    def __iter__(self) -> Iterator[Model]:  # type: ignore[override]
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @overload
    def __getitem__(self, index: SupportsIndex) -> Model: ...
    @overload
    def __getitem__(self, index: slice) -> list[Model]: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Model | list[Model]:
        return self.data[index]

    @property
    def ids(self) -> list[str]:
        """The ``id`` of each model, in the server's order."""
        return [m.id for m in self.data]
