"""The oci clients of the control plane (built from an odsc_llm auth) and their errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._errors import AuthError, ControlPlaneError
from .._oci_bounds import Bounds, bounds, network_cause, one_line, run_bounded, seconds, url_root
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
    service: str,
    region: str,
    signer: Any,
    *,
    service_endpoint: str | None = None,
    timeout: tuple[float, float] | None = None,
    retry_strategy: Any = None,
) -> Any:
    """Build the real ``oci`` client for ``service`` in ``region``, signing with ``signer``.

    ``service_endpoint`` (``scheme://host:port``) replaces the region's public endpoint;
    ``timeout`` (``(connect, read)`` seconds) and ``retry_strategy`` (an ``oci.retry``
    strategy) replace oci's own defaults (see :func:`odsc_llm._oci_bounds.bounds`).
    """
    import oci

    config = _service_config(region)
    kwargs: dict[str, Any] = {"signer": signer}
    if service_endpoint is not None:
        kwargs["service_endpoint"] = service_endpoint
    if timeout is not None:
        kwargs["timeout"] = timeout
    if retry_strategy is not None:
        kwargs["retry_strategy"] = retry_strategy
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
    limits: Bounds,
) -> Any:
    """``client_factory`` (or the default) called with ``service_endpoint`` only when set.

    The default factory also gets the per-attempt timeouts and oci's retry strategy of
    ``limits``; a custom factory builds its clients as it likes (the overall deadline
    of :func:`call` still holds).
    """
    extra: dict[str, Any] = {} if endpoint is None else {"service_endpoint": endpoint}
    if client_factory is None:
        return default_client_factory(
            service,
            region,
            signer,
            timeout=limits.oci_timeout,
            retry_strategy=limits.retry_strategy(),
            **extra,
        )
    return client_factory(service, region, signer, **extra)


def make_client(
    service: str,
    region: str,
    auth: AuthArg,
    client_factory: ClientFactory | None,
    endpoint: str | None,
    limits: Bounds,
) -> Any:
    """The oci client for ``service``, signing with ``auth``'s signer."""
    return build_client(service, region, resolve_signer(auth), client_factory, endpoint, limits)


def _is_service_error(exc: BaseException) -> bool:
    """An error raised by oci (or the requests library it vendors) while calling OCI."""
    roots = ("oci", "requests", "urllib3")
    return any(cls.__module__.split(".")[0] in roots for cls in type(exc).__mro__)


def endpoint_of(client: Any) -> str:
    """``scheme://host[:port]`` the oci ``client`` calls (a stand-in when unknown)."""
    endpoint = getattr(getattr(client, "base_client", None), "endpoint", None)
    return url_root(endpoint) if isinstance(endpoint, str) and endpoint else "(its endpoint)"


def _unanswered(
    operation: str, endpoint: str, cause: str, limits: Bounds, **fields: Any
) -> ControlPlaneError:
    """The one-line error of a call that got no answer: ``<operation> <endpoint>: <cause>``."""
    text = (
        f"{operation} {endpoint}: {cause} ({limits.describe()}); check the network and the "
        "endpoint, or allow a longer timeout or more retries."
    )
    return ControlPlaneError(one_line(text), operation=operation, **fields)


def wrap_oci_error(
    exc: Exception,
    operation: str,
    subject: str,
    endpoint: str = "(its endpoint)",
    limits: Bounds | None = None,
) -> ControlPlaneError:
    """A readable ControlPlaneError from an oci ServiceError (or connection error)."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    request_id = getattr(exc, "request_id", None)
    if not isinstance(status, int):
        cause = network_cause(exc, limits)
        if cause is None:
            cause = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
        return _unanswered(operation, endpoint, cause, limits or bounds())
    raw = getattr(exc, "message", None)
    message = str(raw) if raw else f"{type(exc).__name__}: {exc}"
    head = f"{operation} for {subject} failed: {status} {code or ''}".rstrip()
    text = f"{head}: {message}"
    if request_id:
        text += f" (opc-request-id: {request_id})"
    hint = SERVICE_HINTS.get(status)
    if hint:
        text += f" Hint: {hint}"
    return ControlPlaneError(
        text,
        status_code=status,
        code=str(code) if code else None,
        request_id=str(request_id) if request_id else None,
        operation=operation,
    )


def call(
    operation: str,
    subject: str,
    func: Callable[..., Any],
    *args: Any,
    client: Any,
    limits: Bounds,
) -> Any:
    """``func(*args)`` within the deadline of ``limits``, with oci's errors turned into
    :class:`ControlPlaneError` (one line, ``<operation> <endpoint>: <cause>``, when the
    call got no answer)."""
    endpoint = endpoint_of(client)

    def deadline_passed() -> ControlPlaneError:
        cause = f"no answer within {seconds(limits.total)} s"
        return _unanswered(operation, endpoint, cause, limits)

    try:
        return run_bounded(
            lambda: func(*args),
            limits,
            waiting_for=f"{operation} {endpoint}",
            on_deadline=deadline_passed,
        )
    except ControlPlaneError:
        raise
    except Exception as exc:
        if _is_service_error(exc):
            raise wrap_oci_error(exc, operation, subject, endpoint, limits) from exc
        raise
