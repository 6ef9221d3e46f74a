"""The emulator's own credentials: its API key's fingerprint and a session token."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["fake_session_token", "fingerprint"]


def fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """OCI's API key fingerprint: MD5 of the DER public key, as colon-separated hex."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def fake_session_token(subject: str, lifetime: float = 24 * 3600) -> str:
    """A JWT-shaped session token (unsigned: only the emulator checks it, by key id)."""
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": "odsc-llm-local"}
    claims = {"sub": subject, "iat": now, "exp": now + int(lifetime), "iss": "odsc-llm-local"}
    return ".".join(
        [
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(claims).encode()),
            _b64url(secrets.token_bytes(32)),
        ]
    )
