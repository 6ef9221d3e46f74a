"""Spread a batch over a Ray Data cluster: one odsc_llm client per Ray worker.

    pip install 'odsc-llm[ray]'
    python examples/ray_batch.py --deployment <URL or OCID> --workers 4 --rate-limit 150
    python examples/ray_batch.py --local      # a local Ray and the local emulator

Each worker (a Ray actor) builds one DeploymentPredictor: one AsyncClient, one event
loop and one adaptive batch controller for its whole life, answering each block of rows
with as many requests in flight as the deployment sustains (it backs off on 429/503).
--rate-limit is the tenancy's budget for the whole job: each worker gets its share.
Workers build their own credentials from an auth *factory* (here
odsc_llm.auth.default, or resource_principal on OCI), so no signer is pickled.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import ray

import odsc_llm
from odsc_llm.integrations.ray import DeploymentPredictor


@contextlib.contextmanager
def target(args: argparse.Namespace) -> Iterator[tuple[str, Callable[[], Any]]]:
    if not args.local:
        yield args.deployment, odsc_llm.auth.default
        return
    from odsc_llm.testing import LocalDeployment

    with LocalDeployment() as local, tempfile.TemporaryDirectory() as folder:
        # Workers are separate processes: give them a config file, not a signer object.
        config = local.write_oci_config(folder)
        yield local.url, functools.partial(odsc_llm.auth.api_key, config_file=str(config))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployment", help="deployment URL or OCID")
    parser.add_argument(
        "--local",
        action="store_true",
        default=os.environ.get("ODSC_LLM_LOCAL") == "1",
        help="local Ray + emulator (also: ODSC_LLM_LOCAL=1)",
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="Ray actors")
    parser.add_argument(
        "--rate-limit", type=float, default=None, help="requests/s for the whole job (e.g. 150)"
    )
    args = parser.parse_args()
    if not args.local and not args.deployment:
        parser.error("give --deployment, or --local")

    with target(args) as (deployment, auth_factory):
        ray.init(num_cpus=args.workers + 1 if args.local else None, include_dashboard=False)
        prompts = [f"Write a haiku about the number {i}." for i in range(args.count)]
        ds = ray.data.from_items([{"id": i, "prompt": p} for i, p in enumerate(prompts)])
        answers = ds.map_batches(
            DeploymentPredictor,
            fn_constructor_kwargs={
                "deployment": deployment,
                "auth": auth_factory,
                "concurrency": "auto",
                # The tenancy's rate is shared: each worker paces itself to its share.
                "rate_limit": None if args.rate_limit is None else args.rate_limit / args.workers,
                "max_tokens": 100,
            },
            concurrency=args.workers,  # number of actors
            batch_size=32,
            num_cpus=1,
        )
        rows = answers.take_all()  # or answers.write_parquet("s3://..." / "oci://...")
        failed = [row for row in rows if row["answer_error"] is not None]
        print(f"{len(rows)} rows, {len(failed)} failed")
        for row in sorted(rows, key=lambda r: r["id"])[:3]:
            print(row["id"], row["answer"])
        ray.shutdown()


if __name__ == "__main__":
    main()
