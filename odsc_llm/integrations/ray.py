"""Spread a batch over a Ray Data cluster: a callable class for ``Dataset.map_batches``.

Each Ray worker (an actor) builds one :class:`DeploymentPredictor`: one
:class:`~odsc_llm.AsyncClient` (one connection pool) and one event loop, kept for the
worker's life. Every block of rows Ray hands it is sent as one
:meth:`~odsc_llm.resources.completions.AsyncCompletions.batch` with ``concurrency``
requests in flight, so the cluster runs ``workers x concurrency`` requests at once::

    import ray
    from odsc_llm.integrations.ray import DeploymentPredictor

    ds = ray.data.from_items([{"prompt": p} for p in prompts])
    answers = ds.map_batches(
        DeploymentPredictor,
        fn_constructor_kwargs={"deployment": url, "auth": odsc_llm.auth.resource_principal,
                               "concurrency": 16, "max_tokens": 200},
        concurrency=4,        # Ray workers (actors)
        batch_size=64,
    )

``auth`` is best passed as a factory (a function returning an ``OCIAuth``, such as
``odsc_llm.auth.resource_principal``), called in each worker: signers hold keys and
locks that should not be pickled and shipped. This module does not import Ray.
Mind the service limit (about 150 requests/s per tenancy): ``workers x concurrency``
well above what the deployment serves only turns into 429s and retries.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .._batch import BatchResult
from ..deployment import Deployment

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
        concurrency: requests in flight per worker.
        max_retries, timeout: as on :class:`~odsc_llm.AsyncClient`.
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
        concurrency: int = 16,
        max_retries: int = 2,
        timeout: float | httpx.Timeout | None = 600.0,
        **params: Any,
    ) -> None:
        from .._client import AsyncClient

        if auth is not None and not isinstance(auth, httpx.Auth):
            auth = auth()
        self.column = column
        self.output_column = output_column
        self.chat = chat
        self.system_prompt = system_prompt
        self.concurrency = concurrency
        self.params = params
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="odsc-llm-ray", daemon=True
        )
        self._thread.start()
        self._client = AsyncClient(deployment, auth=auth, max_retries=max_retries, timeout=timeout)

    async def _run(self, prompts: list[str]) -> BatchResult[Any]:
        if not self.chat:
            return await self._client.completions.batch(
                prompts, concurrency=self.concurrency, **self.params
            )
        head = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        conversations = [[*head, {"role": "user", "content": p}] for p in prompts]
        return await self._client.chat.completions.batch(
            conversations, concurrency=self.concurrency, **self.params
        )

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one block of rows (a dict of columns, as Ray's ``numpy`` format gives)."""
        prompts = [str(p) for p in batch[self.column]]
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
