"""Models of ``GET /v1/models``: what a deployment serves (base models and LoRA adapters)."""

from __future__ import annotations

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
    """The answer of ``models.list()``: ``data`` holds one :class:`Model` per served name."""

    object: str = "list"
    data: list[Model] = Field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        """The ``id`` of each model, in the server's order."""
        return [m.id for m in self.data]
