"""The session-token signer of :func:`odsc_llm.auth.security_token` (oci-backed).

A profile made by ``oci session authenticate`` signs with a token that lives in a file
and is replaced there (``oci session refresh``) while a client is running.
:class:`FileSecurityTokenSigner` follows that file, warns before the token expires and
refuses an expired one. It is apart from :mod:`odsc_llm.auth._credentials` (config profiles,
keys, the other signers) because it is the one signer with state of its own: files
watched, an expiry tracked, a lock around reloads.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import oci.auth.signers

from .._errors import AuthError
from ._credentials import expand, load_key

logger = logging.getLogger("odsc_llm.auth")

#: How often (at most) a session-token signer looks at its files on disk.
TOKEN_FILE_CHECK_INTERVAL = 1.0
#: Warn once when a session token expires within this many seconds.
TOKEN_EXPIRY_WARNING_SECONDS = 300.0


def _jwt_times(token: str) -> tuple[float | None, float | None]:
    """(exp, iat) of a JWT, read without verifying it; (None, None) if not a JWT."""
    import jwt  # PyJWT, a dependency of oci

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:
        return None, None
    exp = claims.get("exp")
    iat = claims.get("iat")
    return (
        float(exp) if isinstance(exp, (int, float)) else None,
        float(iat) if isinstance(iat, (int, float)) else None,
    )


def _refresh_hint(profile: str) -> str:
    return (
        f"Run `oci session refresh --profile {profile}` (or, once the session can no longer "
        f"be refreshed, `oci session authenticate --profile-name {profile}`)."
    )


class FileSecurityTokenSigner(oci.auth.signers.SecurityTokenSigner):  # type: ignore[misc]
    """A ``SecurityTokenSigner`` that follows its session-token file on disk.

    At most every :data:`TOKEN_FILE_CHECK_INTERVAL` seconds it looks at the token and
    key files (one ``stat`` each) and reloads them when they changed, e.g. after
    ``oci session refresh``. It logs a warning once when the token is about to expire
    and raises :class:`~odsc_llm.AuthError` instead of signing with an expired token.
    oci service clients given this signer get the same behaviour.
    """

    def __init__(
        self,
        token_file: str,
        key_file: str,
        pass_phrase: str | None,
        *,
        profile: str,
        config_file: str,
        check_interval: float = TOKEN_FILE_CHECK_INTERVAL,
    ) -> None:
        self._token_file = token_file
        self._key_file = key_file
        self._pass_phrase = pass_phrase
        self._profile = profile
        self._config_file = config_file
        self._check_interval = check_interval
        self._files_lock = threading.Lock()
        self._token_stamp: tuple[int, int] | None = None
        self._key_stamp: tuple[int, int] | None = None
        self._exp: float | None = None
        self._warned = False
        self._next_check = 0.0
        self._wake_at = float("inf")
        token = self._read_token()
        key = load_key(key_file, pass_phrase, config_file, profile)
        self._key_stamp = self._stamp(key_file)
        self._token = token
        self._accept_token(token)
        super().__init__(token, key)
        self._next_check = time.monotonic() + check_interval

    def __repr__(self) -> str:
        return (
            f"FileSecurityTokenSigner(profile={self._profile!r}, "
            f"security_token_file={self._token_file!r})"
        )

    # -- files -------------------------------------------------------------------

    @staticmethod
    def _stamp(path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _where(self) -> str:
        return (
            f"security_token_file {self._token_file} of profile [{self._profile}] "
            f"in {self._config_file}"
        )

    def _read_token(self) -> str:
        stamp = self._stamp(self._token_file)
        try:
            with open(self._token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except FileNotFoundError:
            raise AuthError(
                f"The {self._where()} does not exist. {_refresh_hint(self._profile)}"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise AuthError(f"The {self._where()} cannot be read ({type(exc).__name__}).") from None
        if not token:
            raise AuthError(f"The {self._where()} is empty. {_refresh_hint(self._profile)}")
        self._token_stamp = stamp
        return token

    def _accept_token(self, token: str) -> None:
        """Take the token's expiry; raises AuthError when it has expired."""
        exp, _ = _jwt_times(token)
        self._check_expiry(exp)
        if exp != self._exp:
            self._exp = exp
            self._warned = False
        self._maybe_warn(time.time())
        self._update_wake_at()

    def _check_expiry(self, exp: float | None) -> None:
        now = time.time()
        if exp is not None and now >= exp:
            expired_for = int(now - exp)
            raise AuthError(
                f"The session token in the {self._where()} expired {expired_for} s ago. "
                f"{_refresh_hint(self._profile)}"
            )

    def _update_wake_at(self) -> None:
        if self._exp is None:
            self._wake_at = float("inf")
        elif self._warned:
            self._wake_at = self._exp
        else:
            self._wake_at = self._exp - TOKEN_EXPIRY_WARNING_SECONDS

    def _maybe_warn(self, now: float) -> None:
        exp = self._exp
        if exp is None or self._warned or now < exp - TOKEN_EXPIRY_WARNING_SECONDS:
            return
        self._warned = True
        logger.warning(
            "The session token of OCI profile [%s] expires in %d s. %s",
            self._profile,
            max(0, int(exp - now)),
            _refresh_hint(self._profile),
        )

    def _check_files(self, force: bool = False) -> None:
        """Reload the token (and key) if their files changed; check expiry; warn once.

        ``force`` (after a 401) re-reads the token file even if it looks unchanged and
        lets a broken file fail. Otherwise a file that cannot be read right now (being
        rewritten) is skipped while the token in memory is still valid.
        """
        with self._files_lock:
            if not force and not self._odsc_reload_due():
                return  # another thread just looked
            self._next_check = time.monotonic() + self._check_interval
            token_stamp = self._stamp(self._token_file)
            key_stamp = self._stamp(self._key_file)
            token_changed = force or token_stamp != self._token_stamp
            key_changed = key_stamp != self._key_stamp
            if token_changed or key_changed:
                try:
                    token = self._read_token() if token_changed else self._token
                    key = self.private_key
                    if key_changed:
                        key = load_key(
                            self._key_file, self._pass_phrase, self._config_file, self._profile
                        )
                    self._accept_token(token)
                except AuthError as exc:
                    if force or (self._exp is not None and time.time() >= self._exp):
                        raise
                    logger.warning("Keeping the current session token for now: %s", exc)
                    return
                if key_changed:
                    self._key_stamp = key_stamp
                self._install(token, key)
                logger.debug("Reloaded the session token of profile [%s]", self._profile)
            else:
                self._check_expiry(self._exp)
                self._maybe_warn(time.time())
                self._update_wake_at()

    def _install(self, token: str, key: Any) -> None:
        self._token = token
        self.api_key = oci.auth.signers.security_token_signer.SECURITY_TOKEN_FORMAT_STRING.format(
            token
        )
        self.private_key = key
        self._basic_signer.reset_signer(self.api_key, key)
        self._body_signer.reset_signer(self.api_key, key)

    # -- signing -----------------------------------------------------------------

    def _odsc_reload_due(self) -> bool:
        """CPU only: whether the next signing should look at the files (or warn)."""
        return time.monotonic() >= self._next_check or time.time() >= self._wake_at

    def _odsc_sign_without_reload(self, request: Any, enforce_content_headers: bool = True) -> Any:
        return super().__call__(request, enforce_content_headers)

    def __call__(self, request: Any, enforce_content_headers: bool = True) -> Any:
        if self._odsc_reload_due():
            self._check_files()
        return super().__call__(request, enforce_content_headers)

    def refresh_security_token(self) -> None:
        """Re-read the token (and key) file now."""
        self._check_files(force=True)


def session_token_signer(
    config: dict[str, Any], path: str, profile: str
) -> FileSecurityTokenSigner:
    token_file = config.get("security_token_file")
    key_file = config.get("key_file")
    missing = [
        name
        for name, value in (("security_token_file", token_file), ("key_file", key_file))
        if not value
    ]
    if missing:
        raise AuthError(
            f"Profile [{profile}] in {path} cannot sign with a session token: it has no "
            f"{' or '.join(missing)}. Create a session profile with "
            f"`oci session authenticate --profile-name {profile}`"
            + (
                f", or use odsc_llm.auth.api_key(profile={profile!r}) for an API-key profile."
                if config.get("user") and not token_file
                else "."
            )
        )
    assert token_file is not None and key_file is not None
    return FileSecurityTokenSigner(
        expand(token_file),
        expand(key_file),
        config.get("pass_phrase"),
        profile=profile,
        config_file=path,
    )
