"""Which deployment, which credentials, which client: the options every network command has.

Where the deployment comes from (also in ``odsc-llm --help``):

1. a positional that is a deployment URL or OCID (``https://``, ``http://``, ``ocid1.``)
   is the deployment, whatever ``$ODSC_LLM_DEPLOYMENT`` says: a text that really is
   such a URL goes after ``--`` (with ``-d`` too, the deployment is given twice);
2. else ``-d/--deployment`` when given;
3. else ``$ODSC_LLM_DEPLOYMENT`` when set, and then every positional is text;
4. else the first positional.

``--`` ends the options: every word after it is text (one that starts with ``-``, or
that looks like a URL).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._base import Parser, UsageError, int_at_least, number_in

if TYPE_CHECKING:
    import httpx

    from .._client import Client
    from ..deployment import Deployment

AUTH_CHOICES = (
    "api_key",
    "security_token",
    "resource_principal",
    "instance_principal",
    "oke_workload_identity",
)
#: Auth methods that take no config file or profile.
PRINCIPALS = ("resource_principal", "instance_principal", "oke_workload_identity")


def deployment_rule(*, has_text: bool = True) -> str:
    """The rule of the module docstring, for the commands' ``--help``."""
    from .._constants import ENV_DEPLOYMENT

    if not has_text:
        return f"The deployment: -d/--deployment, else DEPLOYMENT, else ${ENV_DEPLOYMENT}."
    return (
        "Where the deployment comes from: a positional that is a deployment URL or OCID is "
        "the deployment (a text that is such a URL goes after '--'); else -d/--deployment; "
        f"else ${ENV_DEPLOYMENT}, and then every positional is text; else the first "
        "positional. '--' ends the options: every word after it is text (for a text that "
        "starts with '-' or is a URL)."
    )


def add_deployment_positional(parser: argparse.ArgumentParser, *, has_text: bool = True) -> None:
    """The optional DEPLOYMENT positional, and the rule in the command's help."""
    from .._constants import ENV_DEPLOYMENT

    parser.epilog = deployment_rule(has_text=has_text)
    parser.add_argument(
        "deployment",
        nargs="?",
        metavar="DEPLOYMENT",
        help=f"deployment URL or OCID, when neither -d nor ${ENV_DEPLOYMENT} gives it",
    )


def connection_options() -> Parser:
    """Deployment, auth and transport options shared by the commands that go on the network."""
    from .. import _constants as C

    parent = Parser(add_help=False)
    where = parent.add_argument_group("deployment")
    where.add_argument(
        "-d",
        "--deployment",
        dest="deployment_flag",
        metavar="DEPLOYMENT",
        help=f"deployment URL or OCID (default: ${C.ENV_DEPLOYMENT}); every positional is "
        "then text (one that is a URL or OCID goes after '--')",
    )
    where.add_argument(
        "--region", help="the deployment's region, when its OCID or URL does not tell it"
    )
    where.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow a plain http:// URL to a host that is not loopback",
    )
    group = parent.add_argument_group("authentication and connection")
    group.add_argument(
        "--auth",
        choices=AUTH_CHOICES,
        metavar="METHOD",
        help="how to sign requests: " + ", ".join(AUTH_CHOICES) + " (default: resource "
        "principal in notebooks and jobs, else the config file profile)",
    )
    group.add_argument(
        "--profile", help="OCI config profile (default: $OCI_CLI_PROFILE or DEFAULT)"
    )
    group.add_argument(
        "--config-file",
        metavar="PATH",
        help="OCI config file (default: $OCI_CONFIG_FILE or ~/.oci/config)",
    )
    timeout = C.DEFAULT_TIMEOUT
    group.add_argument(
        "--timeout",
        type=number_in(0, low_open=True),
        metavar="SECONDS",
        help=f"timeout of each attempt (default: {timeout.connect:g} s to connect, "
        f"{timeout.read:g} s per read)",
    )
    group.add_argument(
        "--max-retries",
        type=int_at_least(0),
        metavar="N",
        help=f"retries of transient failures (default: {C.DEFAULT_MAX_RETRIES})",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print the request id, time to first token and tokens/s on stderr",
    )
    return parent


def add_routing_option(parser: argparse.ArgumentParser) -> None:
    """``--routing``, for the commands that call the deployment itself."""
    from .. import _constants as C

    parser.add_argument(
        "--routing",
        choices=C.ROUTINGS,
        help=f"how requests name the container path (default: {C.DEFAULT_ROUTING}): header "
        "sends the route header to /predict, which every deployment routes; path sends to "
        "/predict/v1/..., which only deployments with Multiple Inference Endpoints route "
        "('odsc-llm info' says which fits)",
    )


