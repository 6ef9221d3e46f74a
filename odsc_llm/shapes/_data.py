"""The numbers of :mod:`odsc_llm.shapes`: the GPU shape table and the estimates' constants.

Every number of the estimates and of the shape table lives here, apart from the code
that uses them, so that a new shape or a changed default is a one-line edit of data.
:mod:`odsc_llm.shapes` re-exports each public name (import them from there), and the
CLI's help texts read them through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..types.shapes import GPUShape

#: The GPU shapes AI Quick Actions offers: (name, GPU model, GPUs per instance,
#: GB per GPU, CUDA compute capability).
SHAPE_TABLE: tuple[tuple[str, str, int, float, float], ...] = (
    ("VM.GPU2.1", "P100", 1, 16, 6.0),
    ("VM.GPU3.1", "V100", 1, 16, 7.0),
    ("VM.GPU.A10.1", "A10", 1, 24, 8.6),
    ("BM.GPU2.2", "P100", 2, 16, 6.0),
    ("VM.GPU3.2", "V100", 2, 16, 7.0),
    ("VM.GPU.A10.2", "A10", 2, 24, 8.6),
    ("VM.GPU3.4", "V100", 4, 16, 7.0),
    ("BM.GPU.A10.4", "A10", 4, 24, 8.6),
    ("BM.GPU3.8", "V100", 8, 16, 7.0),
    ("BM.GPU.L40S.4", "L40S", 4, 48, 8.9),
    ("BM.GPU.L40S-NC.4", "L40S", 4, 48, 8.9),
    ("BM.GPU4.8", "A100", 8, 40, 8.0),
    ("BM.GPU.A100-v2.8", "A100", 8, 80, 8.0),
    ("BM.GPU.H100.8", "H100", 8, 80, 9.0),
    ("BM.GPU.H200.8", "H200", 8, 141, 9.0),
)

#: Default weights dtype of the estimates.
DEFAULT_DTYPE = "bfloat16"
#: Default KV-cache dtype (``auto``: the model's 16-bit dtype).
DEFAULT_KV_CACHE_DTYPE = "auto"
#: Default context length (prompt + answer tokens) per sequence in the estimates.
DEFAULT_CONTEXT_TOKENS = 4096
#: Default number of sequences served at once.
DEFAULT_CONCURRENCY = 1
#: Fraction of GPU memory the model server may use (vLLM's ``--gpu-memory-utilization``).
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9

#: Overhead on top of weights and KV cache: a share of the weights (activations,
#: CUDA graphs, fragmentation) plus a fixed amount (CUDA context, runtime).
OVERHEAD_FRACTION = 0.10
OVERHEAD_FIXED_GB = 1.0

#: The KV-cache rule of thumb without architecture numbers: a Llama-3-8B-style model
#: (32 layers x 8 KV heads x 128 dims, grouped-query attention); other sizes scale with
#: sqrt(params / 8B).
KV_REFERENCE_PARAMS_BILLION = 8.0
KV_REFERENCE_LAYERS = 32
KV_REFERENCE_KV_HEADS = 8
KV_REFERENCE_HEAD_DIM = 128

#: CUDA compute capabilities that decide the notes: vLLM's minimum, bfloat16, native FP8.
VLLM_MIN_COMPUTE_CAPABILITY = 7.0
BFLOAT16_MIN_COMPUTE_CAPABILITY = 8.0
NATIVE_FP8_MIN_COMPUTE_CAPABILITY = 8.9

# Weight bytes per parameter, by the names users and model servers use.
_DTYPE_GROUPS: dict[float, tuple[str, ...]] = {
    4.0: ("float32", "fp32"),
    2.0: ("bfloat16", "bf16", "float16", "fp16", "half", "auto"),
    1.0: ("int8", "fp8", "fp8_e4m3", "fp8_e5m2", "w8a8", "8bit", "q8", "q8_0"),
    0.5: ("int4", "awq", "gptq", "q4", "q4_0", "q4_k_m", "nf4", "4bit", "w4a16"),
}
#: dtype name -> bytes per parameter of the weights.
DTYPE_BYTES: Mapping[str, float] = MappingProxyType(
    {name: size for size, names in _DTYPE_GROUPS.items() for name in names}
)
#: KV-cache dtype name -> bytes per element.
KV_CACHE_DTYPE_BYTES: Mapping[str, float] = MappingProxyType(
    {"auto": 2.0, "bfloat16": 2.0, "float16": 2.0, "fp8": 1.0, "fp8_e4m3": 1.0, "fp8_e5m2": 1.0}
)


_SHAPE_FIELDS = ("name", "gpu_model", "gpu_count", "gpu_memory_gb", "compute_capability")
_ALL_SHAPES = tuple(GPUShape(**dict(zip(_SHAPE_FIELDS, row, strict=True))) for row in SHAPE_TABLE)

#: The GPU shapes AI Quick Actions offers, by name (read-only).
SHAPES: Mapping[str, GPUShape] = MappingProxyType({s.name: s for s in _ALL_SHAPES})
