"""``shapes``: the GPU shapes, and which ones a model fits (with their caveats)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._base import EXIT_OK, Output, UsageError, int_at_least, number_in


def add_shapes(p: argparse.ArgumentParser) -> None:
    from .. import shapes

    p.description = (
        "List the GPU shapes of model deployments, with the caveats of each for the dtype "
        "(vLLM's minimum compute capability, no bfloat16...); with --params, estimate the "
        "GPU memory a model needs and show which shapes it fits (a rule of thumb: see "
        "odsc_llm.shapes)."
    )
    p.add_argument(
        "--params",
        type=number_in(0, low_open=True),
        metavar="BILLIONS",
        help="model size in billions of parameters",
    )
    p.add_argument(
        "--dtype",
        default=shapes.DEFAULT_DTYPE,
        help="weights dtype: bfloat16, float16, fp8, int8, awq, gptq, int4... (%(default)s)",
    )
    p.add_argument(
        "--context-tokens",
        type=int_at_least(1),
        default=shapes.DEFAULT_CONTEXT_TOKENS,
        metavar="N",
        help="context length per sequence (%(default)s)",
    )
    p.add_argument(
        "--concurrency",
        type=int_at_least(1),
        default=shapes.DEFAULT_CONCURRENCY,
        metavar="N",
        help="sequences served at once (%(default)s)",
    )
    p.add_argument(
        "--kv-cache-dtype",
        choices=tuple(shapes.KV_CACHE_DTYPE_BYTES),
        default=shapes.DEFAULT_KV_CACHE_DTYPE,
        metavar="DTYPE",
        help="KV-cache dtype: %(choices)s (%(default)s)",
    )
    p.add_argument(
        "--gpu-memory-utilization",
        type=number_in(0, 1, low_open=True),
        default=shapes.DEFAULT_GPU_MEMORY_UTILIZATION,
        metavar="FRACTION",
        help="share of GPU memory the server may use (%(default)s)",
    )
    p.add_argument(
        "--shape", action="append", metavar="NAME", help="only this shape (repeat for several)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print JSON: the shapes (with --params: the estimate, which fit, the smallest)",
    )
    p.set_defaults(handler=_cmd_shapes)


def _cmd_shapes(args: argparse.Namespace, out: Output) -> int:
    from .. import shapes

    options = {
        "dtype": args.dtype,
        "context_tokens": args.context_tokens,
        "concurrency": args.concurrency,
        "kv_cache_dtype": args.kv_cache_dtype,
        "gpu_memory_utilization": args.gpu_memory_utilization,
    }
    try:
        if args.json:
            out.line(json.dumps(shapes_json(args.shape, args.params, options), indent=2))
            return EXIT_OK
        out.line(shapes.format_table(args.shape, params_billion=args.params, **options))
        if args.params is not None:
            fitting = shapes.recommend_shapes(args.params, shapes=args.shape, **options)
            if fitting:
                out.line(f"\nSmallest shape that fits: {fitting[0].name}")
            else:
                out.line(
                    "\nNo listed shape fits: try a quantized --dtype (fp8, awq), a shorter "
                    "--context-tokens, or a lower --concurrency."
                )
    except ValueError as exc:  # an unknown --dtype or --shape: the message lists the valid ones
        raise UsageError(str(exc)) from None
    return EXIT_OK


def shapes_json(
    names: list[str] | None, params_billion: float | None, options: dict[str, Any]
) -> dict[str, Any]:
    """What ``shapes --json`` prints: the table's rows (and fit) as data, smallest first."""
    from .. import shapes

    listed = shapes.list_shapes() if names is None else [shapes.get_shape(n) for n in names]
    chosen = {s.name for s in listed}
    dtype = options["dtype"]
    rows: list[dict[str, Any]] = []
    data: dict[str, Any] = {"dtype": dtype, "shapes": rows}
    for shape in (s for s in shapes.list_shapes() if s.name in chosen):
        row = shape.model_dump(mode="json")
        row["notes"] = list(shapes.shape_notes(shape, dtype))
        if params_billion is not None:
            fit = shapes.fits(shape, params_billion, **options)
            row.update(fits=fit.ok, usable_gb=fit.usable_gb, reason=fit.reason)
            data["estimate"] = fit.estimate.model_dump(mode="json")
        rows.append(row)
    if params_billion is not None:
        fitting = [row["name"] for row in rows if row["fits"]]
        data["smallest_fit"] = fitting[0] if fitting else None
    return data
