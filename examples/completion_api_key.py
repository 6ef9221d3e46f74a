"""A plain (non-streaming) completion, signed with an API key from ~/.oci/config.

Against a real deployment:

    export ODSC_LLM_DEPLOYMENT=https://modeldeployment.<region>.oci.customer-oci.com/<ocid>
    python examples/completion_api_key.py            # profile DEFAULT (or OCI_CLI_PROFILE)

Against the local emulator (no OCI account needed): add ``--local`` or set
``ODSC_LLM_LOCAL=1``. The emulator writes a throwaway config file and key, so the very
same ``odsc_llm.auth.api_key(...)`` call is exercised.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

import odsc_llm


@contextlib.contextmanager
def deployment_and_config() -> Iterator[tuple[str, str | None, str | None]]:
    """(deployment URL, config file, profile): the local emulator's, or the real ones.

    For a real deployment both are None: the provider then reads OCI_CONFIG_FILE and
    OCI_CLI_PROFILE (else ~/.oci/config and its default profile), as the oci CLI does.
    """
    if "--local" in sys.argv or os.environ.get("ODSC_LLM_LOCAL") == "1":
        from odsc_llm.testing import LocalDeployment

        with LocalDeployment() as local, tempfile.TemporaryDirectory() as tmp:
            yield local.url, str(local.write_oci_config(tmp)), "DEFAULT"
        return
    url = os.environ.get("ODSC_LLM_DEPLOYMENT")
    if not url:
        sys.exit("Set ODSC_LLM_DEPLOYMENT to your deployment's URL, or pass --local.")
    yield url, None, None


def main() -> None:
    with deployment_and_config() as (url, config_file, profile):
        auth = odsc_llm.auth.api_key(profile=profile, config_file=config_file)
        with odsc_llm.Client(deployment=url, auth=auth) as client:
            completion = client.completions.create(
                prompt="what are activation functions?",
                max_tokens=250,
                temperature=0.7,
                top_p=0.8,
            )
        choice = completion.choices[0]
        print(choice.text)
        print(f"finish_reason={choice.finish_reason} request_id={completion.request_id}")


if __name__ == "__main__":
    main()
