"""``client.models``: what a deployment serves (``GET {endpoint}/predict/v1/models``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import Unpack

from .._constants import PATH_MODELS
from .._error_text import unknown_model, unknown_model_hint
from .._errors import InvalidRequestError, NotFoundError
from ..types.models import Model, ModelList
from ..types.params import RequestOptions
from ._common import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncModels", "Models", "is_unknown_model", "with_served_models"]


def is_unknown_model(error: NotFoundError, body: Mapping[str, Any] | None) -> bool:
    """A 404 about the body's ``model`` (vLLM's, not OCI's "no such deployment") that
    does not already list the valid names (newer vLLM releases do): worth one
    ``GET /v1/models`` to name them."""
    found = unknown_model(error.message or "")
    return body is not None and found is not None and found[1] is None


def with_served_models(error: NotFoundError, served: list[str] | None) -> NotFoundError:
    """``error``, its hint naming the models the deployment serves (when known)."""
    found = unknown_model(error.message or "")
    if served and found is not None:
        model = found[0]
        old, new = unknown_model_hint(model, None), unknown_model_hint(model, served)
        if old in error.message:
            error.message = error.message.replace(old, new)
        else:  # a message built elsewhere: add the names at the end
            error.message = f"{error.message} Hint: {new}"
        error.args = (error.message,)
    return error


def _pick(models: ModelList, model_id: str) -> Model:
    for model in models.data:
        if model.id == model_id:
            return model
    served = ", ".join(models.ids) or "none"
    raise InvalidRequestError(
        f"The deployment does not serve a model {model_id!r}; it serves: {served} "
        f"(opc-request-id: {models.request_id or '-'})."
    )


class Models(SyncAPIResource):
    """The models of a deployment: ``list()`` and ``retrieve(id)``."""

    def list(self, **options: Unpack[RequestOptions]) -> ModelList:
        """Every model the deployment answers to: one on a single-model deployment
        (``odsc-llm``), several on multi-model and stacked (base + LoRA) ones.

        The ``id`` of each is the ``model`` to pass to a call (or ``Client(model=...)``).
        """
        return self._client._request(  # type: ignore[no-any-return]
            None, None, ModelList, None, options, method="GET", path=PATH_MODELS
        )

    def retrieve(self, model: str, **options: Unpack[RequestOptions]) -> Model:
        """The served model named ``model``, or an
        :class:`~odsc_llm.InvalidRequestError` naming what is served (vLLM has no
        per-model route: this reads the list)."""
        return _pick(self.list(**options), model)


class AsyncModels(AsyncAPIResource):
    """The models of a deployment: ``await list()`` and ``await retrieve(id)``."""

    async def list(self, **options: Unpack[RequestOptions]) -> ModelList:
        """Every model the deployment answers to; see :meth:`Models.list`."""
        return await self._client._request(  # type: ignore[no-any-return]
            None, None, ModelList, None, options, method="GET", path=PATH_MODELS
        )

    async def retrieve(self, model: str, **options: Unpack[RequestOptions]) -> Model:
        """The served model named ``model``; see :meth:`Models.retrieve`."""
        return _pick(await self.list(**options), model)
