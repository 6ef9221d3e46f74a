"""Giving a stream's connection back safely: from finalizers, and without half-done closes.

Two hazards, one module:

* A finalizer (``__del__``, or a generator closed by the garbage collector) may run in
  the middle of any code of the thread that collects, for instance while it holds
  httpcore's pool lock, a ``threading.Semaphore``'s lock (a client's permits) or a span
  processor's lock. Closing the response or calling ``on_close`` there would take such a
  lock again: the thread would hang for good. So while a cyclic collection runs in this
  thread (:func:`collecting`, told by ``gc.callbacks``), the streams hand the release to
  a daemon thread (:func:`defer`) through a ``SimpleQueue``, whose ``put`` is safe from
  finalizers. Dropped without a cycle, a stream is released at once, as before. httpx's
  and httpcore's body generators close the response when they are finalized, so an
  open sync stream's body iterator is kept here (:func:`hold`) until its release: never
  garbage in the same collection.

* Cancelling ``await response.aclose()`` half-way leaves httpcore's pool holding the
  request (the response marked closed, the pool never told): the connection stays
  ACTIVE for good. :func:`shielded` runs such a close as a task the caller's
  cancellation cannot reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
from collections.abc import Callable, Coroutine
from queue import SimpleQueue
from typing import Any

__all__ = ["close_soon", "collecting", "defer", "hold", "let_go", "spawn", "watch"]

# The thread running a cyclic garbage collection, if any (one runs at a time).
_collecting: int | None = None
_jobs: SimpleQueue[Callable[[], object]] = SimpleQueue()
_closer_pid: int | None = None  # the process whose closer thread runs (forks need one too)
_start_lock = threading.Lock()
# id(owner) -> the body iterator of an open sync stream (see the module's docstring).
_held: dict[int, object] = {}

# Strong references to fire-and-forget tasks, so they are not collected mid-way.
_background_tasks: set[asyncio.Task[Any]] = set()


def _on_gc(phase: str, info: dict[str, int]) -> None:
    global _collecting
    _collecting = threading.get_ident() if phase == "start" else None


def collecting() -> bool:
    """Whether this thread is running a cyclic garbage collection (finalizers included)."""
    return _collecting is not None and _collecting == threading.get_ident()


def watch() -> None:
    """Track collections and start the closer thread: once per process, at a safe point
    (a stream's creation, never a finalizer: starting a thread takes locks)."""
    global _closer_pid
    pid = os.getpid()
    if _closer_pid == pid:
        return
    with _start_lock:
        if _closer_pid == pid:
            return
        if _on_gc not in gc.callbacks:
            gc.callbacks.append(_on_gc)
        threading.Thread(target=_run, name="odsc_llm-stream-closer", daemon=True).start()
        _closer_pid = pid


def _run() -> None:
    while True:
        job = _jobs.get()
        with contextlib.suppress(Exception):  # a dropped stream's close has no one to tell
            job()
        del job  # not kept alive until the next one


def hold(owner: object, iterator: object) -> None:
    """Keep ``iterator`` alive until ``let_go(owner)``, whatever becomes of ``owner``."""
    _held[id(owner)] = iterator


def let_go(owner: object) -> None:
    """Forget what ``hold`` kept for ``owner`` (not from a collection: it may finalize)."""
    _held.pop(id(owner), None)


def defer(job: Callable[[], object]) -> None:
    """Run ``job`` soon on the closer thread (safe to call from a finalizer)."""
    _jobs.put(job)


def spawn(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """``coroutine`` as a task on the running loop, kept referenced until it ends."""
    task = asyncio.get_running_loop().create_task(coroutine)
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    return task


def close_soon(closer: Callable[[], Coroutine[Any, Any, None]], loop: Any = None) -> bool:
    """Run ``closer()`` on the running event loop, else on ``loop`` from this other thread
    (for ``__del__``, which can't await). False when neither runs."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        if running.is_closed():
            return False
        spawn(closer())
        return True
    if loop is None or not loop.is_running():
        return False
    try:
        loop.call_soon_threadsafe(lambda: spawn(closer()))
    except RuntimeError:
        return False  # the loop closed meanwhile
    return True
