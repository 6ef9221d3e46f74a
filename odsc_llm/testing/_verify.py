"""Verify OCI HTTP request signatures, the way a model deployment's gateway does.

This is the server half of the signing scheme that ``oci.signer.Signer`` (and
``odsc_llm.auth``) implement on the client: it parses the ``Authorization: Signature``
header, rebuilds the signing string from the listed headers, checks the RSA-SHA256
PKCS#1 v1.5 signature with ``cryptography``, and checks ``x-content-sha256``,
``content-length`` and ``date`` against the request.

Only ``cryptography`` is needed here: ``oci`` is not imported.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import re
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..errors import OdscLLMError

__all__ = [
    "MAX_CLOCK_SKEW_SECONDS",
    "PublicKeyLike",
    "SignatureVerificationError",
    "load_public_key",
    "parse_authorization",
    "verify_request",
]

#: How far the ``date`` header may be from the server's clock (OCI allows 5 minutes).
MAX_CLOCK_SKEW_SECONDS = 300.0

#: A public key: a ``cryptography`` RSA public key, or its PEM text.
PublicKeyLike = rsa.RSAPublicKey | bytes | str

_ALWAYS_SIGNED = ("(request-target)", "host")
_REQUIRED_PARAMS = ("version", "keyId", "algorithm", "headers", "signature")
_PARAM_RE = re.compile(r'\s*(?P<name>[A-Za-z]+)="(?P<value>[^"]*)"\s*(?:,|\Z)')
_BODY_SIGNED = ("content-length", "content-type", "x-content-sha256")
_BODY_METHODS = frozenset({"post", "put", "patch"})


class SignatureVerificationError(OdscLLMError):
    """A request's OCI signature was not accepted.

    ``check`` names the failed check (one of ``authorization``, ``request-target``,
    ``key``, ``headers``, ``date``, ``body-hash``, ``content-length``, ``signature``,
    and ``host`` from the emulator's check of the signed host); the message says what
    was wrong in words. Neither ever contains the signature, a key or a token.
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check
        self.message = message

    def __str__(self) -> str:
        return self.message


def load_public_key(key: PublicKeyLike) -> rsa.RSAPublicKey:
    """An RSA public key from a key object or PEM text (public or private key PEM)."""
    if isinstance(key, rsa.RSAPublicKey):
        return key
    data = key.encode("ascii") if isinstance(key, str) else key
    try:
        loaded = serialization.load_pem_public_key(data)
    except ValueError:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("Only RSA keys can verify OCI signatures.") from None
        return private.public_key()
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise ValueError("Only RSA keys can verify OCI signatures.")
    return loaded


def parse_authorization(value: str) -> dict[str, str]:
    """The parameters of an ``Authorization: Signature k="v",...`` header.

    Strict, as a verifier must be: every parameter is ``name="value"`` (the form
    oci's signer writes), separated by commas. Raises
    :class:`SignatureVerificationError` (check ``authorization``) when the header is
    not an OCI signature header, is malformed, or repeats a parameter (a second
    ``keyId`` must not be able to choose which key is checked).
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "signature" or not rest.strip():
        raise SignatureVerificationError(
            "authorization",
            "The Authorization header is not an OCI signature "
            "(expected 'Signature version=\"1\",keyId=...,signature=...').",
        )
    params: dict[str, str] = {}
    position, end = 0, len(rest)
    while position < end:
        match = _PARAM_RE.match(rest, position)
        if match is None:
            raise SignatureVerificationError(
                "authorization",
                f"The Authorization header is malformed at character {position + len(scheme) + 1}"
                ' (expected name="value" parameters separated by commas).',
            )
        name = match["name"]
        if name in params:
            raise SignatureVerificationError(
                "authorization", f"The Authorization header has more than one {name}."
            )
        params[name] = match["value"]
        position = match.end()
    return params


def _describe_key_id(key_id: str) -> str:
    """A key id safe to print: security tokens are secrets, API key ids are not."""
    if key_id.startswith("ST$"):
        return "a security token (keyId 'ST$...')"
    return repr(key_id)


def _normalize_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        # Repeated headers are joined the way HTTP folds them.
        result[key] = f"{result[key]}, {value}" if key in result else value
    return result


def _timestamp(now: float | datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return now.timestamp()
    return float(now)


def verify_request(
    method: str,
    path_with_query: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    public_keys: Mapping[str, PublicKeyLike],
    now: float | datetime | None = None,
    *,
    max_skew: float = MAX_CLOCK_SKEW_SECONDS,
) -> None:
    """Check a request's OCI signature; return ``None`` or raise.

    ``path_with_query`` is the request target exactly as sent (``/ocid.../predict?x=1``);
    ``headers`` are the received headers (any case); ``body`` the received bytes;
    ``public_keys`` maps key ids (``tenancy/user/fingerprint`` for API keys,
    ``ST$<token>`` for security tokens) to public keys; ``now`` (epoch seconds or an
    aware datetime) defaults to the current time.

    Raises :class:`SignatureVerificationError` whose ``check`` and message say which
    check failed: a missing or malformed ``Authorization`` header, an unknown key,
    a required header not signed or not sent, ``date`` more than ``max_skew`` seconds
    off, ``x-content-sha256`` or ``content-length`` not matching the body, or an RSA
    signature that does not verify.
    """
    hdrs = _normalize_headers(headers)
    authorization = hdrs.get("authorization")
    if not authorization:
        raise SignatureVerificationError(
            "authorization", "The request has no Authorization header: it was not signed."
        )
    params = parse_authorization(authorization)
    for param in _REQUIRED_PARAMS:
        if not params.get(param):
            raise SignatureVerificationError(
                "authorization", f"The Authorization header has no {param}."
            )
    # Exact values, as oci's signer writes them: no spelling may mean the same thing.
    if params["version"] != "1":
        raise SignatureVerificationError(
            "authorization",
            f"Unsupported signature version {params['version']!r} (expected '1').",
        )
    if params["algorithm"] != "rsa-sha256":
        raise SignatureVerificationError(
            "authorization",
            f"Unsupported signature algorithm {params['algorithm']!r} (expected rsa-sha256).",
        )
    if method != method.upper():
        # The signing string has the method in lower case: only one spelling may pass.
        raise SignatureVerificationError(
            "request-target", f"The method {method!r} is not in upper case."
        )

    key_id = params["keyId"]
    key = public_keys.get(key_id)
    if key is None:
        raise SignatureVerificationError(
            "key", f"No public key is known for {_describe_key_id(key_id)}."
        )

    signed = params["headers"].split(" ")
    if any(name != name.lower() or not name for name in signed) or len(set(signed)) != len(signed):
        raise SignatureVerificationError(
            "headers",
            f"The signed header list {params['headers']!r} must name each header once, "
            "in lower case, separated by single spaces.",
        )
    verb = method.lower()
    date_header = "x-date" if "x-date" in signed else "date"
    required: list[str] = [date_header, *_ALWAYS_SIGNED]
    if verb in _BODY_METHODS:
        required += _BODY_SIGNED
    not_signed = [name for name in required if name not in signed]
    if not_signed:
        raise SignatureVerificationError(
            "headers",
            f"The signature does not cover required header(s) {', '.join(not_signed)} "
            f"(signed: {' '.join(signed)}).",
        )
    missing = [name for name in signed if name != "(request-target)" and name not in hdrs]
    if missing:
        raise SignatureVerificationError(
            "headers", f"Signed header(s) {', '.join(missing)} missing from the request."
        )

    date_value = hdrs[date_header]
    try:
        sent_at = email.utils.parsedate_to_datetime(date_value)
    except (TypeError, ValueError):
        raise SignatureVerificationError(
            "date", f"The {date_header} header {date_value!r} is not an HTTP date."
        ) from None
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=timezone.utc)
    skew = sent_at.timestamp() - _timestamp(now)
    if abs(skew) > max_skew:
        direction = "ahead of" if skew > 0 else "behind"
        raise SignatureVerificationError(
            "date",
            f"The {date_header} header ({date_value}) is {abs(skew):.0f} s {direction} the "
            f"server clock; at most {max_skew:.0f} s is allowed. Check this machine's clock.",
        )

    if "x-content-sha256" in signed:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
        if hdrs["x-content-sha256"] != digest:
            raise SignatureVerificationError(
                "body-hash",
                "x-content-sha256 does not match the request body "
                "(the body was changed after signing).",
            )
    if "content-length" in signed:
        declared = hdrs["content-length"].strip()
        if declared != str(len(body)):
            raise SignatureVerificationError(
                "content-length",
                f"content-length {declared!r} does not match the body's {len(body)} bytes.",
            )

    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {verb} {path_with_query}")
        else:
            lines.append(f"{name}: {hdrs[name]}")
    signing_string = "\n".join(lines).encode("utf-8")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    # Canonical base64 only: otherwise unused low bits give one signature many spellings.
    if not signature or base64.b64encode(signature).decode("ascii") != params["signature"]:
        raise SignatureVerificationError("signature", "The signature is not valid base64.")
    try:
        load_public_key(key).verify(signature, signing_string, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureVerificationError(
            "signature",
            "The RSA-SHA256 signature does not verify: the request was signed with "
            "another key, or a signed header, the method or the path changed after signing.",
        ) from None
