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
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import odsc_llm


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


def run(args: argparse.Namespace, deployment: str, auth_factory: Callable[[], Any]) -> None:
    """The batch itself: a Ray Dataset of prompts, answered by DeploymentPredictor actors."""
    import ray

    from odsc_llm.integrations.ray import DeploymentPredictor

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


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and a pointer to --help (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            message = f"expected an integer >= {low}, got {text!r}"
            raise argparse.ArgumentTypeError(message) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def main() -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployment", help="deployment URL or OCID")
    parser.add_argument(
        "--local",
        action="store_true",
        default=os.environ.get("ODSC_LLM_LOCAL") == "1",
        help="local Ray + emulator (also: ODSC_LLM_LOCAL=1)",
    )
    parser.add_argument("--count", type=int_at_least(1), default=200)
    parser.add_argument("--workers", type=int_at_least(1), default=2, help="Ray actors")
    parser.add_argument(
        "--rate-limit", type=positive_number, help="requests/s for the whole job (e.g. 150)"
    )
    args = parser.parse_args()
    if not args.local and not args.deployment:
        parser.error("give --deployment, or --local")
    if not args.local:
        try:  # here, not in every Ray worker
            odsc_llm.Deployment.coerce(args.deployment)
        except odsc_llm.InvalidDeploymentError as exc:
            parser.error(" ".join(str(exc).split()))
    try:
        import ray  # here, not at the top: without Ray the example says what to install
    except ImportError:
        print(
            f"{parser.prog}: error: Ray is not installed: pip install 'odsc-llm[ray]'",
            file=sys.stderr,
        )
        return 1

    try:
        with target(args) as (deployment, auth_factory):
            ray.init(num_cpus=args.workers + 1 if args.local else None, include_dashboard=False)
            try:
                run(args, deployment, auth_factory)
            finally:
                ray.shutdown()
    except KeyboardInterrupt:
        print(f"\n{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except odsc_llm.OdscLLMError as exc:  # credentials, ...
        print(f"{parser.prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
