"""What the proxy serves: one deployment for every model name, or a TOML file's map.

The file (``odsc-llm proxy --config proxy.toml``)::

    [models."llama-3-8b"]
    deployments = [
      { deployment = "ocid1.datasciencemodeldeployment.oc1.iad.aaa" },
      { deployment = "https://modeldeployment.../ocid1...bbb", model = "llama", profile = "OTHER" },
    ]

Each model name maps to one or more deployments; ``model`` is the name the deployment
serves (default ``odsc-llm``), ``profile`` an OCI config profile to sign its requests
with (default: the proxy's own auth), ``routing`` ``"header"`` or ``"path"`` (default:
the proxy's). Anything else is refused with the file and the entry named.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .. import _constants as C
from .._errors import InvalidDeploymentError, InvalidRequestError
from .._validation import validate_routing
from ..deployment import Deployment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the `proxy` extra installs tomli
    import tomli as tomllib

__all__ = ["Served", "Target", "load_config"]

_ENTRY_KEYS = frozenset({"deployment", "model", "profile", "routing"})


@dataclass(eq=False)
class Target:
    """One deployment a model name is sent to, and how."""

    deployment: Deployment
    #: The model name the deployment serves (the upstream body's ``model``).
    model: str
    auth: httpx.Auth
    routing: str
    #: Requests forwarded to it and not finished yet (least in-flight goes first).
    in_flight: int = 0

    @property
    def name(self) -> str:
        """The deployment's OCID (what logs and ``/health`` show)."""
        return self.deployment.ocid


@dataclass
class Served:
    """Model name -> its deployments; ``single`` when one deployment serves every name."""

    models: dict[str, list[Target]]
    single: Target | None = None

    @property
    def targets(self) -> list[Target]:
        """Every deployment once, in the order first named."""
        if self.single is not None:
            return [self.single]
        seen: dict[int, Target] = {}
        for targets in self.models.values():
            for target in targets:
                seen.setdefault(id(target), target)
        return list(seen.values())


def _read(config: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if isinstance(config, Mapping):
        return "the config", config
    path = Path(config).expanduser()
    try:
        with path.open("rb") as file:
            return str(path), tomllib.load(file)
    except OSError as exc:
        raise InvalidRequestError(
            f"Cannot read the proxy config {path}: {exc.strerror or type(exc).__name__}."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRequestError(f"The proxy config {path} is not valid TOML: {exc}.") from None


def load_config(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    auth: httpx.Auth,
    routing: str = C.DEFAULT_ROUTING,
) -> Served:
    """The model map of a TOML file (or of the mapping it would parse to).

    ``auth`` signs for deployments without a ``profile``; ``routing`` is the default of
    entries without one. Raises :class:`~odsc_llm.InvalidRequestError` naming the file,
    the model and what to write instead.
    """
    where, data = _read(config)
    models = data.get("models")
    unknown = sorted(set(data) - {"models"})
    if unknown:
        raise InvalidRequestError(
            f'{where}: unknown top-level key(s) {", ".join(unknown)}; only [models."NAME"] '
            "tables are read."
        )
    if not isinstance(models, Mapping) or not models:
        raise InvalidRequestError(
            f'{where}: no models. Write at least one [models."NAME"] table with '
            'deployments = [{ deployment = "URL or OCID" }].'
        )
    profiles: dict[str, httpx.Auth] = {}
    served: dict[str, list[Target]] = {}
    for name, table in models.items():
        deployments = table.get("deployments") if isinstance(table, Mapping) else None
        if not isinstance(deployments, list) or not deployments:
            raise InvalidRequestError(
                f'{where}: [models."{name}"] needs deployments = [{{ deployment = "URL or '
                'OCID" }, ...] (a non-empty list).'
            )
        served[str(name)] = [
            _target(where, str(name), entry, auth, routing, profiles) for entry in deployments
        ]
    return Served(served)


def _target(
    where: str,
    name: str,
    entry: Any,
    auth: httpx.Auth,
    routing: str,
    profiles: dict[str, httpx.Auth],
) -> Target:
    label = f'{where}: [models."{name}"]'
    if not isinstance(entry, Mapping) or not isinstance(entry.get("deployment"), str):
        raise InvalidRequestError(
            f'{label}: each deployment is {{ deployment = "URL or OCID", model = "odsc-llm", '
            f'profile = "PROFILE" }} (model and profile optional); got {entry!r}.'
        )
    extra = sorted(set(entry) - _ENTRY_KEYS)
    if extra:
        raise InvalidRequestError(
            f"{label}: unknown key(s) {', '.join(extra)}; a deployment entry takes "
            f"{', '.join(sorted(_ENTRY_KEYS))}."
        )
    for key in ("model", "profile", "routing"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key]):
            raise InvalidRequestError(f"{label}: {key} must be a non-empty string.")
    profile = entry.get("profile")
    if profile is not None and profile not in profiles:
        from ..auth import from_config

        profiles[profile] = from_config(profile=profile)
    try:
        deployment = Deployment.coerce(entry["deployment"])
    except InvalidDeploymentError as exc:
        raise InvalidDeploymentError(f"{label}: {exc}") from None
    return Target(
        deployment=deployment,
        model=entry.get("model", C.PROXY_UPSTREAM_MODEL),
        auth=profiles[profile] if profile is not None else auth,
        routing=validate_routing(entry.get("routing", routing)),
    )


def single(deployment: Deployment | str, *, auth: httpx.Auth, routing: str) -> Served:
    """One deployment serving every model name (the body's ``model`` becomes ``odsc-llm``)."""
    target = Target(
        deployment=Deployment.coerce(deployment),
        model=C.PROXY_UPSTREAM_MODEL,
        auth=auth,
        routing=validate_routing(routing),
    )
    return Served({}, single=target)
