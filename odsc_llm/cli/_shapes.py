"""``shapes``: the GPU shapes, and which ones a model fits (with their caveats)."""

from __future__ import annotations

import argparse

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
