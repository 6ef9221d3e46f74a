"""The signature verifier of odsc_llm.testing, on requests signed by oci's own signers."""

from __future__ import annotations

import email.utils
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

oci = pytest.importorskip("oci")
requests = pytest.importorskip("requests")

from odsc_llm.testing import SignatureVerificationError, verify_request  # noqa: E402
from odsc_llm.testing._verify import parse_authorization  # noqa: E402

URL = "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.datasciencemodeldeployment.oc1.iad.abc/predict"
BODY = b'{"prompt": "hello", "max_tokens": 5}'


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    make = rsa.generate_private_key
    return make(public_exponent=65537, key_size=2048), make(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signer(keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> Any:
    return oci.signer.Signer(
        "ocid1.tenancy.oc1..t",
        "ocid1.user.oc1..u",
        "aa:bb:cc",
        None,
        private_key_content=_pem(keys[0]),
    )


def _signed(signer: Any, method: str = "POST", url: str = URL, body: bytes | None = BODY) -> Any:
    headers = {"content-type": "application/json"} if body is not None else {}
    return requests.Request(method, url, data=body, headers=headers, auth=signer).prepare()


def _verify(prepared: Any, public_keys: dict[str, Any], **overrides: Any) -> None:
    args: dict[str, Any] = {
        "method": prepared.method,
        "path_with_query": prepared.path_url,
        "headers": dict(prepared.headers),
        "body": prepared.body or b"",
        "public_keys": public_keys,
    }
    args.update(overrides)
    verify_request(**args)


def _check(excinfo: pytest.ExceptionInfo[SignatureVerificationError], check: str) -> str:
    assert excinfo.value.check == check
    return str(excinfo.value)


def test_accepts_a_post_signed_by_oci_signer(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    _verify(prepared, {signer.api_key: keys[0].public_key()})


def test_accepts_query_string_and_pem_keys(signer: Any, keys: Any) -> None:
    prepared = _signed(signer, url=URL + "?a=1&b=two")
    assert prepared.path_url.endswith("?a=1&b=two")
    public_pem = (
        keys[0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    _verify(prepared, {signer.api_key: public_pem.decode()})
    _verify(prepared, {signer.api_key: public_pem})


def test_accepts_get_without_body_headers(signer: Any, keys: Any) -> None:
    prepared = _signed(signer, method="GET", body=None)
    assert "x-content-sha256" not in prepared.headers
    _verify(prepared, {signer.api_key: keys[0].public_key()})


def test_accepts_security_token_key_ids(keys: Any) -> None:
    token = "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"
    st_signer = oci.auth.signers.SecurityTokenSigner(token, keys[1])
    prepared = _signed(st_signer)
    assert 'keyId="ST$' in prepared.headers["authorization"]
    _verify(prepared, {f"ST${token}": keys[1].public_key()})


def test_tampered_body_fails_the_body_hash(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, body=BODY.replace(b"5", b"6"))
    assert "x-content-sha256" in _check(excinfo, "body-hash")


def test_tampered_hash_header_fails_the_signature(signer: Any, keys: Any) -> None:
    import base64
    import hashlib

    prepared = _signed(signer)
    body = BODY.replace(b"5", b"6")
    headers = dict(prepared.headers)
    headers["x-content-sha256"] = base64.b64encode(hashlib.sha256(body).digest()).decode()
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, body=body, headers=headers)
    _check(excinfo, "signature")


def test_content_length_must_match_the_body(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    headers = dict(prepared.headers)
    headers["Content-Length"] = str(len(BODY) + 1)
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, headers=headers)
    assert "content-length" in _check(excinfo, "content-length")


def test_wrong_key_fails_the_signature(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[1].public_key()})
    assert "another key" in _check(excinfo, "signature")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("method", "PUT"),
        (
            "path_with_query",
            "/ocid1.datasciencemodeldeployment.oc1.iad.abc/predictWithResponseStream",
        ),
    ],
)
def test_changed_method_or_path_fails_the_signature(
    signer: Any, keys: Any, field: str, value: str
) -> None:
    prepared = _signed(signer)
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, **{field: value})
    _check(excinfo, "signature")


def test_unknown_key_id(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {"someone/else/fp": keys[0].public_key()})
    assert signer.api_key in _check(excinfo, "key")


def test_unknown_security_token_is_not_echoed(keys: Any) -> None:
    token = "secret-session-token-value"
    prepared = _signed(oci.auth.signers.SecurityTokenSigner(token, keys[1]))
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {})
    message = _check(excinfo, "key")
    assert token not in message
    assert "security token" in message


@pytest.mark.parametrize("offset", [-301.0, 301.0])
def test_stale_or_future_date(signer: Any, keys: Any, offset: float) -> None:
    prepared = _signed(signer)
    sent = email.utils.parsedate_to_datetime(prepared.headers["date"]).timestamp()
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, now=sent - offset)
    assert "clock" in _check(excinfo, "date")


