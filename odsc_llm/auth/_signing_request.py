"""An :class:`httpx.Request` as oci's signers see it, and their headers back on it.

oci's signers are written for ``requests``: they sign a ``PreparedRequest``-like object
in place. :func:`prepare` builds that stand-in from an httpx request and
:func:`write_back` copies what the signer set onto the request. The header rules live
here (the headers of an earlier signing dropped, a caller's own ``Authorization``
refused, a streamed body sent with a length, the signed host being the ``Host`` sent),
so that :class:`~odsc_llm.auth.OCIAuth` holds only when and where to sign: on the event
loop or in a worker thread, and again after a refresh.
"""

from __future__ import annotations

import httpx

from .._errors import AuthError

__all__ = ["prepare", "write_back"]

# oci fills these only when missing: drop them before every (re-)signing.
_STALE_SIGNING_HEADERS = frozenset({"date", "authorization", "x-content-sha256"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Marks a request this auth signed, so a re-send is not mistaken for a caller's
# own Authorization header.
_SIGNED_EXTENSION = "odsc_llm.signed"


class _SigningRequest:
    """The small stand-in for a ``requests.PreparedRequest`` that oci signers accept.

    oci's ``inject_missing_headers`` and httpsig's ``sign`` read ``method``, ``url``,
    ``headers`` (a mapping with ``setdefault``, ``update``, ``pop``; lowercase keys),
    ``body`` and ``path_url``; the signer writes its headers back into ``headers``.
    """

    __slots__ = ("body", "headers", "method", "path_url", "url")

    def __init__(
        self, method: str, url: str, headers: dict[str, str], body: bytes, path_url: str
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.path_url = path_url

    def __repr__(self) -> str:  # never the headers: they hold the Authorization
        return f"<_SigningRequest {self.method} {self.url}>"


def prepare(
    request: httpx.Request, wanted: frozenset[str] | None
) -> tuple[_SigningRequest, dict[str, str]]:
    """The stand-in to sign for ``request`` (its body read), and its headers before signing.

    ``wanted`` names the headers the signer reads (``None``: pass them all). Drops the
    headers of an earlier signing from ``request`` itself, and raises
    :class:`~odsc_llm.AuthError` if it carries an ``Authorization`` this auth did not sign.
    """
    headers = request.headers
    fields: dict[str, str] = {}
    stale = False
    for name, value in headers.items():  # one pass; names come lowercased
        if name in _STALE_SIGNING_HEADERS:
            stale = True
        elif wanted is None or name in wanted:
            fields[name] = value
    if stale:
        if "authorization" in headers and not request.extensions.get(_SIGNED_EXTENSION):
            raise AuthError(
                "The request already has an Authorization header. OCIAuth signs every "
                "request itself: remove the Authorization header (from the request or "
                "the client's default headers), or do not pass auth=."
            )
        for name in _STALE_SIGNING_HEADERS:
            if name in headers:
                del headers[name]

    method = request.method
    body = request.content
    if method in _BODY_METHODS and "content-length" not in fields:
        # A streamed body, now read (requires_request_body): send it with a length.
        fields["content-length"] = str(len(body))
        headers["content-length"] = fields["content-length"]
        if "transfer-encoding" in headers:
            del headers["transfer-encoding"]
        fields.pop("transfer-encoding", None)
    before = fields.copy()
    url = request.url
    path_url = url.raw_path.decode("ascii")
    host = fields.get("host")
    netloc = url.netloc.decode("ascii")
    # The signature's host (oci takes it from the URL) must be the Host header sent.
    url_str = str(url) if host is None or host == netloc else f"{url.scheme}://{host}{path_url}"
    return _SigningRequest(method, url_str, fields, body, path_url), before


def write_back(request: httpx.Request, signed: _SigningRequest, before: dict[str, str]) -> None:
    """Copy the headers the signer set or changed onto ``request``, and mark it signed."""
    headers = request.headers
    for name, value in signed.headers.items():
        if name != "host" and before.get(name) != value:
            headers[name] = value
    request.extensions[_SIGNED_EXTENSION] = True
