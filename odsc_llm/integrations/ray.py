"""Spread a batch over a Ray Data cluster: a callable class for ``Dataset.map_batches``.

Each Ray worker (an actor) builds one :class:`DeploymentPredictor`: one
:class:`~odsc_llm.AsyncClient` (one connection pool), one event loop and one batch
controller, kept for the worker's life. Every block of rows Ray hands it is sent as one
batch through that controller, so what it learned (the concurrency the deployment
sustains, the pace a 429 asked for) carries over from block to block. With
``concurrency="auto"`` (the default) each worker backs off on its own when the
deployment answers 429/503; the cluster runs at most ``workers x max_concurrency``
requests at once (``workers x concurrency`` with a fixed int)::

    import ray
    from odsc_llm.integrations.ray import DeploymentPredictor

    ds = ray.data.from_items([{"prompt": p} for p in prompts])
    answers = ds.map_batches(
        DeploymentPredictor,
        fn_constructor_kwargs={"deployment": url, "auth": odsc_llm.auth.resource_principal,
                               "rate_limit": 150 / 4, "max_tokens": 200},
        concurrency=4,        # Ray workers (actors)
        batch_size=64,
    )

``auth`` is best passed as a factory (a function returning an ``OCIAuth``, such as
``odsc_llm.auth.resource_principal``), called in each worker: signers hold keys and
locks that should not be pickled and shipped. This module does not import Ray.
Mind the service limit (about 150 requests/s per tenancy, shared by every worker):
``rate_limit=150 / workers`` keeps the cluster under it from the start; without it the
workers find it through 429s (each one paces itself after its first).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .. import _constants as C
from .._batch import BatchResult, Concurrency, Controller
from .._batch._control import validate_options
from .._errors import InvalidRequestError
from .._validation import validate_routing
from ..deployment import Deployment
from ..types.params import Routing

__all__ = ["DeploymentPredictor"]

AuthLike = httpx.Auth | Callable[[], httpx.Auth] | None


class DeploymentPredictor:
    """A ``map_batches`` callable: adds the deployment's answer to each row.

    Args:
        deployment: a :class:`~odsc_llm.Deployment`, URL or OCID.
        auth: an ``OCIAuth``, or a function returning one (called once per worker), or
            ``None`` for :func:`odsc_llm.auth.default` in the worker.
        column: the input column (prompt text).
        output_column: where the answer text goes; ``{output_column}_error`` gets the
            error message of a failed row (``None`` when it succeeded).
        chat: send each prompt as a one-message chat (``chat.completions``) instead of a
            text completion; ``system_prompt`` is then put first if given.
        concurrency: ``"auto"`` (adaptive, per worker) or a fixed number of requests in
            flight per worker; ``max_concurrency`` is the ceiling of ``"auto"``.
        rate_limit: requests/s per worker (e.g. ``150 / workers``); default none.
        stats_column: if given, each row gets a JSON string of this worker's controller
            (``pid``, ``concurrency``, ``rate``, ``cuts``, ``429``, ``503``, ``retries``).
        max_retries: as on :class:`~odsc_llm.AsyncClient`.
        timeout: as on :class:`~odsc_llm.AsyncClient`.
        routing: as on :class:`~odsc_llm.AsyncClient` (``"header"``, or ``"path"`` for
            Multiple Inference Endpoints deployments).
        **params: parameters of ``create`` for every row (``max_tokens``, ``temperature``...).
    """

    def __init__(
        self,
        deployment: Deployment | str,
        *,
        auth: AuthLike = None,
        column: str = "prompt",
        output_column: str = "answer",
        chat: bool = False,
        system_prompt: str | None = None,
        concurrency: Concurrency = "auto",
        max_concurrency: int = C.BATCH_MAX_CONCURRENCY,
        rate_limit: float | None = None,
        stats_column: str | None = None,
        max_retries: int = 2,
        timeout: float | httpx.Timeout | None = 600.0,
        routing: Routing = C.DEFAULT_ROUTING,
        **params: Any,
    ) -> None:
        from .._async_client import AsyncClient

        if auth is not None and not isinstance(auth, httpx.Auth):
            auth = auth()
        self.column = column
        self.output_column = output_column
        self.chat = chat
        self.system_prompt = system_prompt
        self.concurrency = concurrency
        self.stats_column = stats_column
        fixed, ceiling, rate = validate_options(concurrency, max_concurrency, rate_limit)
        validate_routing(routing)  # before the thread starts: a bad value leaks nothing
        self.controller = Controller(
            fixed=fixed,
            max_concurrency=min(ceiling, C.DEFAULT_LIMITS.max_connections or ceiling),
            rate_limit=rate,
        )
        self.params = params
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="odsc-llm-ray", daemon=True
        )
        self._thread.start()
        self._client = AsyncClient(
            deployment, auth=auth, max_retries=max_retries, timeout=timeout, routing=routing
        )

    async def _run(self, prompts: list[str]) -> BatchResult[Any]:
        from .._batch import abatch
        from ..types import ChatCompletion, Completion

        client = self._client
        if not self.chat:
            return await abatch(
                client.completions.create, "prompt", prompts, Completion, self.params,
                max_retries=client.max_retries, controller=self.controller,
            )  # fmt: skip
        head = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        conversations = [[*head, {"role": "user", "content": p}] for p in prompts]
        return await abatch(
            client.chat.completions.create, "messages", conversations, ChatCompletion,
            self.params, max_retries=client.max_retries, controller=self.controller,
        )  # fmt: skip

    def stats(self) -> dict[str, Any]:
        """This worker's controller: its limits now and what it has seen so far."""
        import os

        control = self.controller
        return {
            "pid": os.getpid(),
            "concurrency": control.slots,
            "rate": control.rate,
            "cuts": control.cuts,
            "429": control.throttled_429,
            "503": control.throttled_503,
            "retries": control.retries,
        }

    def _prompts(self, batch: Mapping[str, Any]) -> list[str]:
        """The block's prompt column as a list of strings, or a clear error."""
        try:
            values = batch[self.column]
        except (KeyError, IndexError, TypeError):
            columns = list(batch) if isinstance(batch, Mapping) else type(batch).__name__
            raise InvalidRequestError(
                f"DeploymentPredictor: the block has no column {self.column!r} (it has "
                f"{columns}); pass column= the name of the prompt column."
            ) from None
        # A str (or a 0-d array) here would be sent one character at a time.
        if isinstance(values, (str, bytes, bytearray)) or getattr(values, "ndim", 1) == 0:
            raise InvalidRequestError(
                f"DeploymentPredictor: column {self.column!r} must hold one prompt per row "
                f"(a list or array), not a single {type(values).__name__}; pass a block of "
                "columns as Ray's map_batches does, e.g. {'prompt': ['...']}."
            )
        return [p.decode("utf-8") if isinstance(p, bytes) else str(p) for p in values]

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one block of rows (a dict of columns, as Ray's ``numpy`` format gives)."""
        prompts = self._prompts(batch)
        future = asyncio.run_coroutine_threadsafe(self._run(prompts), self._loop)
        result = future.result()
        texts: list[str | None] = []
        for item in result:
            answer = item.result
            if answer is None or not answer.choices:
                texts.append(None)
            elif self.chat:
                texts.append(answer.choices[0].message.content)
            else:
                texts.append(answer.choices[0].text)
        out = dict(batch)
        out[self.output_column] = texts
        out[f"{self.output_column}_error"] = [
            None if item.error is None else f"{item.error.type}: {item.error.message}"
            for item in result
        ]
        if self.stats_column is not None:
            import json

            out[self.stats_column] = [json.dumps(self.stats())] * len(texts)
        return out

    def close(self) -> None:
        """Close the client and stop the worker's event loop."""
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __del__(self) -> None:
        # Dropped without close() (Ray ends a worker by killing it): stop the loop thread;
        # never block or join here.
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed() and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)

    def __repr__(self) -> str:
        return (
            f"DeploymentPredictor(deployment={self._client.deployment.endpoint!r}, "
            f"concurrency={self.concurrency}, chat={self.chat})"
        )
