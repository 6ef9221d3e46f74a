"""``client.models``: what a deployment serves (``GET /v1/models``, routed as every call is:
``route: /v1/models`` on ``{endpoint}/predict``, or ``{endpoint}/predict/v1/models``)."""

from __future__ import annotations

from typing_extensions import Unpack

from .._constants import PATH_MODELS
from .._errors import InvalidRequestError
from ..types.models import Model, ModelList
from ..types.params import RequestOptions
from ._common import APIResource, AsyncAPIResource

__all__ = ["AsyncModels", "Models"]


def _pick(models: ModelList, model_id: str) -> Model:
    for model in models.data:
        if model.id == model_id:
            return model
    served = ", ".join(models.ids) or "none"
    raise InvalidRequestError(
        f"The deployment does not serve a model {model_id!r}; it serves: {served} "
        f"(opc-request-id: {models.request_id or '-'})."
    )


# unasync: begin generated
# Generated from the `unasync: begin source` region 1 of this file by
# scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.
class Models(APIResource):
    """The models of a deployment: ``list()`` and ``retrieve(id)``."""

    def list(self, **options: Unpack[RequestOptions]) -> ModelList:
        """Every model the deployment answers to: one on a single-model deployment
        (``odsc-llm``), several on multi-model and stacked (base + LoRA) ones.

        The ``id`` of each is the ``model`` to pass to a call (or ``Client(model=...)``).
        """
        return self._client._request(  # type: ignore[no-any-return]
            PATH_MODELS, None, ModelList, None, options, method="GET"
        )

    def retrieve(self, model: str, **options: Unpack[RequestOptions]) -> Model:
        """The served model named ``model``, or an
        :class:`~odsc_llm.InvalidRequestError` naming what is served (vLLM has no
        per-model route: this reads the list)."""
        return _pick(self.list(**options), model)


# unasync: end generated


# unasync: begin source
class AsyncModels(AsyncAPIResource):
    """The models of a deployment: ``await list()`` and ``await retrieve(id)``."""

    async def list(self, **options: Unpack[RequestOptions]) -> ModelList:
        """Every model the deployment answers to: one on a single-model deployment
        (``odsc-llm``), several on multi-model and stacked (base + LoRA) ones.

        The ``id`` of each is the ``model`` to pass to a call (or ``AsyncClient(model=...)``).
        """
        return await self._client._request(  # type: ignore[no-any-return]
            PATH_MODELS, None, ModelList, None, options, method="GET"
        )

    async def retrieve(self, model: str, **options: Unpack[RequestOptions]) -> Model:
        """The served model named ``model``, or an
        :class:`~odsc_llm.InvalidRequestError` naming what is served (vLLM has no
        per-model route: this reads the list)."""
        return _pick(await self.list(**options), model)


# unasync: end source