def looks_like_deployment(text: str) -> bool:
    return text.strip().startswith(("ocid1.", "https://", "http://"))


def env_deployment() -> str | None:
    from .._constants import ENV_DEPLOYMENT

    value = os.environ.get(ENV_DEPLOYMENT, "").strip()
    return value or None


def split_positionals(
    deployment: str | None, rest: list[str], *, flag: str | None = None, literal: int = 0
) -> tuple[str | None, list[str]]:
    """(the deployment given on the command line, the texts), by the module's rule.

    ``deployment`` is what argparse put in the DEPLOYMENT positional (it fills that one
    first); ``literal`` is how many of the positionals came after ``--`` (the last ones),
    which are text whatever they look like.
    """
    words = ([deployment] if deployment is not None else []) + rest
    before_dashes = len(words) - literal
    if before_dashes > 0 and looks_like_deployment(words[0]):
        if flag is not None:
            raise UsageError(
                "the deployment is given twice: with -d and as a positional URL or OCID "
                "(a text that is a URL or OCID goes after '--')"
            )
        return words[0].strip(), words[1:]
    if flag is not None or env_deployment():
        return flag, words
    if before_dashes <= 0:  # all of them after '--': text, and no deployment given
        return None, words
    return deployment, rest


def literal_count(argv: Sequence[str]) -> int:
    """How many words of ``argv`` come after its first ``--`` (argparse drops the ``--``)."""
    return len(argv) - argv.index("--") - 1 if "--" in argv else 0


def resolve_deployment(
    value: str | None, *, region: str | None = None, allow_insecure: bool = False
) -> Deployment:
    """The Deployment of ``value`` (a URL or OCID), else of ``$ODSC_LLM_DEPLOYMENT``."""
    from .._constants import ENV_DEPLOYMENT
    from ..deployment import Deployment

    text = (value or env_deployment() or "").strip()
    if not text:
        raise UsageError(
            f"no deployment given: pass a deployment URL or OCID (or -d), or set ${ENV_DEPLOYMENT}"
        )
    if text.startswith("ocid1."):
        return Deployment.from_ocid(text, region=region)
    return Deployment.from_url(text, region=region, allow_insecure=allow_insecure)


def deployment_of(args: argparse.Namespace, value: str | None) -> Deployment:
    """:func:`resolve_deployment` with the ``--region``/``--allow-insecure`` options."""
    return resolve_deployment(value, region=args.region, allow_insecure=args.allow_insecure)


def make_auth(args: argparse.Namespace) -> httpx.Auth:
    """The auth the options ask for; without any, ``auth.resolve(None)`` (``auth.default()``).

    ``--profile``/``--config-file`` without ``--auth`` choose like ``default()`` does
    for a config profile: security token when it has ``security_token_file``, else API key.
    """
    from .. import auth as oci_auth

    kind: str | None = args.auth
    if kind in PRINCIPALS:
        # Those that fetch credentials over the network obey --timeout/--max-retries.
        bounds: dict[str, Any] = {}
        if kind != "oke_workload_identity" and args.timeout is not None:
            bounds["timeout"] = args.timeout
        if kind == "instance_principal" and args.max_retries is not None:
            bounds["max_retries"] = args.max_retries
        result: httpx.Auth = getattr(oci_auth, kind)(**bounds)
        return result
    if kind is None and not (args.profile or args.config_file):
        return oci_auth.resolve(None)
    # Left-out --profile/--config-file come from OCI_CLI_PROFILE/OCI_CONFIG_FILE.
    if kind == "security_token":
        return oci_auth.security_token(profile=args.profile, config_file=args.config_file)
    if kind == "api_key":
        return oci_auth.api_key(profile=args.profile, config_file=args.config_file)
    return oci_auth.from_config(profile=args.profile, config_file=args.config_file)


def make_client(args: argparse.Namespace, deployment: Deployment) -> Client:
    """The one client of a command: the constructor, given only the options set."""
    from .._client import Client

    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    if getattr(args, "stream_endpoint", None) is not None:
        options["stream_endpoint"] = args.stream_endpoint
    if getattr(args, "routing", None) is not None:
        options["routing"] = args.routing
    return Client(deployment, auth=make_auth(args), **options)