def test_date_within_five_minutes_is_accepted(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    sent = email.utils.parsedate_to_datetime(prepared.headers["date"])
    later = datetime.fromtimestamp(sent.timestamp() + 299, tz=timezone.utc)
    _verify(prepared, {signer.api_key: keys[0].public_key()}, now=later)


def test_missing_authorization(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "authorization"}
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, headers=headers)
    assert "not signed" in _check(excinfo, "authorization")


def test_not_a_signature_scheme(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    headers = {**prepared.headers, "authorization": "Bearer abc"}
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, headers=headers)
    _check(excinfo, "authorization")


@pytest.mark.parametrize("header", ["x-content-sha256", "date", "host", "content-type"])
def test_signed_header_missing_from_request(signer: Any, keys: Any, header: str) -> None:
    prepared = _signed(signer)
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != header}
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, headers=headers)
    assert header in _check(excinfo, "headers")


def test_post_must_sign_the_body_headers(signer: Any, keys: Any) -> None:
    # oci's signer without content headers signs only date, (request-target) and host.
    prepared = requests.Request(
        "POST",
        URL,
        data=BODY,
        headers={"content-type": "application/json"},
        auth=signer.without_content_headers,
    ).prepare()
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()})
    assert "x-content-sha256" in _check(excinfo, "headers")


def test_garbled_signature(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    params = parse_authorization(prepared.headers["authorization"])
    bad = prepared.headers["authorization"].replace(params["signature"], "!!notbase64!!")
    headers = {**prepared.headers, "authorization": bad}
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, headers=headers)
    assert "base64" in _check(excinfo, "signature")


def test_parse_authorization_reads_all_params(signer: Any) -> None:
    params = parse_authorization(_signed(signer).headers["authorization"])
    assert params["keyId"] == signer.api_key
    assert params["algorithm"] == "rsa-sha256"
    assert params["version"] == "1"
    assert params["headers"].split() == [
        "date",
        "(request-target)",
        "host",
        "content-length",
        "content-type",
        "x-content-sha256",
    ]


def test_unsupported_algorithm(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    auth = prepared.headers["authorization"].replace("rsa-sha256", "hmac-sha256")
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(
            prepared,
            {signer.api_key: keys[0].public_key()},
            headers={**prepared.headers, "authorization": auth},
        )
    assert "hmac-sha256" in _check(excinfo, "authorization")


def test_signature_with_an_old_date_fails_against_the_current_clock(signer: Any, keys: Any) -> None:
    # oci's signer keeps a date header it is given: a correctly signed but stale request.
    stale = email.utils.formatdate(time.time() - 3600, usegmt=True)
    prepared = requests.Request(
        "POST",
        URL,
        data=BODY,
        headers={"content-type": "application/json", "date": stale},
        auth=signer,
    ).prepare()
    assert prepared.headers["date"] == stale
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()})
    assert "behind" in _check(excinfo, "date")


# ---- the Authorization header cannot be bent ---------------------------------------------


def _with_authorization(prepared: Any, value: str) -> dict[str, str]:
    return {**prepared.headers, "authorization": value}


@pytest.mark.parametrize("param", ["algorithm", "version", "headers", "keyId", "signature"])
def test_every_parameter_is_required(signer: Any, keys: Any, param: str) -> None:
    prepared = _signed(signer)
    params = parse_authorization(prepared.headers["authorization"])
    del params[param]
    header = "Signature " + ",".join(f'{k}="{v}"' for k, v in params.items())
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(
            prepared,
            {signer.api_key: keys[0].public_key()},
            headers=_with_authorization(prepared, header),
        )
    assert f"has no {param}" in _check(excinfo, "authorization")


@pytest.mark.parametrize("param", ["keyId", "signature", "headers", "algorithm", "version"])
@pytest.mark.parametrize("first", [True, False])
def test_a_repeated_parameter_is_refused(signer: Any, keys: Any, param: str, first: bool) -> None:
    # A second keyId (or headers list, ...) must not choose what gets checked, wherever it is.
    prepared = _signed(signer)
    original = prepared.headers["authorization"]
    extra = f'{param}="ocid1.tenancy.oc1..other/ocid1.user.oc1..other/aa:bb"'
    rest = original[len("Signature ") :]
    header = f"Signature {extra},{rest}" if first else f"{original},{extra}"
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(
            prepared,
            {signer.api_key: keys[0].public_key()},
            headers=_with_authorization(prepared, header),
        )
    assert f"more than one {param}" in _check(excinfo, "authorization")


@pytest.mark.parametrize(
    ("old", "new", "word"),
    [
        ('version="1"', 'version="2"', "version '2'"),
        ('version="1"', 'version="01"', "version '01'"),
        ('algorithm="rsa-sha256"', 'algorithm="RSA-SHA256"', "algorithm 'RSA-SHA256'"),
        ('algorithm="rsa-sha256"', 'algorithm="rsa-sha512"', "algorithm 'rsa-sha512'"),
    ],
)
def test_unknown_version_or_algorithm(
    signer: Any, keys: Any, old: str, new: str, word: str
) -> None:
    prepared = _signed(signer)
    header = prepared.headers["authorization"]
    assert old in header
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(
            prepared,
            {signer.api_key: keys[0].public_key()},
            headers=_with_authorization(prepared, header.replace(old, new)),
        )
    assert word in _check(excinfo, "authorization")


