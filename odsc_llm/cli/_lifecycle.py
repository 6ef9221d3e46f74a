"""``deploy``, ``wait``, ``deployments``, ``activate``, ``deactivate``, ``delete``, ``scale``
and ``containers``: the deployment lifecycle from the command line.

Their calls go to the region's Data Science endpoint, or to ``--control-plane-endpoint``
(``$ODSC_LLM_CONTROL_PLANE_ENDPOINT``: the local emulator's ``http://127.0.0.1:PORT``).
Progress lines go to stderr, results to stdout. Ctrl-C while waiting stops the waiting,
not the operation (exit 130), and says the ``odsc-llm wait`` command that resumes it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from . import _connect
from ._base import (
    EXIT_OK,
    Output,
    Parser,
    UsageError,
    err,
    int_at_least,
    number_in,
)
from ._deployments import saying_what_is_slow

if TYPE_CHECKING:
    from ..control_plane import DeploymentInfo
    from ..deployment import Deployment


def _options(*, waits: bool) -> Parser:
    from ..control_plane import DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT
    from ..control_plane._constants import ENV_CONTROL_PLANE_ENDPOINT

    parent = Parser(add_help=False)
    group = parent.add_argument_group("where and how")
    group.add_argument("--region", help="the region (default: the auth's, or $OCI_REGION)")
    group.add_argument(
        "--control-plane-endpoint",
        metavar="URL",
        default=os.environ.get(ENV_CONTROL_PLANE_ENDPOINT) or None,
        help=f"send the calls here instead of the region's endpoint "
        f"(default: ${ENV_CONTROL_PLANE_ENDPOINT})",
    )
    group.add_argument("--auth", choices=_connect.AUTH_CHOICES, metavar="METHOD",
                       help="how to sign: " + ", ".join(_connect.AUTH_CHOICES))  # fmt: skip
    group.add_argument("--profile", help="OCI config profile")
    group.add_argument("--config-file", metavar="PATH", help="OCI config file")
    group.add_argument("--request-timeout", type=number_in(0, low_open=True),
                       metavar="SECONDS", help="bound of each control-plane call")  # fmt: skip
    group.add_argument("--max-retries", type=int_at_least(0), metavar="N",
                       help="retries of each control-plane call")  # fmt: skip
    group.add_argument("--allow-insecure", action="store_true", help=argparse.SUPPRESS)
    if waits:
        group.add_argument("--timeout", type=number_in(0, low_open=True), metavar="SECONDS",
                           default=DEFAULT_WAIT_TIMEOUT,
                           help="how long to wait (%(default)g s)")  # fmt: skip
        group.add_argument("--poll-interval", type=number_in(0, low_open=True),
                           metavar="SECONDS", default=DEFAULT_POLL_INTERVAL,
                           help="seconds between polls (%(default)g)")  # fmt: skip
    return parent


def _attach(p: argparse.ArgumentParser, *, waits: bool) -> None:
    for action in _options(waits=waits)._actions:
        if action.option_strings and action.dest != "help":
            p._add_action(action)


def _auth(args: argparse.Namespace) -> Any:
    bounds = argparse.Namespace(**vars(args))
    bounds.timeout = args.request_timeout  # principals' own calls obey the call bound
    return _connect.make_auth(bounds)


def _calls(args: argparse.Namespace) -> dict[str, Any]:
    return {"request_timeout": args.request_timeout, "max_retries": args.max_retries}


def _deployment(args: argparse.Namespace) -> Deployment:
    dep = _connect.resolve_deployment(args.deployment, region=args.region,
                                      allow_insecure=args.allow_insecure)  # fmt: skip
    if args.control_plane_endpoint:
        dep = dep.model_copy(update={"control_plane_endpoint": args.control_plane_endpoint})
    return dep


def _from_env(value: str | None, flag: str, names: tuple[str, ...]) -> str:
    for candidate in (value, *(os.environ.get(n) for n in names)):
        if candidate:
            return candidate
    where = ", ".join(f"${n}" for n in names)
    raise UsageError(f"no {flag[2:]} given: pass {flag} OCID (or set {where})")


def _progress(start: float) -> Any:
    def show(info: DeploymentInfo) -> None:
        err(f"  {info.state:<10} {time.monotonic() - start:5.0f} s")

    return show


def _resume_hint(args: argparse.Namespace, ocid: str) -> str:
    extra = f" --control-plane-endpoint {args.control_plane_endpoint}" * bool(
        args.control_plane_endpoint
    )
    return f"odsc-llm wait {ocid}{extra}"


def _waiting(args: argparse.Namespace, ocid: str, wait: Any) -> Any:
    """``wait()`` (what prints progress); Ctrl-C says how to resume, then exits 130."""
    try:
        result = wait()
    except KeyboardInterrupt:
        err(f"stopped waiting; the operation goes on in OCI. Resume: {_resume_hint(args, ocid)}")
        raise
    return result


def _report(out: Output, info: DeploymentInfo, *, url: bool = False) -> None:
    out.line(f"{info.ocid} {info.state}" + (f" {info.endpoint}" if url and info.endpoint else ""))


# --------------------------------------------------------------------------- deploy


def add_deploy(p: argparse.ArgumentParser) -> None:
    from ..control_plane._constants import (
        COMPARTMENT_ENV_VARS,
        DEFAULT_BANDWIDTH_MBPS,
        DEFAULT_SERVED_MODEL_NAME,
        PROJECT_ENV_VARS,
    )

    p.description = (
        "Deploy a model on a service container, as AI Quick Actions does; prints the "
        "deployment's OCID and URL at once (then, with --wait, progress until ACTIVE)."
    )
    p.add_argument("model", metavar="MODEL_OCID", help="the model to deploy")
    p.add_argument("--shape", required=True, help="e.g. VM.GPU.A10.1 (see `odsc-llm shapes`)")
    p.add_argument("--compartment", help=f"default: ${', $'.join(COMPARTMENT_ENV_VARS)}")
    p.add_argument("--project", help=f"default: ${', $'.join(PROJECT_ENV_VARS)}")
    p.add_argument("--name", help="display name")
    p.add_argument("--instances", type=int_at_least(1), default=1, metavar="N")
    p.add_argument("--ocpus", type=number_in(0, low_open=True), metavar="N")
    p.add_argument("--memory-gb", type=number_in(0, low_open=True), metavar="N")
    p.add_argument("--bandwidth", type=int_at_least(1), default=DEFAULT_BANDWIDTH_MBPS,
                   metavar="MBPS", help="load balancer bandwidth (%(default)s)")  # fmt: skip
    p.add_argument("--container-family", help="default: the model's deployment-container")
    p.add_argument("--params", metavar="ARGS", help='server arguments, "--max-model-len 8192"')
    p.add_argument("--served-model-name", default=DEFAULT_SERVED_MODEL_NAME)
    p.add_argument("--env", action="append", default=[], metavar="K=V")
    p.add_argument("--api-spec", choices=("openai",), help="a Multiple Inference Endpoints one")
    p.add_argument("--params-billion", type=number_in(0, low_open=True), metavar="N",
                   help="the model's size: the shape must fit it (see --force)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="deploy even if it does not fit")
    p.add_argument("--wait", action="store_true", help="wait until it is ACTIVE")
    _attach(p, waits=True)
    p.set_defaults(handler=_cmd_deploy)


def _env_pairs(items: list[str]) -> dict[str, str]:
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env takes KEY=VALUE, got {item!r}")
        env[key] = value
    return env


def _cmd_deploy(args: argparse.Namespace, out: Output) -> int:
    from .. import control_plane as cp
    from ..control_plane._constants import COMPARTMENT_ENV_VARS, PROJECT_ENV_VARS

    compartment = _from_env(args.compartment, "--compartment", COMPARTMENT_ENV_VARS)
    project = _from_env(args.project, "--project", PROJECT_ENV_VARS)
    # The arguments' parser has already checked --api-spec is "openai" when given.
    with saying_what_is_slow():
        info = cp.create_deployment(
            args.model, compartment_id=compartment, project_id=project, shape=args.shape,
            display_name=args.name, instance_count=args.instances, ocpus=args.ocpus,
            memory_gb=args.memory_gb, bandwidth_mbps=args.bandwidth,
            container_family=args.container_family, params=args.params,
            env=_env_pairs(args.env), served_model_name=args.served_model_name,
            api_specification=args.api_spec, params_billion=args.params_billion,
            force=args.force, auth=_auth(args), region=args.region,
            control_plane_endpoint=args.control_plane_endpoint, **_calls(args),
        )  # fmt: skip
    from ..deployment import Deployment

    dep = Deployment.from_info(info)
    if args.control_plane_endpoint:
        dep = dep.model_copy(update={"control_plane_endpoint": args.control_plane_endpoint})

    def report_then_wait() -> DeploymentInfo | None:
        _report(out, info, url=True)
        if not args.wait:
            return None
        return cp.wait_until_done(
            dep, _auth(args), work_request_id=info.work_request_id, timeout=args.timeout,
            poll_interval=args.poll_interval, callback=_progress(time.monotonic()),
            **_calls(args),
        )  # fmt: skip

    final = _waiting(args, info.ocid, report_then_wait)
    if final is not None:
        _report(out, final)
    return EXIT_OK


# --------------------------------------------------------------------------- wait and changes


def _add_target(p: argparse.ArgumentParser, description: str, *, waits: bool = True) -> None:
    p.description = description
    p.add_argument("deployment", metavar="DEPLOYMENT", help="deployment URL or OCID")
    if waits:
        p.add_argument("--wait", action="store_true", help="wait until the operation ends")
    _attach(p, waits=True)


def add_wait(p: argparse.ArgumentParser) -> None:
    _add_target(p, "Wait until the deployment's current operation ends (ACTIVE, INACTIVE, "
                "DELETED or FAILED), printing progress lines.", waits=False)  # fmt: skip
    p.set_defaults(handler=_cmd_wait)


def _cmd_wait(args: argparse.Namespace, out: Output) -> int:
    from .. import control_plane as cp

    dep = _deployment(args)
    final = _waiting(args, dep.ocid, lambda: cp.wait_until_done(
        dep, _auth(args), timeout=args.timeout, poll_interval=args.poll_interval,
        callback=_progress(time.monotonic()), **_calls(args),
    ))  # fmt: skip
    _report(out, final)
    return EXIT_OK


def add_activate(p: argparse.ArgumentParser) -> None:
    _add_target(p, "Start an INACTIVE deployment again (same URL).")
    p.set_defaults(handler=_change, operation="activate")


def add_deactivate(p: argparse.ArgumentParser) -> None:
    _add_target(p, "Stop an ACTIVE deployment: its instances shut down, billing stops.")
    p.set_defaults(handler=_change, operation="deactivate")


def add_delete(p: argparse.ArgumentParser) -> None:
    _add_target(p, "Delete a deployment, for good. Asks for confirmation on a terminal; "
                "elsewhere it needs --yes.")  # fmt: skip
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.set_defaults(handler=_change, operation="delete")


def add_scale(p: argparse.ArgumentParser) -> None:
    _add_target(p, "Run the deployment on N instances.")
    p.add_argument("--instances", type=int_at_least(1), required=True, metavar="N")
    p.set_defaults(handler=_change, operation="scale")


def _confirm_delete(args: argparse.Namespace, dep: Deployment) -> None:
    if args.yes:
        return
    if not (sys.stdin is not None and sys.stdin.isatty()):
        raise UsageError(f"delete {dep.ocid}: not a terminal, so nothing to ask; pass --yes")
    err(f"Delete {dep.ocid}? It cannot be undone. Type 'yes': ")
    if sys.stdin.readline().strip().lower() != "yes":
        raise UsageError("not deleted")


def _change(args: argparse.Namespace, out: Output) -> int:
    from .. import control_plane as cp

    dep = _deployment(args)
    if args.operation == "delete":
        _confirm_delete(args, dep)
    auth = _auth(args)
    with saying_what_is_slow():
        if args.operation == "scale":
            info = cp.update_deployment(dep, auth, instance_count=args.instances, **_calls(args))
        else:
            info = getattr(cp, args.operation)(dep, auth, **_calls(args))
    _report(out, info)
    if args.wait:
        final = _waiting(args, dep.ocid, lambda: cp.wait_until_done(
            dep, auth, work_request_id=info.work_request_id, timeout=args.timeout,
            poll_interval=args.poll_interval, callback=_progress(time.monotonic()),
            **_calls(args),
        ))  # fmt: skip
        _report(out, final)
    return EXIT_OK


# --------------------------------------------------------------------------- lists


def add_deployments(p: argparse.ArgumentParser) -> None:
    from ..control_plane import LIFECYCLE_STATES
    from ..control_plane._constants import COMPARTMENT_ENV_VARS

    p.description = "List a compartment's model deployments: name, state, shape, instances."
    p.add_argument("--compartment", help=f"default: ${', $'.join(COMPARTMENT_ENV_VARS)}")
    p.add_argument("--state", choices=LIFECYCLE_STATES, metavar="STATE",
                   help="only those in STATE (ACTIVE, INACTIVE, ...)")  # fmt: skip
    p.add_argument("--name", help="only those with this display name")
    p.add_argument("--aqua-only", action="store_true", help="only AI Quick Actions ones")
    p.add_argument("--json", action="store_true", help="print JSON")
    _attach(p, waits=False)
    p.set_defaults(handler=_cmd_deployments)


def _table(out: Output, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.line("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _cmd_deployments(args: argparse.Namespace, out: Output) -> int:
    from .. import control_plane as cp
    from ..control_plane._constants import COMPARTMENT_ENV_VARS

    compartment = _from_env(args.compartment, "--compartment", COMPARTMENT_ENV_VARS)
    with saying_what_is_slow():
        infos = cp.list_deployments(
            compartment, _auth(args), aqua_only=args.aqua_only, region=args.region,
            state=args.state, display_name=args.name,
            control_plane_endpoint=args.control_plane_endpoint,
            timeout=args.request_timeout, max_retries=args.max_retries,
        )  # fmt: skip
    if args.json:
        out.line(json.dumps([i.model_dump(mode="json") for i in infos], indent=2))
        return EXIT_OK
    rows = [
        [i.display_name or "-", i.state, i.shape or "-", str(i.instance_count or "-"),
         i.time_created.strftime("%Y-%m-%d %H:%M") if i.time_created else "-",
         i.endpoint or i.ocid]
        for i in infos
    ]  # fmt: skip
    _table(out, ["NAME", "STATE", "SHAPE", "INSTANCES", "CREATED", "URL"], rows)
    return EXIT_OK


def add_containers(p: argparse.ArgumentParser) -> None:
    p.description = "List the service containers a deployment can run, by family."
    p.add_argument("--all", action="store_true", help="every tag, not only the latest")
    p.add_argument("--json", action="store_true", help="print JSON")
    _attach(p, waits=False)
    p.set_defaults(handler=_cmd_containers)


def _cmd_containers(args: argparse.Namespace, out: Output) -> int:
    from .. import control_plane as cp

    with saying_what_is_slow():
        found = cp.list_containers(
            _auth(args), region=args.region, control_plane_endpoint=args.control_plane_endpoint,
            timeout=args.request_timeout, max_retries=args.max_retries,
        )  # fmt: skip
    shown = [c for c in found if args.all or c.is_latest]
    if args.json:
        out.line(json.dumps([{**c.model_dump(mode="json"), "image": c.image} for c in shown],
                            indent=2))  # fmt: skip
        return EXIT_OK
    rows = [[c.family, c.tag, "yes" if c.is_latest else "", c.image] for c in shown]
    _table(out, ["FAMILY", "TAG", "LATEST", "IMAGE"], rows)
    return EXIT_OK
