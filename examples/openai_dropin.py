"""Existing OpenAI SDK code, pointed at an OCI Data Science model deployment.

    pip install 'odsc-llm[openai]'
    python examples/openai_dropin.py https://modeldeployment.<region>.oci.customer-oci.com/<ocid>
    python examples/openai_dropin.py --local      # against the local emulator (or ODSC_LLM_LOCAL=1)

Credentials come from odsc_llm.auth.default() (resource principal in notebook sessions
and jobs, else ~/.oci/config).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator

import odsc_llm


@contextlib.contextmanager
def target(
    args: argparse.Namespace,
) -> Iterator[tuple[odsc_llm.Deployment | str, odsc_llm.auth.OCIAuth | None]]:
    if args.local:
        from odsc_llm.testing import LocalDeployment

        with LocalDeployment() as local:
            yield local.deployment, local.auth
    else:
        yield args.deployment, None  # None: odsc_llm.auth.default()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "deployment",
        nargs="?",
        default=os.environ.get("ODSC_LLM_DEPLOYMENT"),
        help="deployment URL or OCID (default: $ODSC_LLM_DEPLOYMENT)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        default=os.environ.get("ODSC_LLM_LOCAL") == "1",
        help="use the local emulator (also: ODSC_LLM_LOCAL=1)",
    )
    args = parser.parse_args()
    if not args.local and not args.deployment:
        parser.error("give a deployment URL or OCID (or set ODSC_LLM_DEPLOYMENT), or --local")

    with target(args) as (deployment, auth):
        client = odsc_llm.openai_client(deployment, auth=auth)  # an openai.OpenAI

        # From here on this is plain OpenAI SDK code.
        chat = client.chat.completions.create(
            model="odsc-llm",
            messages=[{"role": "user", "content": "What are activation functions?"}],
            max_tokens=200,
        )
        print(chat.choices[0].message.content)

        stream = client.chat.completions.create(
            model="odsc-llm",
            messages=[{"role": "user", "content": "Tell me a short story."}],
            max_tokens=200,
            stream=True,
        )
        for chunk in stream:
            if chunk.choices:
                print(chunk.choices[0].delta.content or "", end="", flush=True)
        print()


if __name__ == "__main__":
    main()
