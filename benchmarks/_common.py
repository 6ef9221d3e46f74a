"""Shared pieces: a throwaway API key identity, the request body, the floor's signer."""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

#: The deployment OCID in every benchmark URL (the server ignores paths).
OCID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaabenchmarkdeployment"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaabenchmarktenancy"
USER = "ocid1.user.oc1..aaaaaaaabenchmarkuser"
FINGERPRINT = "20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34"
PROMPT = "what are activation functions?"

SIGNED_HEADERS = "date (request-target) host content-length content-type x-content-sha256"


def request_body(max_tokens: int, stream: bool) -> dict[str, Any]:
    """The completion request every contender sends (``max_tokens`` sizes a stream)."""
    body: dict[str, Any] = {
        "model": "odsc-llm",
        "prompt": PROMPT,
        "max_tokens": max_tokens,
        "temperature": 0.7,
        "top_p": 0.8,
    }
    if stream:
        body["stream"] = True
    return body


@dataclass
class Identity:
    """A fresh RSA key and made-up OCIDs: an API-key user that exists nowhere."""

    workdir: str

    @classmethod
    def create(cls) -> Identity:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        workdir = tempfile.mkdtemp(prefix="odsc-llm-bench-")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        key_path = os.path.join(workdir, "key.pem")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        config_path = os.path.join(workdir, "config")
        with open(config_path, "w") as f:
            f.write(
                "[DEFAULT]\n"
                f"user={USER}\nfingerprint={FINGERPRINT}\ntenancy={TENANCY}\n"
                f"region=us-ashburn-1\nkey_file={key_path}\n"
            )
        os.chmod(config_path, 0o600)
        return cls(workdir)

    @property
    def key_path(self) -> str:
        return os.path.join(self.workdir, "key.pem")

    @property
    def config_path(self) -> str:
        return os.path.join(self.workdir, "config")

    @cached_property
    def pem(self) -> str:
        with open(self.key_path) as f:
            return f.read()

    @property
    def key_id(self) -> str:
        return f"{TENANCY}/{USER}/{FINGERPRINT}"

    def oci_signer(self) -> Any:
        """``oci.signer.Signer`` built from the key's content (what users build)."""
        import oci.signer

        return oci.signer.Signer(
            tenancy=TENANCY,
            user=USER,
            fingerprint=FINGERPRINT,
            private_key_file_location=None,
            private_key_content=self.pem,
        )

    def cleanup(self) -> None:
        for name in ("key.pem", "config"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.workdir, name))
        with contextlib.suppress(OSError):
            os.rmdir(self.workdir)


class FloorSigner:
    """The floor: OCI's RSA-SHA256 HTTP signature written by hand with ``cryptography``.

    Signs ``date (request-target) host content-length content-type x-content-sha256``
    exactly as ``oci.signer.Signer`` does (same signing string, same header), with no
    request object in between: the least work any client can do per request.
    """

    def __init__(self, pem: str, key_id: str) -> None:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("OCI API keys are RSA keys")
        self._key = key
        self._padding = padding.PKCS1v15()
        self._hash = hashes.SHA256()
        self._template = (
            f'Signature algorithm="rsa-sha256",headers="{SIGNED_HEADERS}",'
            f'keyId="{key_id}",signature="%s",version="1"'
        )

    def headers(
        self, method: str, url: str, body: bytes, date: str | None = None
    ) -> dict[str, str]:
        """All headers of a signed JSON request (``date`` may be fixed for tests)."""
        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        date = date or email.utils.formatdate(usegmt=True)
        sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
        length = str(len(body))
        signing_string = (
            f"date: {date}\n(request-target): {method.lower()} {path}\nhost: {parts.netloc}\n"
            f"content-length: {length}\ncontent-type: application/json\nx-content-sha256: {sha}"
        )
        signature = self._key.sign(signing_string.encode(), self._padding, self._hash)
        return {
            "date": date,
            "host": parts.netloc,
            "content-length": length,
            "content-type": "application/json",
            "x-content-sha256": sha,
            "authorization": self._template % base64.b64encode(signature).decode(),
        }


def dumps(body: dict[str, Any]) -> bytes:
    """Compact JSON, as httpx would write it."""
    return json.dumps(body, separators=(",", ":")).encode()
