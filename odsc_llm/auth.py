"""OCI request signing for httpx: pluggable OCI signers behind one :class:`httpx.Auth`.

Every provider returns an :class:`OCIAuth`, which signs each request the way OCI
requires (the ``Authorization: Signature ...`` header of the OCI HTTP signature scheme).
The crypto and the header rules come from the ``oci`` package's own signers;
:class:`OCIAuth` only adapts an :class:`httpx.Request` to them (that adapter is
:mod:`odsc_llm._signing_request`) and decides when and where to sign.

.. code-block:: python

    import odsc_llm

    auth = odsc_llm.auth.default()            # resource principal, or ~/.oci/config
    auth = odsc_llm.auth.api_key(profile="DEFAULT")
    auth = odsc_llm.auth.security_token(profile="my-session")
    auth = odsc_llm.auth.resource_principal()
    auth = odsc_llm.auth.instance_principal()
    auth = odsc_llm.auth.oke_workload_identity()
    auth = odsc_llm.auth.from_signer(signer)  # any oci signer object

Importing this module does not import ``oci``: it is loaded when a provider is called.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, TypeVar

import httpx

from ._errors import AuthError
from ._signers import always_due, headers_wanted, never_due, signing_plan
from ._signing_request import prepare, write_back

__all__ = [
    "OCIAuth",
    "api_key",
    "config_location",
    "default",
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


async def _in_worker_thread(fn: Callable[..., _T], *args: Any) -> _T:
    """Run blocking ``fn(*args)`` in a worker thread (asyncio or trio, via anyio)."""
    from anyio import to_thread  # lazy: only token refreshes and unknown signers need it

    return await to_thread.run_sync(fn, *args)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class OCIAuth(httpx.Auth):
    """An :class:`httpx.Auth` that signs every request with an OCI signer.

    Args:
        signer: any oci signer (``oci.signer.Signer``, ``SecurityTokenSigner``, resource,
            instance principal or OKE workload identity signers, ...): a callable that
            signs a request-like object in place, as oci's signers do.
        refresh: called once after a ``401`` answer, before the request is signed and
            sent again (once). Defaults to the signer's ``refresh_security_token`` when
            it has one; API-key signers have nothing to refresh.
        region: the region of these credentials (default: the signer's ``region``, if any);
            providers that read a config profile set it from the profile.
        blocking: whether signing may do blocking I/O (token refresh). ``True``: the
            async flow always signs in a worker thread. ``False``: it always signs on the
            event loop (refreshes included). ``None`` (the default) decides from the
            signer: plain key signing is CPU-only and stays on the event loop; token
            signers go to a thread only when their token is due for a refresh; unknown
            signers always go to a thread. The sync flow always signs in the caller's
            thread; a refresh after a ``401`` always runs in a worker thread in async code.

    Each send is signed afresh (a retry gets a new ``date``). A caller-supplied
    ``Authorization`` header is refused with :class:`~odsc_llm.AuthError`.
    """

    requires_request_body = True

    def __init__(
        self,
        signer: Any,
        *,
        refresh: Callable[[], object] | None = None,
        blocking: bool | None = None,
        region: str | None = None,
    ) -> None:
        if isinstance(signer, OCIAuth):
            region = region or signer.region
            signer = signer.signer
        if not callable(signer):
            raise AuthError(
                f"OCIAuth needs an oci signer (a callable such as oci.signer.Signer), "
                f"not {type(signer).__name__}."
            )
        #: The underlying oci signer; pass it as ``signer=`` to oci service clients.
        self.signer: Any = signer
        #: The home region of these credentials (the config profile's ``region``, or the
        #: principal's), used by control-plane calls that are not tied to a deployment.
        self.region: str | None = region or _str_or_none(getattr(signer, "region", None))
        self._description = f"signer={type(signer).__name__}"
        self._refresh_lock = threading.Lock()
        self._refresh_generation = 0

        # How to sign: `_sign_call` may do I/O (refresh); `_sign_fast` never does and is
        # used on the event loop when `_io_due()` says no refresh is due.
        plan = signing_plan(signer)
        io_due, sign_fast, pre_sign = plan.io_due, plan.sign_fast, plan.pre_sign
        fast_pre_sign: Callable[[], object] | None = None  # io_due() said: nothing due
        if blocking is True:
            io_due = always_due
        elif blocking is False:  # the caller says nothing blocks: the full path, on the loop
            io_due = never_due
            sign_fast = signer
            fast_pre_sign = pre_sign

        self._wanted = headers_wanted(signer)
        self._sign_call: Callable[[Any], object] = signer
        self._sign_fast = sign_fast
        self._pre_sign = pre_sign
        self._fast_pre_sign = fast_pre_sign
        self._io_due = io_due
        self._refresh: Callable[[], object] | None = (
            refresh if refresh is not None else getattr(signer, "refresh_security_token", None)
        )

    def __repr__(self) -> str:
        return f"OCIAuth({self._description})"

    # -- signing -------------------------------------------------------------------

    def _sign(self, request: httpx.Request, *, may_block: bool = True) -> int:
        """Sign ``request`` in place; returns the refresh generation it was signed with."""
        stand_in, before = prepare(request, self._wanted)
        generation = self._refresh_generation
        try:
            if may_block:
                if self._pre_sign is not None:
                    self._pre_sign()
                self._sign_call(stand_in)
            else:
                if self._fast_pre_sign is not None:
                    self._fast_pre_sign()
                self._sign_fast(stand_in)
        except AuthError:
            raise
        except Exception as exc:
            raise AuthError(
                f"Signing the request with {type(self.signer).__name__} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

        write_back(request, stand_in, before)
        return generation

    def _refresh_after_401(self, generation: int) -> None:
        """Refresh once, unless another request already refreshed since ``generation``."""
        refresh = self._refresh
        if refresh is None:
            return
        with self._refresh_lock:
            if self._refresh_generation != generation:
                return
            try:
                refresh()
            except AuthError:
                raise
            except Exception as exc:
                raise AuthError(
                    f"Refreshing the credentials of {type(self.signer).__name__} after a 401 "
                    f"failed: {type(exc).__name__}: {exc}"
                ) from exc
            self._refresh_generation += 1

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()  # requires_request_body: the body is hashed and signed
        generation = self._sign(request)
        response = yield request
        if response.status_code == 401 and self._refresh is not None:
            logger.debug("401 from %s: refreshing credentials and re-sending once", request.url)
            self._refresh_after_401(generation)
            self._sign(request)
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()  # requires_request_body: the body is hashed and signed
        if self._io_due():
            generation = await _in_worker_thread(self._sign, request)
        else:
            generation = self._sign(request, may_block=False)
        response = yield request
        if response.status_code == 401 and self._refresh is not None:
            logger.debug("401 from %s: refreshing credentials and re-sending once", request.url)
            await _in_worker_thread(self._refresh_after_401, generation)
            await _in_worker_thread(self._sign, request)
            yield request


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
    auth = OCIAuth(signer, region=_str_or_none(config.get("region")))
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
    auth = OCIAuth(signer, region=_str_or_none(config.get("region")))
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
    _refuse_uncalled(auth)
    if callable(auth) or hasattr(auth, "do_request_sign"):
        return from_signer(auth)
    raise AuthError(
        "auth must be an odsc_llm.auth.OCIAuth (odsc_llm.auth.api_key(), .security_token(), "
        ".resource_principal(), .instance_principal(), or .from_signer(signer) for an oci "
        f"signer object), or None for odsc_llm.auth.default(); got {type(auth).__name__}."
    )
