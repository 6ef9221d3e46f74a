"""The error hierarchy and the typed errors built from the servers' answers."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

import odsc_llm
from odsc_llm import _errors
from odsc_llm._status_errors import make_status_error
from odsc_llm.testing import LocalDeployment

ENDPOINT = (
    "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/"
    "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaatest"
)

# -- the hierarchy drawn at the top of _errors.py is the real one --------------------------


def _drawn_tree() -> dict[str, str | None]:
    """{class name: parent name} from the module docstring's tree."""
    doc = _errors.__doc__ or ""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^([\s│├└─]*)([A-Z][A-Za-z]+)\b", line)
        if not match or match.group(2) not in _errors.__all__:
            continue
        depth = len(match.group(1))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group(2)] = stack[-1][1] if stack else None
        stack.append((depth, match.group(2)))
    return parents


def test_docstring_tree_draws_every_error_class_under_its_real_parent() -> None:
    tree = _drawn_tree()
    assert set(tree) == set(_errors.__all__)
    for name, parent in tree.items():
        cls = getattr(_errors, name)
        if parent is None:
            assert name == "OdscLLMError"
        else:
            assert issubclass(cls, getattr(_errors, parent)), (name, parent)
            # the drawn parent is the nearest public ancestor
            public_bases = [b.__name__ for b in cls.__mro__[1:] if b.__name__ in _errors.__all__]
            assert public_bases[0] == parent, (name, public_bases)


def test_error_classes_are_all_defined_before_the_helpers() -> None:
    source = Path(_errors.__file__).read_text(encoding="utf-8")
    first_helper = source.index("\ndef ")
    last_class = max(source.index(f"\nclass {name}(") for name in _errors.__all__)
    assert last_class < first_helper


class _NoAuth(httpx.Auth):
    """Nothing is sent by these calls."""


def _openai(**kwargs: Any) -> Any:
    from odsc_llm.integrations.openai import openai_client

    return openai_client(ENDPOINT, auth=_NoAuth(), **kwargs)


def _http(**kwargs: Any) -> Any:
    from odsc_llm.integrations.openai import http_client

    return http_client(ENDPOINT, _NoAuth(), **kwargs)


BAD_ARGUMENTS = {
    "Client(stream_endpoint=)": lambda: odsc_llm.Client(
        ENDPOINT, auth=_NoAuth(), stream_endpoint="bogus"
    ),
    "get_shape": lambda: odsc_llm.shapes.get_shape("VM.GPU.NOPE"),
    "estimate_memory": lambda: odsc_llm.shapes.estimate_memory(-1),
    "estimate_memory(dtype=)": lambda: odsc_llm.shapes.estimate_memory(7, "int3"),
    "fits(gpu_memory_utilization=)": lambda: odsc_llm.shapes.fits(
        "VM.GPU.A10.2", 7, gpu_memory_utilization=2
    ),
    "openai_client(api_key=)": lambda: _openai(api_key="k"),
    "openai_client(stream_endpoint=)": lambda: _openai(stream_endpoint="stream"),
    "http_client(follow_redirects=)": lambda: _http(follow_redirects=True),
}


@pytest.mark.parametrize("make", BAD_ARGUMENTS.values(), ids=list(BAD_ARGUMENTS))
def test_odsc_llm_error_catches_bad_arguments(make: Any) -> None:
    """``except odsc_llm.OdscLLMError`` catches what the package raises, bad arguments
    included (each is also the ValueError / TypeError it was before)."""
    with pytest.raises(odsc_llm.OdscLLMError) as info:
        make()
    assert isinstance(info.value, (ValueError, TypeError))


# -- the server's fields: code keeps its type, type and param are new ------------------------


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = httpx.Request("POST", "https://md.example/predict")
    return httpx.Response(status, content=content, headers=headers, request=request)


