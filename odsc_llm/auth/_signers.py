"""What each kind of oci signer needs from :class:`~odsc_llm.auth.OCIAuth` (no oci import).

An oci signer is called on a request-like object and writes its headers into it. Some
kinds do blocking I/O first (a token refresh), which the async flow must keep off the
event loop. :func:`signing_plan` looks the signer's class up in a table and says:

- ``io_due()``: a cheap, CPU-only test of whether signing would block right now;
- ``sign_fast``: the call to use when ``io_due()`` is false (never does I/O);
- ``pre_sign``: called before signing on the full path (resource principals refresh
  their token there, not inside ``__call__``), or None.

Classes are keyed by their full name (``module.QualName``), so a user's class that
happens to be called ``Signer`` is not mistaken for oci's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["SigningPlan", "always_due", "headers_wanted", "never_due", "signing_plan"]

#: Token signers go to a worker thread this long before oci would refresh the token,
#: so the (blocking) refresh never starts on the event loop.
REFRESH_MARGIN_SECONDS = 5.0
#: oci refreshes a principal's token this long before its expiry (SecurityTokenContainer).
OCI_EXPIRY_JITTER_SECONDS = 60.0
#: Headers oci's ``inject_missing_headers`` reads or writes besides the signed ones.
OCI_TOUCHED_HEADERS = frozenset({"host", "content-type", "content-length", "transfer-encoding"})

_SIGNERS = "oci.auth.signers."


class SigningPlan(NamedTuple):
    """How to sign with one signer: see the module docstring."""

    io_due: Callable[[], bool]
    sign_fast: Callable[[Any], object]
    pre_sign: Callable[[], object] | None


def always_due() -> bool:
    return True


def never_due() -> bool:
    return False


def _token_io_due(signer: Any, *, half_life: bool) -> Callable[[], bool]:
    def due() -> bool:
        try:
            claims = signer.security_token.jwt
            exp = float(claims["exp"])
            if half_life:  # OKE workload identity refreshes at half the token's life
                threshold = exp - (exp - float(claims["iat"])) / 2
            else:
                threshold = exp - OCI_EXPIRY_JITTER_SECONDS
        except Exception:
            return True  # unknown: assume it may block
        return time.time() >= threshold - REFRESH_MARGIN_SECONDS

    return due


def _in_memory_key(signer: Any) -> SigningPlan:
    return SigningPlan(never_due, signer, None)  # a key in memory: CPU only


def _federation(signer: Any) -> SigningPlan:
    def due() -> bool:  # instance principals refresh inside __call__
        try:
            exp = float(signer.federation_client.security_token.jwt["exp"])
        except Exception:
            return True
        return time.time() >= exp - OCI_EXPIRY_JITTER_SECONDS - REFRESH_MARGIN_SECONDS

    return SigningPlan(due, signer, None)


def _resource_principal(signer: Any) -> SigningPlan:
    return SigningPlan(_token_io_due(signer, half_life=False), signer, signer.get_security_token)


def _oke_workload_identity(signer: Any) -> SigningPlan:
    return SigningPlan(_token_io_due(signer, half_life=True), signer, signer.get_security_token)


def _session_token_file(signer: Any) -> SigningPlan:
    # Our own signer (odsc_llm.auth._session_token): it re-reads its token file when it changed.
    return SigningPlan(signer._odsc_reload_due, signer._odsc_sign_without_reload, None)


def _unknown(signer: Any) -> SigningPlan:
    return SigningPlan(always_due, signer, None)  # may do anything: always off the loop


#: Matched against the signer's own class only: their subclasses may add I/O.
_EXACT: dict[str, Callable[[Any], SigningPlan]] = {
    "oci.signer.Signer": _in_memory_key,
    _SIGNERS + "security_token_signer.SecurityTokenSigner": _in_memory_key,
    _SIGNERS + "key_pair_signer.KeyPairSigner": _in_memory_key,
}
#: Matched along the signer's MRO, nearest class first: a subclass behaves like these.
_FAMILIES: dict[str, Callable[[Any], SigningPlan]] = {
    "odsc_llm.auth._session_token.FileSecurityTokenSigner": _session_token_file,
    _SIGNERS + "security_token_signer.X509FederationClientBasedSecurityTokenSigner": _federation,
    _SIGNERS + "oke_workload_identity_resource_principal_signer."
    "OkeWorkloadIdentityResourcePrincipalSigner": _oke_workload_identity,
    _SIGNERS + "ephemeral_resource_principals_signer.EphemeralResourcePrincipalSigner": (
        _resource_principal
    ),
    _SIGNERS + "ephemeral_resource_principals_v21_signer.EphemeralResourcePrincipalV21Signer": (
        _resource_principal
    ),
    _SIGNERS + "resource_principals_federation_signer.ResourcePrincipalsFederationSigner": (
        _resource_principal
    ),
    _SIGNERS + "nested_resource_principals_signer.NestedResourcePrincipals": _resource_principal,
}


def _full_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def signing_plan(signer: Any) -> SigningPlan:
    """The plan for ``signer``: the table entry of its class (or nearest listed base).

    A signer of no listed kind that has ``get_security_token`` is treated as a resource
    principal (refresh before signing); any other is assumed to block.
    """
    for depth, cls in enumerate(type(signer).__mro__):
        name = _full_name(cls)
        plan = _FAMILIES.get(name) or (_EXACT.get(name) if depth == 0 else None)
        if plan is not None:
            return plan(signer)
    if callable(getattr(signer, "get_security_token", None)):
        return _resource_principal(signer)
    return _unknown(signer)


def headers_wanted(signer: Any) -> frozenset[str] | None:
    """The request headers an oci signer reads (None: unknown signer, pass them all)."""
    names: set[str] = set()
    for attr in ("_basic_signer", "_body_signer"):
        signed = getattr(getattr(signer, attr, None), "headers", None)
        if not isinstance(signed, (list, tuple)):
            return None
        names.update(str(h).lower() for h in signed)
    names.discard("(request-target)")
    return frozenset(names | OCI_TOUCHED_HEADERS)
