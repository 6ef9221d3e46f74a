"""The library speaks Python ("pass config_file="); the command speaks flags.

Every error the CLI prints goes through :func:`for_cli`, which rewrites the library's
Python advice into the flags and environment variables of ``odsc-llm``. Each rule is
tested on the real message the library produces (``tests/test_cli_messages.py``), so a
reworded library message that no longer matches shows up there.
"""

from __future__ import annotations

import re

from ._base import err

__all__ = ["REWRITES", "for_cli", "report_error"]

#: (pattern, replacement) pairs, applied in order. Specific calls come before the
#: generic ``name=`` rules.
REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # auth providers named as Python calls
        (
            r"odsc_llm\.auth\.security_token\(profile='([^']*)'\) \(or auth\.default\(\)\)",
            r"--auth security_token --profile \1 (or leave --auth out)",
        ),
        (r"odsc_llm\.auth\.api_key\(profile='([^']*)'\)", r"--auth api_key --profile \1"),
        (r"\bapi_key\(\) or security_token\(\)", "--auth api_key or --auth security_token"),
        (r"odsc_llm\.auth\.instance_principal\(\)", "--auth instance_principal"),
        (r"odsc_llm\.auth\.oke_workload_identity\(\)", "--auth oke_workload_identity"),
        (r"(?:odsc_llm\.)?auth\.default\(\)", "no --auth"),
        # keyword arguments
        (r"\bpass config_file= / set OCI_CONFIG_FILE", "pass --config-file / set OCI_CONFIG_FILE"),
        (
            r"\b([Pp])ass profile= \(or set OCI_CLI_PROFILE\)",
            r"\1ass --profile (or set OCI_CLI_PROFILE)",
        ),
        (r"\b([Pp])ass region='\.\.\.'", r"\1ass --region REGION"),
        (r"\b([Pp])ass region='([^']*)'", r"\1ass --region \2"),
        (r"\bpass allow_insecure=True", "pass --allow-insecure"),
        (r"\b([Pp])ass port=0\b", r"\1ass --port 0"),
        (r"\bpass stream_endpoint='predict'", "pass --stream-endpoint predict"),
        (r"\brouting='(header|path)'", r"--routing \1"),
        (
            r"\bpass deployment=<URL, OCID or Deployment>, or set the ODSC_LLM_DEPLOYMENT "
            r"environment variable",
            "give a deployment URL or OCID (DEPLOYMENT or -d/--deployment), or set "
            "ODSC_LLM_DEPLOYMENT",
        ),
        (r"pass the deployment's URL to Deployment\.from_url", "give the deployment's URL instead"),
    )
)


def for_cli(message: str) -> str:
    """``message`` on one line, with the library's Python advice rewritten as CLI advice."""
    text = " ".join(message.split())
    for pattern, replacement in REWRITES:
        text = pattern.sub(replacement, text)
    return text


def report_error(exc: BaseException) -> None:
    """``error: <message>`` on one line of stderr, with the request id when known."""
    message = for_cli(str(exc)) or type(exc).__name__
    request_id = getattr(exc, "request_id", None)
    if request_id and request_id not in message:
        message += f" (opc-request-id: {request_id})"
    err(f"error: {message}")
