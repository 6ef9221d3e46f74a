"""OCI request signing for httpx: pluggable OCI signers behind one :class:`httpx.Auth`.

Every provider returns an :class:`OCIAuth`, which signs each request the way OCI
requires (the ``Authorization: Signature ...`` header of the OCI HTTP signature scheme).
The crypto and the header rules come from the ``oci`` package's own signers;
:class:`OCIAuth` only adapts an :class:`httpx.Request` to them (that adapter is
``odsc_llm.auth._httpx_auth``) and decides when and where to sign.

.. code-block:: python

    import odsc_llm

    auth = odsc_llm.auth.default()            # resource principal, or ~/.oci/config
    auth = odsc_llm.auth.api_key(profile="DEFAULT")
    auth = odsc_llm.auth.security_token(profile="my-session")
    auth = odsc_llm.auth.resource_principal()
    auth = odsc_llm.auth.instance_principal()
    auth = odsc_llm.auth.oke_workload_identity()
    auth = odsc_llm.auth.from_signer(signer)  # any oci signer object

    httpx2.Client(auth=odsc_llm.auth.for_httpx2(auth))  # the same signing, for httpx2

Importing this module does not import ``oci`` (loaded when a provider is called) nor
``httpx2`` (loaded by :func:`for_httpx2`).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .._errors import AuthError
from ._httpx_auth import OCIAuth, nonempty_str

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "OCIAuth",
    "api_key",
    "config_location",
    "default",
    "for_httpx2",
    "from_config",
    "from_signer",
    "instance_principal",
    "oke_workload_identity",
    "resolve",
    "resource_principal",
    "security_token",
]

logger = logging.getLogger("odsc_llm.auth")
_T = TypeVar("_T")

DEFAULT_CONFIG_FILE = "~/.oci/config"
DEFAULT_PROFILE = "DEFAULT"
#: The environment variables the oci CLI reads, and so do the providers here.
ENV_CONFIG_FILE = "OCI_CONFIG_FILE"
ENV_PROFILE = "OCI_CLI_PROFILE"


def _describe(auth: OCIAuth, description: str) -> OCIAuth:
    auth._description = description
    return auth


# -- providers ---------------------------------------------------------------------


def from_signer(signer: Any) -> OCIAuth:
    """An :class:`OCIAuth` from a ready-made oci signer (returned as is if already one)."""
    if isinstance(signer, OCIAuth):
        return signer
    return OCIAuth(signer)


def config_location(profile: str | None = None, config_file: str | None = None) -> tuple[str, str]:
    """(config file path, profile) as the oci CLI chooses them.

    An argument left out (``None``) comes from ``OCI_CONFIG_FILE`` / ``OCI_CLI_PROFILE``,
    else the defaults ``~/.oci/config`` / ``DEFAULT``. The path is expanded and absolute.
    """
    file = config_file or os.environ.get(ENV_CONFIG_FILE) or DEFAULT_CONFIG_FILE
    chosen = profile or os.environ.get(ENV_PROFILE) or DEFAULT_PROFILE
    return os.path.abspath(os.path.expanduser(os.fspath(file))), chosen


def api_key(profile: str | None = None, config_file: str | None = None) -> OCIAuth:
    """API-key signing from a profile of an OCI config file (``oci setup config``).

    ``profile`` defaults to ``OCI_CLI_PROFILE`` (else ``DEFAULT``) and ``config_file`` to
    ``OCI_CONFIG_FILE`` (else ``~/.oci/config``), as with the oci CLI. The profile needs
    ``tenancy``, ``user``, ``fingerprint`` and ``key_file`` (plus ``pass_phrase`` when the
    key is encrypted).

    Raises:
        AuthError: the config file, the profile or the key file is missing or unusable.
    """
    from . import _credentials

    path, profile = config_location(profile, config_file)
    config = _credentials.load_profile(path, profile)
    signer = _credentials.api_key_signer(config, path, profile)
    auth = OCIAuth(signer, region=nonempty_str(config.get("region")))
    return _describe(auth, f"api_key, profile={profile!r}, config_file={path!r}")


def security_token(profile: str | None = None, config_file: str | None = None) -> OCIAuth:
    """Session-token signing from a profile made by ``oci session authenticate``.

    ``profile`` and ``config_file`` default as for :func:`api_key` (the environment, then
    ``DEFAULT`` / ``~/.oci/config``). Reads the profile's ``security_token_file`` and
    ``key_file`` (no ``user`` needed). The token file is re-read when it changes on disk
    (e.g. after ``oci session refresh``); a warning is logged once when the token is
    about to expire, and an expired token raises :class:`~odsc_llm.AuthError` at once.
    """
    from . import _credentials, _session_token

    path, profile = config_location(profile, config_file)
    config = _credentials.load_profile(path, profile)
    signer = _session_token.session_token_signer(config, path, profile)
    auth = OCIAuth(signer, region=nonempty_str(config.get("region")))
    return _describe(auth, f"security_token, profile={profile!r}, config_file={path!r}")


def from_config(profile: str | None = None, config_file: str | None = None) -> OCIAuth:
    """The config profile's own kind: :func:`security_token` when the profile has
    ``security_token_file``, else :func:`api_key` (defaults as for :func:`api_key`)."""
    from . import _credentials

    path, profile = config_location(profile, config_file)
    config = _credentials.load_profile(path, profile)
    if config.get("security_token_file"):
        logger.debug("session token, profile %s of %s", profile, path)
        return security_token(profile, path)
    logger.debug("API key, profile %s of %s", profile, path)
    return api_key(profile, path)


def resource_principal(*, timeout: float | tuple[float, float] | None = None) -> OCIAuth:
    """Resource-principal signing (notebook sessions, jobs, functions).

    Uses ``oci.auth.signers.get_resource_principals_signer()``, which reads
    ``OCI_RESOURCE_PRINCIPAL_VERSION`` and the variables that go with it. Versions 1.1
    and 2.1 fetch a token over the network now: ``timeout`` (seconds, or
    ``(connect, read)``; default at most 30 s in all) bounds that, and a token endpoint
    that cannot be reached is a one-line :class:`~odsc_llm.AuthError`.
    """
    from . import _credentials

    signer = _credentials.resource_principal_signer(timeout=timeout)
    version = os.environ.get("OCI_RESOURCE_PRINCIPAL_VERSION")
    return _describe(OCIAuth(signer), f"resource_principal, version={version!r}")


def instance_principal(
    *,
    timeout: float | tuple[float, float] | None = None,
    max_retries: int | None = None,
    **kwargs: Any,
) -> OCIAuth:
    """Instance-principal signing on an OCI compute instance.

    Contacts the instance metadata service now (``OCI_METADATA_BASE_URL`` overrides
    where): ``timeout`` (seconds, or ``(connect, read)``; default at most 30 s in all)
    bounds that, retries included (``max_retries``, default 2, with oci's retry
    strategy); off OCI it fails with a one-line :class:`~odsc_llm.AuthError`. ``kwargs``
    go to ``oci.auth.signers.InstancePrincipalsSecurityTokenSigner``.
    """
    from . import _credentials

    signer = _credentials.instance_principal_signer(
        timeout=timeout, max_retries=max_retries, **kwargs
    )
    return _describe(OCIAuth(signer), "instance_principal")


def oke_workload_identity(**kwargs: Any) -> OCIAuth:
    """OKE workload-identity signing for pods in an OKE cluster.

    ``kwargs`` go to
    ``oci.auth.signers.get_oke_workload_identity_resource_principal_signer``.
    """
    from . import _credentials

    signer = _credentials.oke_workload_identity_signer(**kwargs)
    return _describe(OCIAuth(signer), "oke_workload_identity")


def default() -> OCIAuth:
    """The credentials the environment provides, in this order:

    1. ``OCI_RESOURCE_PRINCIPAL_VERSION`` is set (notebook sessions, jobs): resource
       principal.
    2. The OCI config file (``OCI_CONFIG_FILE``, else ``~/.oci/config``), profile
       ``OCI_CLI_PROFILE`` (else ``DEFAULT``): a profile with ``security_token_file``
       gives :func:`security_token`, otherwise :func:`api_key`.
    3. Else :class:`~odsc_llm.AuthError` naming everything tried.
    """
    version = os.environ.get("OCI_RESOURCE_PRINCIPAL_VERSION")
    if version:
        logger.debug(
            "auth.default(): OCI_RESOURCE_PRINCIPAL_VERSION=%s: resource principal", version
        )
        return resource_principal()

    from_env = os.environ.get(ENV_CONFIG_FILE)
    path, profile = config_location()
    if os.path.isfile(path):
        return from_config(profile, path)

    source = "from OCI_CONFIG_FILE" if from_env else "the default location"
    raise AuthError(
        "No OCI credentials found. Tried, in order: "
        "(1) resource principal: OCI_RESOURCE_PRINCIPAL_VERSION is not set; "
        f"(2) the OCI config file {path} ({source}), profile {profile!r}: the file does not "
        "exist. Fix: create a config with `oci setup config` (API key) or "
        "`oci session authenticate` (session token), or set OCI_CONFIG_FILE / "
        "OCI_CLI_PROFILE; on an OCI instance use odsc_llm.auth.instance_principal(), in OKE "
        "odsc_llm.auth.oke_workload_identity()."
    )


def _refuse_uncalled(auth: object) -> None:
    """A provider or a class passed instead of what it makes: signing with it would fail
    only at the first request, with a puzzling message. (A function that takes the
    request is a raw oci signer, and stays accepted.)"""
    if isinstance(auth, type):
        raise AuthError(
            f"auth= takes an instance, not the class {auth.__name__}: pass "
            "odsc_llm.auth.api_key() (or another provider's result), or an oci signer object."
        )
    if not inspect.isroutine(auth) and not isinstance(auth, functools.partial):
        return
    try:
        inspect.signature(auth).bind()
    except TypeError:
        return  # it needs arguments: a signer function of the request
    except ValueError:  # no signature to read (some builtins)
        pass
    module = getattr(auth, "__module__", None)
    name = getattr(auth, "__qualname__", None) or repr(auth)
    shown = f"odsc_llm.auth.{name}" if module == __name__ else name
    raise AuthError(
        f"auth={shown} is the function, not the credentials it makes: call it: auth={shown}()."
    )


def resolve(auth: Any = None) -> httpx.Auth:
    """The one place where "an auth, a raw oci signer, or nothing" becomes an ``httpx.Auth``.

    ``None`` gives :func:`default`; an :class:`OCIAuth` or any other ``httpx.Auth`` is
    returned as is; an oci signer object (anything callable or with
    ``do_request_sign``) is wrapped by :func:`from_signer`. A provider left uncalled
    (``auth=odsc_llm.auth.api_key``) or a class is refused with an :class:`AuthError`
    saying what to write. The clients, the control plane and the integrations all
    resolve their ``auth`` argument here, so each refuses bad values when it is made.
    """
    if auth is None:
        return default()
    if isinstance(auth, httpx.Auth):
        return auth
    # An auth made for httpx2 (for_httpx2) stands for the httpx auth it wraps; its module
    # is in sys.modules only once httpx2 is in use, so httpx2 is never imported here.
    adapter = sys.modules.get(f"{__name__}._httpx2_auth")
    if adapter is not None and isinstance(auth, adapter.HTTPX2Auth):
        return auth.auth  # type: ignore[no-any-return]
    _refuse_uncalled(auth)
    if callable(auth) or hasattr(auth, "do_request_sign"):
        return from_signer(auth)
    raise AuthError(
        "auth must be an odsc_llm.auth.OCIAuth (odsc_llm.auth.api_key(), .security_token(), "
        ".resource_principal(), .instance_principal(), or .from_signer(signer) for an oci "
        f"signer object), or None for odsc_llm.auth.default(); got {type(auth).__name__}."
    )


def for_httpx2(auth: Any = None) -> httpx2.Auth:
    """``auth`` as the ``auth=`` of an ``httpx2.Client`` / ``httpx2.AsyncClient``.

    ``auth`` is anything :func:`resolve` takes (``None``: :func:`default`). The result
    runs the very same signing as on httpx (one signing path: the httpx2 request is shown
    to :class:`OCIAuth` as an httpx request and the signed headers are copied back), with
    its refresh after a 401 and, in async clients, token refreshes in a worker thread.
    Needs ``httpx2`` (``pip install 'odsc-llm[httpx2]'``; openai >= 2 installs it).
    """
    resolved = resolve(auth)
    try:
        from ._httpx2_auth import HTTPX2Auth
    except ImportError as exc:
        raise ImportError(
            "odsc_llm.auth.for_httpx2 needs the `httpx2` package, which is not installed. "
            "Install the extra: pip install 'odsc-llm[httpx2]'"
        ) from exc
    return HTTPX2Auth(resolved)
