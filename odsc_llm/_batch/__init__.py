"""The batch engine: adaptive concurrency, pacing, retries, ordered results, resume.

``run_batch`` (``_runner``) drives the items; ``_control`` decides how many are in
flight and how fast they go (``_pace`` spaces the sends, ``_lag`` measures the loop's
own lag, ``_trace`` logs the decisions when ``ODSC_LLM_BATCH_TRACE`` asks);
``_resume`` keeps the JSONL resume file; ``_results`` holds what comes back;
``_resources`` is the glue behind ``completions.batch`` and ``chat.completions.batch``.
"""

from ._control import Concurrency, Controller
from ._resources import (
    BatchOptions,
    ChatCompletionBatchParams,
    CompletionBatchParams,
    abatch,
    batch_from_sync,
)
from ._results import (
    BatchError,
    BatchItem,
    BatchResult,
    BatchResumeFileError,
    BatchSummary,
    ItemId,
)
from ._runner import run_batch, run_batch_sync, run_sync

__all__ = [
    "BatchError",
    "BatchItem",
    "BatchOptions",
    "BatchResult",
    "BatchResumeFileError",
    "BatchSummary",
    "ChatCompletionBatchParams",
    "CompletionBatchParams",
    "Concurrency",
    "Controller",
    "ItemId",
    "abatch",
    "batch_from_sync",
    "run_batch",
    "run_batch_sync",
    "run_sync",
]