BODIES = [
    pytest.param(
        404,
        {"code": "NotAuthorizedOrNotFound", "message": "Not found or not allowed."},
        ("NotAuthorizedOrNotFound", None, None, "Not found or not allowed."),
        id="oci",
    ),
    pytest.param(
        400,
        {
            "object": "error",
            "message": "temperature must be >= 0",
            "type": "BadRequestError",
            "param": "temperature",
            "code": 400,
        },
        (400, "BadRequestError", "temperature", "temperature must be >= 0"),
        id="vllm-old",
    ),
    pytest.param(
        400,
        {
            "error": {
                "message": "The model `x` does not exist.",
                "type": "NotFoundError",
                "param": "model",
                "code": 404,
            }
        },
        (404, "NotFoundError", "model", "The model `x` does not exist."),
        id="vllm-new-int-code",
    ),
    pytest.param(
        400,
        {
            "error": {
                "message": "maximum context length is 2048 tokens",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        (
            "context_length_exceeded",
            "invalid_request_error",
            "messages",
            "maximum context length is 2048 tokens",
        ),
        id="vllm-new-str-code",
    ),
    pytest.param(
        500,
        {"error": {"code": 500, "message": "slot unavailable", "type": "server_error"}},
        (500, "server_error", None, "slot unavailable"),
        id="llama.cpp",
    ),
    pytest.param(
        500,
        {"error": {"message": "top_k: not an int", "type": "internal_server_error"}},
        ("internal_server_error", "internal_server_error", None, "top_k: not an int"),
        id="llama-cpp-python-no-code",
    ),
    pytest.param(503, {"error": "Loading model"}, (None, None, None, "Loading model"), id="str"),
    pytest.param(
        422, {"detail": [{"loc": ["body", "n"]}]}, (None, None, None, '[{"loc"'), id="fastapi"
    ),
]


@pytest.mark.parametrize(("status", "body", "expected"), BODIES)
def test_status_error_keeps_the_servers_fields(
    status: int, body: dict[str, Any], expected: tuple[Any, Any, Any, str]
) -> None:
    code, type_, param, message = expected
    error = make_status_error(_response(status, body, {"opc-request-id": "rid-1"}))
    assert (error.code, error.type, error.param) == (code, type_, param)
    assert type(error.code) is type(code)  # 400 stays an int, never "400"
    assert message in str(error) and "rid-1" in str(error)
    assert error.body == body and error.status_code == status


class _StampAuth(httpx.Auth):
    """Stands in for OCIAuth."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["authorization"] = "Signature test"
        yield request


@pytest.mark.parametrize("sync", [True, False])
async def test_fields_reach_the_caller_through_the_client(
    httpx_mock: HTTPXMock, sync: bool
) -> None:
    body = {"error": {"message": "bad n", "type": "BadRequestError", "param": "n", "code": 400}}
    httpx_mock.add_response(status_code=400, json=body)
    with pytest.raises(odsc_llm.BadRequestError) as info:
        if sync:
            with odsc_llm.Client(ENDPOINT, auth=_StampAuth()) as client:
                client.completions.create(prompt="hi")
        else:
            async with odsc_llm.AsyncClient(ENDPOINT, auth=_StampAuth()) as aclient:
                await aclient.completions.create(prompt="hi")
    assert (info.value.code, info.value.type, info.value.param) == (400, "BadRequestError", "n")
    assert len(httpx_mock.get_requests()) == 1  # a 400 is not retried


# -- 429: which limit, and what to do ----------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "limit", "advice"),
    [
        ("LB bandwidth limit exceeded", "bandwidth", "raise the deployment's"),
        ("Load balancer BANDWIDTH limit exceeded.", "bandwidth", "bandwidth"),
        ("Tenancy request-rate limit exceeded", "tenancy_rate", "limit increase"),
        ("request rate limit exceeded", "tenancy_rate", "spread the requests"),
        ("Too many requests for the tenancy.", "tenancy_rate", "limit increase"),
        ("Maximum number of requests per second per tenancy", "tenancy_rate", "150"),
        ("Too Many Requests", None, "max_retries"),
        ("", None, "bandwidth"),
    ],
)
def test_rate_limit_error_says_which_limit(message: str, limit: str | None, advice: str) -> None:
    error = make_status_error(_response(429, {"code": "TooManyRequests", "message": message}))
    assert isinstance(error, odsc_llm.RateLimitError)
    assert error.limit == limit
    assert error.code == "TooManyRequests"
    assert advice in str(error)


@pytest.mark.parametrize("sync", [True, False])
async def test_rate_limit_kind_through_the_client_when_retries_run_out(
    odsc_llm_local: LocalDeployment, sync: bool
) -> None:
    odsc_llm_local.faults.push(
        status=429, code="TooManyRequests", message="LB bandwidth limit exceeded", count=2
    )
    kwargs: dict[str, Any] = {
        "deployment": odsc_llm_local.deployment,
        "auth": odsc_llm_local.auth,
        "max_retries": 1,
        "_sleep": (lambda _s: None) if sync else None,
    }
    with pytest.raises(odsc_llm.RateLimitError) as info:
        if sync:
            with odsc_llm.Client(**kwargs) as client:
                client.completions.create(prompt="hi")
        else:
            async with odsc_llm.AsyncClient(**kwargs) as aclient:
                await aclient.completions.create(prompt="hi", total_timeout=30)
    assert info.value.limit == "bandwidth"
    assert "raise the deployment's load balancer bandwidth" in str(info.value)
    assert [r.status for r in odsc_llm_local.requests] == [429, 429]


# -- 3xx: named, with the Location, from what was read only -----------------------------------


class _Unread(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        raise AssertionError("make_status_error read the body")


def test_redirect_names_status_and_location_without_reading() -> None:
    request = httpx.Request("POST", "https://md.example/predict")
    response = httpx.Response(
        307,
        headers={"location": "https://elsewhere.example/login", "opc-request-id": "r3"},
        stream=_Unread(),
        request=request,
    )
    error = make_status_error(response)
    assert type(error) is odsc_llm.APIStatusError and error.status_code == 307
    assert (
        "redirected to https://elsewhere.example/login: model deployments do not redirect; "
        "check the endpoint" in str(error)
    )
    assert str(error).startswith("307 Temporary Redirect") and "r3" in str(error)


def test_status_error_uses_only_the_body_given() -> None:
    request = httpx.Request("POST", "https://md.example/predict")
    response = httpx.Response(500, stream=_Unread(), request=request)
    head = json.dumps({"error": {"message": "boom", "type": "x", "code": 500}}).encode()
    error = make_status_error(response, body=head)
    assert isinstance(error, odsc_llm.InternalServerError)
    assert "boom" in str(error) and error.code == 500
    unread = make_status_error(httpx.Response(502, stream=_Unread(), request=request))
    assert "(empty response body)" in str(unread)


# -- ControlPlaneError.status_code, status deprecated -----------------------------------------


def test_control_plane_error_status_code_and_deprecated_status() -> None:
    error = odsc_llm.ControlPlaneError("nope", status_code=404, code="NotAuthorizedOrNotFound")
    assert error.status_code == 404
    with pytest.warns(DeprecationWarning, match="status_code"):
        assert error.status == 404
    with pytest.warns(DeprecationWarning, match="status_code"):
        old = odsc_llm.ControlPlaneError("nope", status=400)
    assert old.status_code == 400
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert odsc_llm.ControlPlaneError("x").status_code is None  # no warning


def test_public_exceptions_report_their_public_path() -> None:
    import pickle

    import odsc_llm

    classes = [
        getattr(odsc_llm, name)
        for name in odsc_llm.__all__
        if isinstance(getattr(odsc_llm, name), type)
        and issubclass(getattr(odsc_llm, name), BaseException)
    ]
    assert len(classes) >= 28
    for cls in classes:
        assert cls.__module__ == "odsc_llm", cls
        assert f"{cls.__module__}.{cls.__qualname__}" == f"odsc_llm.{cls.__name__}"
    error = odsc_llm.InvalidRequestError("bad")
    assert repr(error).startswith("InvalidRequestError(")
    assert type(pickle.loads(pickle.dumps(error))) is odsc_llm.InvalidRequestError
    import traceback

    try:
        raise odsc_llm.NotFoundError.__new__(odsc_llm.NotFoundError)
    except odsc_llm.NotFoundError as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc))
    assert text.startswith("odsc_llm.NotFoundError")