@pytest.mark.parametrize(
    "header",
    [
        'Signature keyId=abc,signature="x"',  # unquoted
        'Signature keyId="abc" signature="x"',  # no comma
        'Signature keyId="a"bc",signature="x"',  # a quote inside
        'Signature keyId="abc",,signature="x"',  # an empty item
    ],
)
def test_malformed_parameters_are_refused(signer: Any, keys: Any, header: str) -> None:
    prepared = _signed(signer)
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(
            prepared,
            {signer.api_key: keys[0].public_key()},
            headers=_with_authorization(prepared, header),
        )
    assert "malformed" in _check(excinfo, "authorization")


def test_lower_case_method_is_refused(signer: Any, keys: Any) -> None:
    # The signing string has the method in lower case, so "post" signs like "POST".
    prepared = _signed(signer)
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(prepared, {signer.api_key: keys[0].public_key()}, method="post")
    assert "'post'" in _check(excinfo, "request-target")


def test_signed_header_list_has_one_spelling(signer: Any, keys: Any) -> None:
    prepared = _signed(signer)
    header = prepared.headers["authorization"]
    for old, new in (("date (request", "Date (request"), ("host content", "host  content")):
        with pytest.raises(SignatureVerificationError) as excinfo:
            _verify(
                prepared,
                {signer.api_key: keys[0].public_key()},
                headers=_with_authorization(prepared, header.replace(old, new, 1)),
            )
        assert "lower case" in _check(excinfo, "headers")


def test_signature_must_be_canonical_base64(signer: Any, keys: Any) -> None:
    # The last base64 digit before "==" carries 4 unused bits: a different digit can
    # decode to the same bytes, and must still be refused.
    import base64

    prepared = _signed(signer)
    params = parse_authorization(prepared.headers["authorization"])
    signature = params["signature"]
    assert signature.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(signature[-3])
    twin = signature[:-3] + alphabet[last ^ 1] + "=="
    assert base64.b64decode(twin) == base64.b64decode(signature)
    header = prepared.headers["authorization"].replace(signature, twin)
    with pytest.raises(SignatureVerificationError) as excinfo:
        _verify(
            prepared,
            {signer.api_key: keys[0].public_key()},
            headers=_with_authorization(prepared, header),
        )
    _check(excinfo, "signature")


# ---- property: no one-byte change of a signed request verifies ----------------------------

_SIGNED_QUERY_URL = URL + "?api-version=2&x=a%20b"


def _mutate(data: bytes, index: int, byte: int) -> bytes:
    return data[:index] + bytes([byte]) + data[index + 1 :]


@pytest.fixture(scope="module")
def signed_parts(signer: Any, keys: Any) -> dict[str, Any]:
    """A POST with a query, signed by oci's signer, split into what may be changed."""
    prepared = _signed(signer, url=_SIGNED_QUERY_URL)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    path, _, query = prepared.path_url.partition("?")
    parts = {
        "method": prepared.method.encode(),
        "path": path.encode(),
        "query": query.encode(),
        "body": prepared.body,
    }
    for name in parse_authorization(headers["authorization"])["headers"].split(" "):
        if name != "(request-target)":
            parts[f"header:{name}"] = headers[name].encode("latin-1")
    # The parameters of the Authorization header (its scheme word is case-insensitive).
    parts["authorization"] = headers["authorization"][len("Signature ") :].encode("latin-1")
    return {"parts": parts, "headers": headers, "keys": {signer.api_key: keys[0].public_key()}}


def _rebuild(parts: dict[str, bytes], headers: dict[str, str]) -> dict[str, Any]:
    headers = dict(headers)
    for key, value in parts.items():
        if key.startswith("header:"):
            headers[key[len("header:") :]] = value.decode("latin-1")
    headers["authorization"] = "Signature " + parts["authorization"].decode("latin-1")
    return {
        "method": parts["method"].decode("latin-1"),
        "path_with_query": parts["path"].decode("latin-1") + "?" + parts["query"].decode("latin-1"),
        "headers": headers,
        "body": parts["body"],
    }


def test_the_unchanged_request_verifies(signed_parts: dict[str, Any]) -> None:
    verify_request(
        **_rebuild(signed_parts["parts"], signed_parts["headers"]),
        public_keys=signed_parts["keys"],
    )


@settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_one_byte_change_is_refused(signed_parts: dict[str, Any], data: Any) -> None:
    parts: dict[str, bytes] = dict(signed_parts["parts"])
    part = data.draw(st.sampled_from(sorted(parts)), label="part")
    value = parts[part]
    index = data.draw(st.integers(0, len(value) - 1), label="index")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != value[index]), label="byte")
    parts[part] = _mutate(value, index, byte)
    with pytest.raises(SignatureVerificationError):
        verify_request(**_rebuild(parts, signed_parts["headers"]), public_keys=signed_parts["keys"])
