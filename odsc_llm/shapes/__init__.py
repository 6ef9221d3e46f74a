"""Compute shapes for AI Quick Actions, and a "does this model fit" estimate.

The table lists the GPU shapes that OCI Data Science model deployments offer for LLMs,
with their GPU model, count and memory. The estimate is a rule of thumb, good for
choosing a shape before deploying; the model server's own log line (vLLM's
"model weights took X GiB", "KV cache ... GiB") is the final word.

>>> from odsc_llm import shapes
>>> shapes.estimate_memory(7).weights_gb          # 7B parameters at 16 bits
14.0
>>> shapes.recommend_shapes(7)[0].name
'VM.GPU.A10.1'
>>> print(shapes.format_table(params_billion=7))  # what `odsc-llm shapes --params 7` prints
...

Units: ``GB`` means 10⁹ bytes for estimates, and the vendor's nominal figure for GPU
memory (an "A10 24 GB"); the ``gpu_memory_utilization`` margin (0.9, vLLM's default)
absorbs the difference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

# The constants: every number of the estimates and of the shape table is in
# shapes/_data.py; the functions below (and the CLI's help texts) read them from here.
from .._errors import InvalidRequestError
from ..types.shapes import FitResult, GPUShape, MemoryEstimate
from ._data import BFLOAT16_MIN_COMPUTE_CAPABILITY as BFLOAT16_MIN_COMPUTE_CAPABILITY
from ._data import DEFAULT_CONCURRENCY as DEFAULT_CONCURRENCY
from ._data import DEFAULT_CONTEXT_TOKENS as DEFAULT_CONTEXT_TOKENS
from ._data import DEFAULT_DTYPE as DEFAULT_DTYPE
from ._data import DEFAULT_GPU_MEMORY_UTILIZATION as DEFAULT_GPU_MEMORY_UTILIZATION
from ._data import DEFAULT_KV_CACHE_DTYPE as DEFAULT_KV_CACHE_DTYPE
from ._data import DTYPE_BYTES as DTYPE_BYTES
from ._data import KV_CACHE_DTYPE_BYTES as KV_CACHE_DTYPE_BYTES
from ._data import KV_REFERENCE_HEAD_DIM as KV_REFERENCE_HEAD_DIM
from ._data import KV_REFERENCE_KV_HEADS as KV_REFERENCE_KV_HEADS
from ._data import KV_REFERENCE_LAYERS as KV_REFERENCE_LAYERS
from ._data import KV_REFERENCE_PARAMS_BILLION as KV_REFERENCE_PARAMS_BILLION
from ._data import NATIVE_FP8_MIN_COMPUTE_CAPABILITY as NATIVE_FP8_MIN_COMPUTE_CAPABILITY
from ._data import OVERHEAD_FIXED_GB as OVERHEAD_FIXED_GB
from ._data import OVERHEAD_FRACTION as OVERHEAD_FRACTION
from ._data import SHAPE_TABLE as SHAPE_TABLE
from ._data import SHAPES as SHAPES
from ._data import VLLM_MIN_COMPUTE_CAPABILITY as VLLM_MIN_COMPUTE_CAPABILITY

__all__ = [
    "DTYPE_BYTES",
    "SHAPES",
    "FitResult",
    "GPUShape",
    "MemoryEstimate",
    "estimate_memory",
    "estimate_memory_gb",
    "fits",
    "format_table",
    "get_shape",
    "list_shapes",
    "recommend_shapes",
    "shape_notes",
]

_GB = 1e9
# K and V elements per token of the reference model (times the KV dtype's bytes).
_KV_REFERENCE_ELEMENTS_PER_TOKEN = (
    2 * KV_REFERENCE_LAYERS * KV_REFERENCE_KV_HEADS * KV_REFERENCE_HEAD_DIM
)


def _size_key(shape: GPUShape) -> tuple[float, int, str]:
    return (shape.total_gpu_memory_gb, shape.gpu_count, shape.name)


def list_shapes() -> list[GPUShape]:
    """All known GPU shapes, smallest total GPU memory first."""
    return sorted(SHAPES.values(), key=_size_key)


def get_shape(name: str | GPUShape) -> GPUShape:
    """The shape called ``name`` (case-insensitive); a ``GPUShape`` is returned as is.

    Raises ``ValueError`` naming the known shapes when the name is unknown.
    """
    if isinstance(name, GPUShape):
        return name
    wanted = str(name).strip().lower()
    for shape in SHAPES.values():
        if shape.name.lower() == wanted:
            return shape
    raise InvalidRequestError(
        f"Unknown shape {name!r}. Known GPU shapes: {', '.join(s.name for s in list_shapes())}."
    )


def _bytes_per_param(dtype: str) -> float:
    key = str(dtype).strip().lower().replace("-", "_")
    if key in DTYPE_BYTES:
        return DTYPE_BYTES[key]
    raise InvalidRequestError(
        f"Unknown dtype {dtype!r}. Valid: {', '.join(sorted(DTYPE_BYTES))} "
        "(16-bit: 2 bytes per parameter, 8-bit: 1, 4-bit: 0.5, float32: 4)."
    )


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidRequestError(f"{name} must be a positive number, got {value!r}.")
    if not math.isfinite(value):
        raise InvalidRequestError(f"{name} must be finite, got {value!r}.")


def estimate_memory(
    params_billion: float,
    dtype: str = DEFAULT_DTYPE,
    *,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    concurrency: int = DEFAULT_CONCURRENCY,
    kv_cache_dtype: str = DEFAULT_KV_CACHE_DTYPE,
    num_layers: int | None = None,
    num_kv_heads: int | None = None,
    head_dim: int | None = None,
) -> MemoryEstimate:
    """Estimate the GPU memory needed to serve a model, with the breakdown.

    - **Weights**: ``params_billion`` x bytes per parameter: 2 for 16-bit dtypes
      (``bfloat16``, ``float16``), 1 for 8-bit (``int8``, ``fp8``), 0.5 for 4-bit
      (``int4``, ``awq``, ``gptq``, ``q4``), 4 for ``float32``. So 7B in 16-bit needs
      at least 14 GB for its weights alone.
    - **KV cache**: per token, ``2 x num_layers x num_kv_heads x head_dim`` elements
      (K and V) at 2 bytes (1 with ``kv_cache_dtype="fp8"``), times ``context_tokens`` x
      ``concurrency``. Without the architecture numbers a rule of thumb for Llama-style
      models with grouped-query attention is used: 128 KiB per token at 8B, scaled by
      ``sqrt(params / 8B)``. Older models without grouped-query attention (Llama 2 7B)
      use about 4x more: pass the architecture for those.
    - **Overhead**: 10% of the weights plus 1 GB (activations, CUDA graphs, runtime).

    Quantized models (AWQ, GPTQ) keep a 16-bit KV cache unless ``kv_cache_dtype`` says
    otherwise. Raises ``ValueError`` for an unknown dtype (listing the valid ones) or a
    non-positive size.
    """
    _check_positive("params_billion", params_billion)
    _check_positive("context_tokens", context_tokens)
    _check_positive("concurrency", concurrency)
    bytes_per_param = _bytes_per_param(dtype)
    kv_key = str(kv_cache_dtype).strip().lower().replace("-", "_")
    if kv_key not in KV_CACHE_DTYPE_BYTES:
        raise InvalidRequestError(
            f"Unknown kv_cache_dtype {kv_cache_dtype!r}. Valid: {', '.join(KV_CACHE_DTYPE_BYTES)}."
        )
    kv_bytes = KV_CACHE_DTYPE_BYTES[kv_key]
    if num_layers is not None and num_kv_heads is not None and head_dim is not None:
        _check_positive("num_layers", num_layers)
        _check_positive("num_kv_heads", num_kv_heads)
        _check_positive("head_dim", head_dim)
        kv_per_token = 2.0 * num_layers * num_kv_heads * head_dim * kv_bytes
    elif (num_layers, num_kv_heads, head_dim) != (None, None, None):
        raise InvalidRequestError(
            "Pass all of num_layers, num_kv_heads and head_dim, or none of them."
        )
    else:
        scale = math.sqrt(params_billion / KV_REFERENCE_PARAMS_BILLION)
        kv_per_token = _KV_REFERENCE_ELEMENTS_PER_TOKEN * scale * kv_bytes
    weights_gb = params_billion * 1e9 * bytes_per_param / _GB
    kv_cache_gb = kv_per_token * context_tokens * concurrency / _GB
    overhead_gb = OVERHEAD_FRACTION * weights_gb + OVERHEAD_FIXED_GB
    return MemoryEstimate(
        params_billion=float(params_billion),
        dtype=str(dtype),
        bytes_per_param=bytes_per_param,
        context_tokens=int(context_tokens),
        concurrency=int(concurrency),
        weights_gb=weights_gb,
        kv_cache_gb=kv_cache_gb,
        overhead_gb=overhead_gb,
    )


def estimate_memory_gb(
    params_billion: float,
    dtype: str = DEFAULT_DTYPE,
    *,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    concurrency: int = DEFAULT_CONCURRENCY,
    kv_cache_dtype: str = DEFAULT_KV_CACHE_DTYPE,
    num_layers: int | None = None,
    num_kv_heads: int | None = None,
    head_dim: int | None = None,
) -> float:
    """Total GB from :func:`estimate_memory` (weights + KV cache + overhead)."""
    return estimate_memory(
        params_billion,
        dtype,
        context_tokens=context_tokens,
        concurrency=concurrency,
        kv_cache_dtype=kv_cache_dtype,
        num_layers=num_layers,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
    ).total_gb


def shape_notes(shape: str | GPUShape, dtype: str = DEFAULT_DTYPE) -> tuple[str, ...]:
    """Caveats of serving ``dtype`` weights on ``shape`` that do not decide the fit.

    vLLM's minimum compute capability, no bfloat16 before Ampere, no native FP8 before
    Ada/Hopper: what :func:`fits` puts in ``notes`` and ``odsc-llm shapes`` prints.
    """
    gpu_shape = get_shape(shape)
    gpu, capability = gpu_shape.gpu_model, gpu_shape.compute_capability
    key = dtype.strip().lower().replace("-", "_")
    notes: list[str] = []
    if capability < VLLM_MIN_COMPUTE_CAPABILITY:
        notes.append(
            f"{gpu} (compute capability {capability:g}) is below vLLM's minimum "
            f"{VLLM_MIN_COMPUTE_CAPABILITY:.1f}: use a llama.cpp container on this shape."
        )
    if key in ("bfloat16", "bf16") and capability < BFLOAT16_MIN_COMPUTE_CAPABILITY:
        notes.append(f"{gpu} has no bfloat16: the server will run float16.")
    if key.startswith("fp8") and capability < NATIVE_FP8_MIN_COMPUTE_CAPABILITY:
        notes.append(
            f"{gpu} has no native FP8: expect weight-only FP8 (slower), "
            "or no FP8 support at all before Ampere."
        )
    return tuple(notes)


def fits(
    shape: str | GPUShape,
    params_billion: float,
    dtype: str = DEFAULT_DTYPE,
    *,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    concurrency: int = DEFAULT_CONCURRENCY,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    kv_cache_dtype: str = DEFAULT_KV_CACHE_DTYPE,
    num_layers: int | None = None,
    num_kv_heads: int | None = None,
    head_dim: int | None = None,
) -> FitResult:
    """Whether a model fits ``shape`` (a name or a :class:`GPUShape`).

    The model is assumed split over all the shape's GPUs (tensor parallelism), so it fits
    when :func:`estimate_memory`'s total is at most the shape's total GPU memory x
    ``gpu_memory_utilization``. The result is truthy when it fits; ``reason`` says why
    not, and ``notes`` lists caveats (dtype support, minimum compute capability).
    """
    gpu_shape = get_shape(shape)
    if not 0 < gpu_memory_utilization <= 1:
        raise InvalidRequestError(
            f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization!r}."
        )
    estimate = estimate_memory(
        params_billion,
        dtype,
        context_tokens=context_tokens,
        concurrency=concurrency,
        kv_cache_dtype=kv_cache_dtype,
        num_layers=num_layers,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
    )
    usable = gpu_shape.total_gpu_memory_gb * gpu_memory_utilization
    ok = estimate.total_gb <= usable
    reason = None
    if not ok:
        if estimate.weights_gb > usable:
            what = f"The weights alone ({estimate.weights_gb:.1f} GB) exceed"
        else:
            what = (
                f"It needs ~{estimate.total_gb:.1f} GB (weights {estimate.weights_gb:.1f} + "
                f"KV cache {estimate.kv_cache_gb:.1f} + overhead {estimate.overhead_gb:.1f}), "
                "more than"
            )
        reason = (
            f"{what} the {usable:.1f} GB usable on {gpu_shape.name} "
            f"({gpu_shape.gpu_count} x {gpu_shape.gpu_memory_gb:g} GB at "
            f"{gpu_memory_utilization:.0%}). Try a bigger shape, 4-bit weights (awq, gptq), "
            "or fewer context tokens / concurrent sequences."
        )
    return FitResult(
        ok=ok,
        shape=gpu_shape,
        estimate=estimate,
        usable_gb=usable,
        reason=reason,
        notes=shape_notes(gpu_shape, dtype),
    )


def recommend_shapes(
    params_billion: float,
    dtype: str = DEFAULT_DTYPE,
    *,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    concurrency: int = DEFAULT_CONCURRENCY,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    kv_cache_dtype: str = DEFAULT_KV_CACHE_DTYPE,
    shapes: Iterable[str | GPUShape] | None = None,
) -> list[GPUShape]:
    """The shapes (all known ones, or ``shapes``) the model fits, smallest first.

    "Smallest" is by total GPU memory, then GPU count. An empty list means nothing
    fits: try a quantized ``dtype`` (``"awq"``, ``"fp8"``) or a shorter context.
    """
    candidates = list_shapes() if shapes is None else [get_shape(s) for s in shapes]
    result = [
        s
        for s in candidates
        if fits(
            s,
            params_billion,
            dtype,
            context_tokens=context_tokens,
            concurrency=concurrency,
            gpu_memory_utilization=gpu_memory_utilization,
            kv_cache_dtype=kv_cache_dtype,
        ).ok
    ]
    return sorted(result, key=_size_key)


def format_table(
    shapes: Iterable[str | GPUShape] | None = None,
    *,
    params_billion: float | None = None,
    dtype: str = DEFAULT_DTYPE,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    concurrency: int = DEFAULT_CONCURRENCY,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    kv_cache_dtype: str = DEFAULT_KV_CACHE_DTYPE,
) -> str:
    """A plain-text table of shapes (smallest first), for terminals and the CLI.

    With ``params_billion`` it starts with the memory estimate and adds a "fits" column
    (``yes``, or ``no`` with the GB missing). When a listed shape has caveats for
    ``dtype`` (:func:`shape_notes`), a "notes" column refers to them by number and they
    are listed under the table.
    """
    rows_shapes = sorted(
        list_shapes() if shapes is None else [get_shape(s) for s in shapes], key=_size_key
    )
    header = ["SHAPE", "GPU", "GPUS", "GB/GPU", "TOTAL GB"]
    rows: list[list[str]] = []
    lines: list[str] = []
    footnotes: list[str] = []  # numbered in order of first appearance
    sizing = {"context_tokens": context_tokens, "concurrency": concurrency}
    if params_billion is not None:
        header.append("FITS")
        estimate = estimate_memory(params_billion, dtype, **sizing, kv_cache_dtype=kv_cache_dtype)
        lines.append(f"Estimate: {estimate}")
        lines.append(f"Usable GPU memory: {gpu_memory_utilization:.0%} of each shape's total.")
        lines.append("")
    for shape in rows_shapes:
        row = [
            shape.name,
            shape.gpu_model,
            str(shape.gpu_count),
            f"{shape.gpu_memory_gb:g}",
            f"{shape.total_gpu_memory_gb:g}",
        ]
        if params_billion is not None:
            result = fits(
                shape,
                params_billion,
                dtype,
                **sizing,
                gpu_memory_utilization=gpu_memory_utilization,
                kv_cache_dtype=kv_cache_dtype,
            )
            short = result.estimate.total_gb - result.usable_gb
            row.append("yes" if result.ok else f"no (-{short:.1f} GB)")
        refs: list[str] = []
        for note in shape_notes(shape, dtype):
            if note not in footnotes:
                footnotes.append(note)
            refs.append(str(footnotes.index(note) + 1))
        row.append(", ".join(refs))
        rows.append(row)
    if footnotes:
        header.append("NOTES")
    else:
        rows = [row[:-1] for row in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = {2, 3, 4}

    def render(cells: list[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    lines.append(render(header))
    lines.extend(render(r) for r in rows)
    if footnotes:
        lines.append("")
        lines.extend(f"{number}. {note}" for number, note in enumerate(footnotes, 1))
    return "\n".join(lines)
