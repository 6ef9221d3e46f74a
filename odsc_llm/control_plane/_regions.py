"""The Data Science client of a region (for calls that name no deployment: create, list)."""

from __future__ import annotations

import os
from typing import Any

from .._address import check_endpoint
from .._errors import InvalidRequestError
from .._oci_bounds import Bounds
from ._clients import AuthArg, ClientFactory, build_client, resolve_signer

__all__ = ["default_region", "region_client", "resolve_region"]


def default_region(auth: AuthArg, signer: Any) -> str | None:
    """The auth's config-profile region, the signer's, then ``OCI_REGION`` /
    ``OCI_RESOURCE_PRINCIPAL_REGION``; None when none is set."""
    for candidate in (getattr(auth, "region", None), getattr(signer, "region", None)):
        if isinstance(candidate, str) and candidate:
            return candidate
    for var in ("OCI_REGION", "OCI_RESOURCE_PRINCIPAL_REGION"):
        value = os.environ.get(var)
        if value:
            return value
    return None


def resolve_region(
    auth: AuthArg, region: str | None, control_plane_endpoint: str | None, what: str
) -> tuple[Any, str, str | None]:
    """``(signer, region, endpoint)`` for a region-wide call named ``what``."""
    from .. import auth as auth_module

    if control_plane_endpoint is not None:
        control_plane_endpoint = check_endpoint(control_plane_endpoint, "control_plane_endpoint")
    resolved = auth_module.resolve(auth)  # once: auth.default() may read files
    signer = resolve_signer(resolved)
    region = region or default_region(resolved, signer)
    if not region:
        raise InvalidRequestError(
            f"{what} needs a region: pass region='us-ashburn-1' (or set OCI_REGION)."
        )
    return signer, region, control_plane_endpoint


def region_client(
    auth: AuthArg,
    region: str | None,
    control_plane_endpoint: str | None,
    client_factory: ClientFactory | None,
    limits: Bounds,
    what: str = "this call",
) -> Any:
    """The Data Science client of ``region`` (or of ``control_plane_endpoint``)."""
    signer, name, endpoint = resolve_region(auth, region, control_plane_endpoint, what)
    return build_client("data_science", name, signer, client_factory, endpoint, limits)
