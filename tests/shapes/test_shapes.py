"""The shape table, the memory estimate, fits and recommendations."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from odsc_llm import shapes
from odsc_llm.shapes import GPUShape

EXPECTED = {
    # name: (gpu model, count, GB per GPU)
    "VM.GPU.A10.1": ("A10", 1, 24),
    "VM.GPU.A10.2": ("A10", 2, 24),
    "BM.GPU.A10.4": ("A10", 4, 24),
    "VM.GPU2.1": ("P100", 1, 16),
    "VM.GPU3.1": ("V100", 1, 16),
    "VM.GPU3.2": ("V100", 2, 16),
    "VM.GPU3.4": ("V100", 4, 16),
    "BM.GPU.A100-v2.8": ("A100", 8, 80),
    "BM.GPU4.8": ("A100", 8, 40),
    "BM.GPU.H100.8": ("H100", 8, 80),
    "BM.GPU.L40S.4": ("L40S", 4, 48),
    "BM.GPU.H200.8": ("H200", 8, 141),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_table_has_the_aqua_shapes(name: str) -> None:
    shape = shapes.SHAPES[name]
    gpu, count, memory = EXPECTED[name]
    assert (shape.gpu_model, shape.gpu_count, shape.gpu_memory_gb) == (gpu, count, memory)
    assert shape.total_gpu_memory_gb == count * memory
    assert shape.model_dump()["total_gpu_memory_gb"] == count * memory


def test_shapes_are_frozen_and_listed_smallest_first() -> None:
    shape = shapes.get_shape("VM.GPU.A10.1")
    with pytest.raises(ValidationError):
        shape.gpu_count = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        shapes.SHAPES["X"] = shape  # type: ignore[index]
    totals = [s.total_gpu_memory_gb for s in shapes.list_shapes()]
    assert totals == sorted(totals)
    assert str(shape) == "VM.GPU.A10.1 (1 x A10 24 GB = 24 GB)"


def test_get_shape_is_case_insensitive_and_names_the_known_ones() -> None:
    assert shapes.get_shape("vm.gpu.a10.2").name == "VM.GPU.A10.2"
    custom = GPUShape(
        name="X.GPU.1", gpu_model="X", gpu_count=1, gpu_memory_gb=8, compute_capability=8.0
    )
    assert shapes.get_shape(custom) is custom
    with pytest.raises(ValueError, match=r"Unknown shape 'VM\.GPU\.A10\.3'.*VM\.GPU\.A10\.1"):
        shapes.get_shape("VM.GPU.A10.3")


def test_seed_rule_7b_in_16_bit_needs_at_least_14_gb() -> None:
    for dtype in ("bfloat16", "float16", "fp16", "BF16"):
        estimate = shapes.estimate_memory(7, dtype)
        assert estimate.weights_gb == pytest.approx(14.0)
        assert estimate.total_gb >= 14.0
    assert shapes.estimate_memory_gb(7) == shapes.estimate_memory(7).total_gb >= 14.0


@pytest.mark.parametrize(
    ("dtype", "weights"),
    [("int8", 7.0), ("fp8", 7.0), ("int4", 3.5), ("awq", 3.5), ("gptq", 3.5), ("q4", 3.5)],
)
def test_weights_by_dtype(dtype: str, weights: float) -> None:
    assert shapes.estimate_memory(7, dtype).weights_gb == pytest.approx(weights)


def test_unknown_dtype_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"Unknown dtype 'int3'.*bfloat16.*gptq"):
        shapes.estimate_memory(7, "int3")
    with pytest.raises(ValueError, match="kv_cache_dtype"):
        shapes.estimate_memory(7, kv_cache_dtype="int2")


@pytest.mark.parametrize("bad", [0, -7, float("nan"), float("inf"), "7", True])
def test_params_must_be_a_positive_number(bad: object) -> None:
    with pytest.raises(ValueError, match="params_billion"):
        shapes.estimate_memory(bad)  # type: ignore[arg-type]


def test_kv_cache_scales_with_context_and_concurrency() -> None:
    base = shapes.estimate_memory(8, context_tokens=4096)
    assert shapes.estimate_memory(8, context_tokens=8192).kv_cache_gb == pytest.approx(
        2 * base.kv_cache_gb
    )
    assert shapes.estimate_memory(8, concurrency=4).kv_cache_gb == pytest.approx(
        4 * base.kv_cache_gb
    )
    assert shapes.estimate_memory(8, kv_cache_dtype="fp8").kv_cache_gb == pytest.approx(
        base.kv_cache_gb / 2
    )
    # 4-bit weights keep a 16-bit KV cache
    assert shapes.estimate_memory(8, "awq").kv_cache_gb == pytest.approx(base.kv_cache_gb)
    # overhead: 10% of the weights + 1 GB
    assert base.overhead_gb == pytest.approx(0.1 * 16 + 1.0)


def test_kv_cache_from_the_architecture() -> None:
    # Llama 3 8B: 32 layers, 8 KV heads, 128 dims: 2*32*8*128*2 = 131072 bytes per token
    exact = shapes.estimate_memory(
        8, context_tokens=8192, num_layers=32, num_kv_heads=8, head_dim=128
    )
    assert exact.kv_cache_gb == pytest.approx(131072 * 8192 / 1e9)
    # the rule of thumb gives the same at 8B
    assert shapes.estimate_memory(8, context_tokens=8192).kv_cache_gb == pytest.approx(
        exact.kv_cache_gb
    )
    with pytest.raises(ValueError, match="all of num_layers"):
        shapes.estimate_memory(8, num_layers=32)


def test_fits_and_reasons() -> None:
    ok = shapes.fits("VM.GPU.A10.1", 7)
    assert ok.ok and bool(ok) and ok.reason is None
    assert ok.usable_gb == pytest.approx(24 * 0.9)

    too_big = shapes.fits("VM.GPU.A10.1", 13)
    assert not too_big.ok and not too_big
    assert too_big.reason is not None
    assert "weights alone (26.0 GB)" in too_big.reason and "VM.GPU.A10.1" in too_big.reason
    assert "21.6 GB usable" in too_big.reason

    tight = shapes.fits("VM.GPU3.1", 7)  # weights fit in 16 GB, the rest does not
    assert not tight.ok and tight.reason is not None
    assert "needs ~16.9 GB" in tight.reason and "KV cache" in tight.reason
    assert any("bfloat16" in note for note in tight.notes)

    assert shapes.fits("VM.GPU3.1", 7, "awq").ok
    assert any("vLLM" in note for note in shapes.fits("VM.GPU2.1", 1).notes)
    with pytest.raises(ValueError, match="gpu_memory_utilization"):
        shapes.fits("VM.GPU.A10.1", 7, gpu_memory_utilization=1.5)


def test_recommend_shapes_smallest_first() -> None:
    names = [s.name for s in shapes.recommend_shapes(7)]
    assert names[0] == "VM.GPU.A10.1"
    assert "VM.GPU3.1" not in names
    recommended = shapes.recommend_shapes(70)
    assert recommended[0].name.startswith("BM.GPU.L40S")
    assert "BM.GPU.A10.4" not in [s.name for s in recommended]
    totals = [s.total_gpu_memory_gb for s in recommended]
    assert totals == sorted(totals)
    assert shapes.recommend_shapes(70, "awq")[0].name == "VM.GPU.A10.2"
    assert shapes.recommend_shapes(2000) == []
    only = shapes.recommend_shapes(7, shapes=["BM.GPU.H100.8", "VM.GPU.A10.2"])
    assert [s.name for s in only] == ["VM.GPU.A10.2", "BM.GPU.H100.8"]


def test_format_table() -> None:
    plain = shapes.format_table()
    lines = plain.split("\n\n")[0].splitlines()  # the table; the notes follow it
    # (the NOTES column is new: the P100 and V100 shapes have caveats for bfloat16)
    assert lines[0].split() == ["SHAPE", "GPU", "GPUS", "GB/GPU", "TOTAL", "GB", "NOTES"]
    assert len(lines) == 1 + len(shapes.SHAPES)
    assert any(line.split()[:5] == ["BM.GPU.H200.8", "H200", "8", "141", "1128"] for line in lines)

    table = shapes.format_table(params_billion=7)
    assert table.startswith("Estimate: 7B params in bfloat16: ~16.9 GB")
    rows = {line.split()[0]: line for line in table.splitlines()[3:] if line}
    assert rows["SHAPE"].split()[-2:] == ["FITS", "NOTES"]
    assert rows["VM.GPU.A10.1"].rstrip().endswith("yes")
    assert "no (-2.5 GB)" in rows["VM.GPU3.1"]

    subset = shapes.format_table(["VM.GPU.A10.2", "VM.GPU.A10.1"])
    assert [line.split()[0] for line in subset.splitlines()[1:]] == ["VM.GPU.A10.1", "VM.GPU.A10.2"]


def test_table_shows_the_notes_fits_knows() -> None:
    """P100 and V100 rows refer to the caveats of fits() instead of a bare "yes"."""
    table = shapes.format_table(params_billion=1)
    body, notes = table.split("\n\n")[1:]
    rows = {line.split()[0]: line for line in body.splitlines()}
    numbered = dict(line.split(". ", 1) for line in notes.splitlines())
    for name in ("VM.GPU2.1", "VM.GPU3.1", "BM.GPU3.8"):
        result = shapes.fits(name, 1)
        assert result.ok and result.notes
        refs = rows[name].split("yes", 1)[1].strip().split(", ")
        assert [numbered[ref] for ref in refs] == list(result.notes)
    assert rows["VM.GPU.A10.1"].rstrip().endswith("yes")  # no caveat: no reference
    assert any("below vLLM's minimum 7.0" in note for note in numbered.values())
    assert any("V100 has no bfloat16" in note for note in numbered.values())
    # Notes follow the dtype: float16 has no bfloat16 caveat; fp8 has its own.
    assert "bfloat16" not in shapes.format_table(["VM.GPU3.1"], dtype="float16")
    assert "native FP8" in shapes.format_table(["VM.GPU.A10.1"], dtype="fp8")
    assert shapes.shape_notes("VM.GPU.A10.1") == ()


def test_defaults_come_from_the_constants_block() -> None:
    import inspect

    for function in (shapes.estimate_memory, shapes.fits, shapes.format_table):
        parameters = inspect.signature(function).parameters
        assert parameters["dtype"].default == shapes.DEFAULT_DTYPE
        assert parameters["context_tokens"].default == shapes.DEFAULT_CONTEXT_TOKENS
        assert parameters["concurrency"].default == shapes.DEFAULT_CONCURRENCY
        assert parameters["kv_cache_dtype"].default == shapes.DEFAULT_KV_CACHE_DTYPE
    assert [s.name for s in shapes.list_shapes()] == sorted(
        (row[0] for row in shapes.SHAPE_TABLE),
        key=lambda name: (
            shapes.SHAPES[name].total_gpu_memory_gb,
            shapes.SHAPES[name].gpu_count,
            name,
        ),
    )
