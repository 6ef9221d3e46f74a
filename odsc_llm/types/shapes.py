"""The models of :mod:`odsc_llm.shapes`: a GPU shape, a memory estimate, a fit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, computed_field

__all__ = ["FitResult", "GPUShape", "MemoryEstimate"]


class GPUShape(BaseModel):
    """One compute shape: its name and GPUs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The OCI shape name, e.g. ``VM.GPU.A10.1``.
    name: str
    #: The GPU model, e.g. ``A10``, ``A100``, ``H100``.
    gpu_model: str
    #: GPUs per instance.
    gpu_count: int
    #: Memory of each GPU, in GB.
    gpu_memory_gb: float
    #: CUDA compute capability (see the ``*_COMPUTE_CAPABILITY`` constants: bfloat16,
    #: native FP8, and vLLM's minimum).
    compute_capability: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_gpu_memory_gb(self) -> float:
        """All GPUs' memory together, in GB (a model is split across them)."""
        return self.gpu_count * self.gpu_memory_gb

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.gpu_count} x {self.gpu_model} {self.gpu_memory_gb:g} GB = "
            f"{self.total_gpu_memory_gb:g} GB)"
        )


class MemoryEstimate(BaseModel):
    """The GPU memory a model needs, broken down (all sizes in GB = 10⁹ bytes)."""

    model_config = ConfigDict(frozen=True)

    params_billion: float
    dtype: str
    bytes_per_param: float
    context_tokens: int
    concurrency: int
    #: Model weights: parameters x bytes per parameter.
    weights_gb: float
    #: KV cache for ``concurrency`` sequences of ``context_tokens`` tokens each.
    kv_cache_gb: float
    #: Activations, CUDA graphs and runtime.
    overhead_gb: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_gb(self) -> float:
        """Weights + KV cache + overhead."""
        return self.weights_gb + self.kv_cache_gb + self.overhead_gb

    def __str__(self) -> str:
        return (
            f"{self.params_billion:g}B params in {self.dtype}: ~{self.total_gb:.1f} GB "
            f"(weights {self.weights_gb:.1f} + KV cache {self.kv_cache_gb:.1f} for "
            f"{self.concurrency} x {self.context_tokens} tokens + overhead {self.overhead_gb:.1f})"
        )


class FitResult(BaseModel):
    """Whether a model fits a shape; ``reason`` says why not (``None`` when it fits)."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    shape: GPUShape
    estimate: MemoryEstimate
    #: GPU memory the model server may use: total x ``gpu_memory_utilization``.
    usable_gb: float
    reason: str | None = None
    #: Caveats that do not decide the fit (e.g. no bfloat16 on V100).
    notes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.ok
