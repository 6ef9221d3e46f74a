"""oci-backed helpers of :mod:`odsc_llm.auth` (imported only when a provider is built).

Everything here turns oci's exceptions into :class:`~odsc_llm.AuthError` messages that
name the file, profile or key at fault and how to fix it, without ever quoting a key,
a pass phrase or a token. The session-token signer, which follows its token file on
disk, is in :mod:`odsc_llm.auth._session_token`.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Callable
from typing import Any

import oci
import oci.auth.signers
import oci.config
import oci.exceptions
import oci.signer
from oci.auth.signers import instance_principals_security_token_signer

from .._errors import AuthError
from .._oci_bounds import (
    Bounds,
    TimeoutArg,
    bounds,
    brief,
    network_cause,
    one_line,
    run_bounded,
    seconds,
    url_root,
)

_API_KEY_FIELDS = ("tenancy", "user", "fingerprint", "key_file")
_SETUP_HINT = "`oci setup config` writes an API-key profile"
_SESSION_HINT = "`oci session authenticate --profile-name {profile}` writes a session profile"


def expand(path: str) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def _profiles_in(path: str) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path)
    except (configparser.Error, OSError, UnicodeDecodeError):
        return []
    names = list(parser.sections())
    if parser.defaults():
        names.insert(0, "DEFAULT")
    return names


def load_profile(path: str, profile: str) -> dict[str, Any]:
    """The profile's settings (``oci.config.from_file``), or an AuthError saying why not."""
    if not os.path.isfile(path):
        raise AuthError(
            f"OCI config file {path} not found. Create it ({_SETUP_HINT}; "
            f"{_SESSION_HINT.format(profile=profile)}), or pass config_file= / set "
            "OCI_CONFIG_FILE to the config file you use."
        )
    try:
        config: dict[str, Any] = oci.config.from_file(path, profile)
    except oci.exceptions.ProfileNotFound:
        config = {}
    except oci.exceptions.InvalidKeyFilePath:
        key_file = _raw_value(path, profile, "key_file")
        raise AuthError(
            f"The key_file {key_file!r} of profile [{profile}] in {path} does not exist. "
            "Fix the key_file line of that profile to point at your private key (PEM)."
        ) from None
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise AuthError(
            f"OCI config file {path} cannot be parsed ({type(exc).__name__}); "
            "check its [profile] sections and key=value lines."
        ) from None
    except ValueError as exc:  # e.g. key_content in a file, bad log_requests value
        raise AuthError(
            f"Profile [{profile}] in OCI config file {path} is invalid: {exc}"
        ) from None
    except oci.exceptions.ConfigFileNotFound:
        raise AuthError(f"OCI config file {path} could not be read.") from None
    own = set(config) - set(oci.config.DEFAULT_CONFIG)
    if not own:
        available = _profiles_in(path)
        listed = ", ".join(available) if available else "none"
        raise AuthError(
            f"Profile [{profile}] not found in OCI config file {path} (profiles there: "
            f"{listed}). Pass profile= (or set OCI_CLI_PROFILE) to one of them, or add "
            f"the profile ({_SETUP_HINT}; {_SESSION_HINT.format(profile=profile)})."
        )
    return config


def _raw_value(path: str, profile: str, key: str) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path)
        return os.path.expanduser(parser[profile][key])
    except Exception:
        return "?"


def _key_where(key_file: str, path: str, profile: str) -> str:
    return f"key_file {os.path.expanduser(key_file)} of profile [{profile}] in {path}"


def _key_error(exc: Exception, where: str, pass_phrase: str | None) -> AuthError:
    """The AuthError for an oci key-loading failure (never quoting key or pass phrase)."""
    if isinstance(exc, FileNotFoundError):
        return AuthError(f"The {where} does not exist. Fix the key_file line of that profile.")
    if isinstance(exc, OSError):
        return AuthError(f"The {where} cannot be read ({exc.strerror}).")
    if isinstance(exc, oci.exceptions.MissingPrivateKeyPassphrase):
        return AuthError(
            f"The {where} is encrypted and the profile has no pass_phrase: add a "
            "pass_phrase line to the profile (or use an unencrypted key)."
        )
    if isinstance(exc, oci.exceptions.InvalidPrivateKey):
        if "public key" in str(exc):
            reason = "it holds a public key; key_file must be the private key (PEM)"
        elif pass_phrase is not None:
            reason = (
                "the pass_phrase of the profile is wrong, or the file is not a PEM "
                "private key; fix the pass_phrase line or the key_file"
            )
        else:
            reason = "it is not a PEM private key; point key_file at your private key"
        return AuthError(f"The {where} could not be loaded: {reason}.")
    return AuthError(
        f"The {where} could not be loaded ({type(exc).__name__}): check that it is a PEM "
        "private key and that the profile's pass_phrase matches it."
    )


_KEY_ERRORS = (
    OSError,
    ValueError,
    TypeError,
    oci.exceptions.MissingPrivateKeyPassphrase,
    oci.exceptions.InvalidPrivateKey,
)


def load_key(key_file: str, pass_phrase: str | None, path: str, profile: str) -> Any:
    """The private key in ``key_file`` (of ``profile`` in ``path``), or an AuthError."""
    try:
        return oci.signer.load_private_key_from_file(os.path.expanduser(key_file), pass_phrase)
    except _KEY_ERRORS as exc:
        raise _key_error(exc, _key_where(key_file, path, profile), pass_phrase) from None


