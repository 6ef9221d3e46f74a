"""The oci clients of the control plane (built from an odsc_llm auth) and their errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._errors import AuthError, ControlPlaneError
from ._constants import SERVICE_HINTS, SIGNER_CONFIG

__all__ = ["AuthArg", "ClientFactory", "default_client_factory"]

#: ``auth`` arguments: an :class:`odsc_llm.auth.OCIAuth`, a raw ``oci`` signer, or
#: ``None`` for :func:`odsc_llm.auth.default`.
AuthArg = Any
#: ``(service, region, signer) -> oci client``; ``service`` is ``"data_science"`` or
#: ``"log_search"``. When the calls go to an explicit endpoint (a loopback deployment,
#: or ``control_plane_endpoint``) it is also given ``service_endpoint="http://host:port"``.
ClientFactory = Callable[..., Any]


def resolve_signer(auth: AuthArg) -> Any:
    """The oci signer behind ``auth`` (an OCIAuth, a raw signer, or None for the default)."""
    from .. import auth as auth_module

    signer = getattr(auth_module.resolve(auth), "signer", None)
    if signer is None:  # an httpx.Auth that is not an OCIAuth: nothing oci can sign with
        raise AuthError(
            "auth must be an odsc_llm.auth.OCIAuth (e.g. odsc_llm.auth.api_key()), an oci "
            f"signer, or None for odsc_llm.auth.default(); got {type(auth).__name__}."
        )
    return signer


def _service_config(region: str) -> dict[str, Any]:
    return {**SIGNER_CONFIG, "region": region}


def default_client_factory(
    service: str, region: str, signer: Any, *, service_endpoint: str | None = None
) -> Any:
    """Build the real ``oci`` client for ``service`` in ``region``, signing with ``signer``.

    ``service_endpoint`` (``scheme://host:port``) replaces the region's public endpoint.
    """
    import oci

    config = _service_config(region)
    kwargs: dict[str, Any] = {"signer": signer}
    if service_endpoint is not None:
        kwargs["service_endpoint"] = service_endpoint
    if service == "data_science":
        return oci.data_science.DataScienceClient(config, **kwargs)
    if service == "log_search":
        return oci.loggingsearch.LogSearchClient(config, **kwargs)
    raise ValueError(f"Unknown control-plane service {service!r}.")


def build_client(
    service: str,
    region: str,
    signer: Any,
    client_factory: ClientFactory | None,
    endpoint: str | None,
) -> Any:
    """``client_factory`` (or the default) called with ``service_endpoint`` only when set."""
    factory = client_factory or default_client_factory
    if endpoint is None:
        return factory(service, region, signer)
    return factory(service, region, signer, service_endpoint=endpoint)


def make_client(
    service: str,
    region: str,
    auth: AuthArg,
    client_factory: ClientFactory | None,
    endpoint: str | None = None,
) -> Any:
    """The oci client for ``service``, signing with ``auth``'s signer."""
    return build_client(service, region, resolve_signer(auth), client_factory, endpoint)


def _is_service_error(exc: BaseException) -> bool:
    """An error raised by oci (or the requests library it vendors) while calling OCI."""
    roots = ("oci", "requests", "urllib3")
    return any(cls.__module__.split(".")[0] in roots for cls in type(exc).__mro__)


def wrap_oci_error(exc: Exception, operation: str, subject: str) -> ControlPlaneError:
    """A readable ControlPlaneError from an oci ServiceError (or connection error)."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    request_id = getattr(exc, "request_id", None)
    raw = getattr(exc, "message", None)
    message = str(raw) if raw else f"{type(exc).__name__}: {exc}"
    if isinstance(status, int):
        head = f"{operation} for {subject} failed: {status} {code or ''}".rstrip()
        text = f"{head}: {message}"
    else:
        text = f"{operation} for {subject} failed: {message}"
    if request_id:
        text += f" (opc-request-id: {request_id})"
    hint = SERVICE_HINTS.get(status) if isinstance(status, int) else None
    if hint:
        text += f" Hint: {hint}"
    return ControlPlaneError(
        text,
        status_code=status if isinstance(status, int) else None,
        code=str(code) if code else None,
        request_id=str(request_id) if request_id else None,
        operation=operation,
    )


def call(operation: str, subject: str, func: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """``func(*args, **kw)``, with oci's errors turned into :class:`ControlPlaneError`."""
    try:
        return func(*args, **kw)
    except ControlPlaneError:
        raise
    except Exception as exc:
        if _is_service_error(exc):
            raise wrap_oci_error(exc, operation, subject) from exc
        raise
