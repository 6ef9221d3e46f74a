"""Stream a chat completion, signed with a session token (``oci session authenticate``).

Against a real deployment:

    oci session authenticate --profile-name SESSION --region us-ashburn-1
    export ODSC_LLM_DEPLOYMENT=https://modeldeployment.<region>.oci.customer-oci.com/<ocid>
    python examples/stream_security_token.py         # profile SESSION (or OCI_CLI_PROFILE)

Against the local emulator (no OCI account needed): add ``--local`` or set
``ODSC_LLM_LOCAL=1``; it writes a throwaway session-token profile.
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

        with LocalDeployment(token_delay=0.03) as local, tempfile.TemporaryDirectory() as tmp:
            yield local.url, str(local.write_oci_config(tmp)), "SESSION"
        return
    url = os.environ.get("ODSC_LLM_DEPLOYMENT")
    if not url:
        sys.exit("Set ODSC_LLM_DEPLOYMENT to your deployment's URL, or pass --local.")
    yield url, None, None if os.environ.get("OCI_CLI_PROFILE") else "SESSION"


def main() -> None:
    with deployment_and_config() as (url, config_file, profile):
        auth = odsc_llm.auth.security_token(profile=profile, config_file=config_file)
        with odsc_llm.Client(deployment=url, auth=auth) as client:
            stream = client.chat.completions.create(
                messages=[{"role": "user", "content": "Write a haiku about GPUs."}],
                max_tokens=200,
                stream=True,
            )
            with stream:  # leaving the block closes the connection, even on error
                for text in stream.text():
                    print(text, end="", flush=True)
            print()


if __name__ == "__main__":
    main()