def api_key_signer(config: dict[str, Any], path: str, profile: str) -> Any:
    """An ``oci.signer.Signer`` for an API-key profile."""
    missing = [name for name in _API_KEY_FIELDS if not config.get(name)]
    if missing:
        hint = ""
        if config.get("security_token_file"):
            hint = (
                " This profile has a security_token_file: use "
                f"odsc_llm.auth.security_token(profile={profile!r}) (or auth.default())."
            )
        raise AuthError(
            f"Profile [{profile}] in {path} cannot sign with an API key: it has no "
            f"{', '.join(missing)}. An API-key profile needs tenancy, user, fingerprint and "
            f"key_file ({_SETUP_HINT}).{hint}"
        )
    pass_phrase = config.get("pass_phrase")
    key_file = os.path.expanduser(config["key_file"])
    try:
        return oci.signer.Signer(
            config["tenancy"],
            config["user"],
            config["fingerprint"],
            private_key_file_location=key_file,
            pass_phrase=pass_phrase,
        )
    except _KEY_ERRORS as exc:
        raise _key_error(exc, _key_where(key_file, path, profile), pass_phrase) from None


def _principal_error(kind: str, exc: BaseException, hint: str) -> AuthError:
    return AuthError(f"Could not load {kind} credentials ({type(exc).__name__}: {exc}). {hint}")


_RP_HINT = (
    "Resource principals work inside OCI notebook sessions, jobs, pipelines and functions, "
    "which set OCI_RESOURCE_PRINCIPAL_VERSION and the variables that go with it; elsewhere "
    "use api_key() or security_token()."
)
# (what the principal needs, what to do elsewhere): the two ends of its one-line errors.
_RP_NEEDS = (
    "resource principals need an OCI notebook session, job or function",
    "Elsewhere use api_key() or security_token().",
)
_IP_NEEDS = (
    "instance principals need an OCI compute instance",
    "Off OCI compute instances use api_key() or security_token().",
)


def _unreachable(needs: tuple[str, str], where: str, cause: str, limits: Bounds) -> AuthError:
    """``<needs>; <where>: <cause> (bounds). <fix>``, one line."""
    what, fix = needs
    return AuthError(one_line(f"{what}; {where}: {cause} ({limits.describe()}). {fix}"))


def _bounded(build: Callable[[], Any], needs: tuple[str, str], where: str, limits: Bounds) -> Any:
    """``build()`` (a principal signer that fetches its credentials over the network)
    within ``limits``: no answer in time, or a network failure, is a one-line AuthError;
    other errors propagate."""

    def deadline_passed() -> AuthError:
        return _unreachable(needs, where, f"no answer within {seconds(limits.total)} s", limits)

    try:
        return run_bounded(build, limits, waiting_for=where, on_deadline=deadline_passed)
    except Exception as exc:
        cause = network_cause(exc, limits)
        if cause is None:
            raise
        raise _unreachable(needs, where, cause, limits) from exc


def resource_principal_signer(*, timeout: TimeoutArg = None) -> Any:
    """``oci.auth.signers.get_resource_principals_signer()`` within ``timeout`` (default
    30 s in all): versions 1.1 and 2.1 fetch their token over the network at once."""
    limits = bounds(timeout).start()
    endpoint = os.environ.get("OCI_RESOURCE_PRINCIPAL_RPT_ENDPOINT")
    where = "the token endpoint"
    if endpoint:
        where += f" {url_root(endpoint)}"
    try:
        return _bounded(oci.auth.signers.get_resource_principals_signer, _RP_NEEDS, where, limits)
    except AuthError:
        raise
    except Exception as exc:  # not a network failure: not a resource principal's environment
        version = os.environ.get("OCI_RESOURCE_PRINCIPAL_VERSION")
        raise _principal_error(
            "resource principal", exc, f"OCI_RESOURCE_PRINCIPAL_VERSION={version!r}. {_RP_HINT}"
        ) from exc


def metadata_base_url() -> str:
    """Where oci's instance-principal signer reads the instance metadata (its
    ``OCI_METADATA_BASE_URL`` override, else the link-local default)."""
    # From its module: tests replace the name in oci.auth.signers with a stand-in.
    signer_class = instance_principals_security_token_signer.InstancePrincipalsSecurityTokenSigner
    override = os.environ.get(signer_class.METADATA_URL_BASE_ENV_VAR, "").strip()
    return override or str(signer_class.DEFAULT_METADATA_URL_BASE)


def instance_principal_signer(
    *, timeout: TimeoutArg = None, max_retries: int | None = None, **kwargs: Any
) -> Any:
    """``oci.auth.signers.InstancePrincipalsSecurityTokenSigner(**kwargs)`` within
    ``timeout`` (default 30 s in all), retrying the metadata service ``max_retries``
    times with oci's retry strategy (unless ``kwargs`` has its own ``retry_strategy``)."""
    limits = bounds(timeout, max_retries).start()
    if not kwargs.get("retry_strategy"):
        kwargs["retry_strategy"] = limits.retry_strategy()
    where = f"the instance metadata service {metadata_base_url()}"
    try:
        return _bounded(
            lambda: oci.auth.signers.InstancePrincipalsSecurityTokenSigner(**kwargs),
            _IP_NEEDS,
            where,
            limits,
        )
    except AuthError:
        raise
    except Exception as exc:  # it answered, but not as an OCI instance's metadata does
        raise _unreachable(_IP_NEEDS, where, brief(exc), limits) from exc


def oke_workload_identity_signer(**kwargs: Any) -> Any:
    try:
        return oci.auth.signers.get_oke_workload_identity_resource_principal_signer(**kwargs)
    except Exception as exc:
        raise _principal_error(
            "OKE workload identity",
            exc,
            "Workload identity works only in pods of an OKE enhanced cluster (it needs "
            "KUBERNETES_SERVICE_HOST, the service account token and OCI_RESOURCE_PRINCIPAL_"
            "REGION).",
        ) from exc
