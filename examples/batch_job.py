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
the next run). Mistakes (a missing prompts file, --concurrency abc) are one line and
exit 2; an API or credentials error exit 1; Ctrl-C exit 130.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, Literal, NoReturn

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


def concurrency_arg(text: str) -> int | Literal["auto"]:
    """``auto`` or an integer >= 1."""
    if text == "auto":
        return "auto"
    try:
        return int_at_least(1)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f'expected "auto" or an integer >= 1, got {text!r}'
        ) from None


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def read_prompts(parser: argparse.ArgumentParser, path: str) -> list[str]:
    """The file's non-blank lines; a file that cannot be read is a usage error."""
    try:
        with open(path, encoding="utf-8") as handle:
            prompts = [line.strip() for line in handle if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        parser.error(f"cannot read the prompts file {path!r}: {reason}")
    if not prompts:
        parser.error(f"the prompts file {path!r} has no prompts (one per line)")
    return prompts


def main() -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("prompts", nargs="?", help="a text file, one prompt per line")
    parser.add_argument("--deployment", help="deployment URL or OCID")
    parser.add_argument(
        "--local",
        action="store_true",
        default=os.environ.get("ODSC_LLM_LOCAL") == "1",
        help="use the local emulator (also: ODSC_LLM_LOCAL=1)",
    )
    parser.add_argument("--count", type=int_at_least(1), default=100, help="prompts (--local)")
    parser.add_argument("--resume", default=None, help="JSONL file of done items")
    parser.add_argument("--throttled", action="store_true", help="--local at its limits")
    parser.add_argument(
        "--concurrency",
        type=concurrency_arg,
        default="auto",
        help='"auto" (adaptive, default) or a number',
    )
    parser.add_argument("--max-concurrency", type=int_at_least(1), default=256)
    parser.add_argument("--rate-limit", type=positive_number, help="requests/s cap")
    parser.add_argument("--max-retries", type=int_at_least(0), default=3)
    parser.add_argument("--max-tokens", type=int_at_least(1), default=200)
    args = parser.parse_args()

    if args.prompts:
        prompts = read_prompts(parser, args.prompts)
    elif args.local:
        prompts = [f"Summarise item {i} in one line." for i in range(args.count)]
    else:
        parser.error("give a prompts file (and --deployment), or --local")
    if not args.local and not args.deployment:
        parser.error("--deployment is required unless --local")

    try:
        with client_for(args) as client:
            result = client.completions.batch(
                prompts,
                concurrency=args.concurrency,
                max_concurrency=args.max_concurrency,
                rate_limit=args.rate_limit,
                resume_file=args.resume,
                progress=True,
                max_tokens=args.max_tokens,
            )
    except KeyboardInterrupt:  # Ctrl-C: the answers so far are in --resume, if given
        if args.resume:
            hint = f"run the same command again (with --resume {args.resume}) to send only the rest"
        else:
            hint = "the answers so far are lost: add --resume done.jsonl to be able to resume"
        print(f"\n{parser.prog}: interrupted; {hint}", file=sys.stderr)
        return 130
    except odsc_llm.InvalidDeploymentError as exc:  # a --deployment not understood
        parser.error(" ".join(str(exc).split()))
    except (odsc_llm.OdscLLMError, OSError) as exc:  # credentials, a resume file...
        print(f"{parser.prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(result.summary)
    for item in result.errors[:20]:
        error = item.error
        if error is not None:  # always set on an item in result.errors
            print(f"  item {item.id}: {error.type}: {error.message}", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
