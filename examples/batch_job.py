"""A resumable batch job: many prompts, adaptive concurrency, a JSONL file of done items.

    pip install 'odsc-llm[batch]'
    python examples/batch_job.py prompts.txt --deployment <URL or OCID> --resume done.jsonl
    python examples/batch_job.py --local --count 200      # against the local emulator
    python examples/batch_job.py --local --count 600 --throttled   # ... at its limits

Concurrency adapts to what the deployment sustains (--concurrency auto, the default;
or a number); --rate-limit 150 paces the job under the tenancy's request rate when
other jobs share it. Press Ctrl-C (or kill it) half-way and run it again with the same
--resume file: the prompts already answered are not sent again. Per-item retries
follow --max-retries; items that still fail are listed at the end (and sent again on
the next run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, Literal

import odsc_llm


@contextlib.contextmanager
def client_for(args: argparse.Namespace) -> Iterator[odsc_llm.Client]:
    if args.local:
        from odsc_llm.testing import LocalDeployment

        limits: dict[str, Any] = {}
        if args.throttled:  # a deployment at its limits: 429 above 50/s, 503 when full
            limits = {"capacity": 16, "rate_limit": 50, "queue_size": 16, "token_delay": 0.02}
        with LocalDeployment(**limits) as local:
            yield odsc_llm.Client(local.deployment, auth=local.auth, max_retries=args.max_retries)
    else:
        # auth=None: odsc_llm.auth.default() (resource principal in jobs, else ~/.oci/config)
        yield odsc_llm.Client(args.deployment, max_retries=args.max_retries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompts", nargs="?", help="a text file, one prompt per line")
    parser.add_argument("--deployment", help="deployment URL or OCID")
    parser.add_argument(
        "--local",
        action="store_true",
        default=os.environ.get("ODSC_LLM_LOCAL") == "1",
        help="use the local emulator (also: ODSC_LLM_LOCAL=1)",
    )
    parser.add_argument("--count", type=int, default=100, help="prompts to make up (--local)")
    parser.add_argument("--resume", default=None, help="JSONL file of done items")
    parser.add_argument("--throttled", action="store_true", help="--local at its limits")
    parser.add_argument(
        "--concurrency", default="auto", help='"auto" (adaptive, default) or a number'
    )
    parser.add_argument("--max-concurrency", type=int, default=256)
    parser.add_argument("--rate-limit", type=float, default=None, help="requests/s cap")
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()

    if args.prompts:
        with open(args.prompts, encoding="utf-8") as handle:
            prompts = [line.strip() for line in handle if line.strip()]
    elif args.local:
        prompts = [f"Summarise item {i} in one line." for i in range(args.count)]
    else:
        parser.error("give a prompts file (and --deployment), or --local")
    if not args.local and not args.deployment:
        parser.error("--deployment is required unless --local")

    with client_for(args) as client:
        concurrency: int | Literal["auto"] = (
            "auto" if args.concurrency == "auto" else int(args.concurrency)
        )
        result = client.completions.batch(
            prompts,
            concurrency=concurrency,
            max_concurrency=args.max_concurrency,
            rate_limit=args.rate_limit,
            resume_file=args.resume,
            progress=True,
            max_tokens=args.max_tokens,
        )
    print(result.summary)
    for item in result.errors[:20]:
        error = item.error
        if error is not None:  # always set on an item in result.errors
            print(f"  item {item.id}: {error.type}: {error.message}", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
