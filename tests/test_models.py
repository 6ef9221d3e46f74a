"""``client.models`` (signed GET /v1/models), ``Client(model=...)`` and multi-model deployments."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

import odsc_llm
from odsc_llm import NotFoundError
from odsc_llm.auth import OCIAuth
from odsc_llm.testing import LocalDeployment
from odsc_llm.types.models import Model, ModelList

from .support.aqua import MODES, call, client_of

pytest.importorskip("uvicorn")

MESSAGES = [{"role": "user", "content": "hi"}]
URL = "https://md.example.com/ocid1.datasciencemodeldeployment.oc1.iad.x"


@pytest.fixture(scope="module")
def stacked() -> Iterator[LocalDeployment]:
    """A stacked deployment: a base model and a LoRA adapter on it, plus a second base."""
    with LocalDeployment(
        models={"llama-3-8b": None, "my-lora": "llama-3-8b", "qwen-7b": None}
    ) as local:
        yield local


@pytest.fixture
def local(odsc_llm_local: LocalDeployment) -> LocalDeployment:
    return odsc_llm_local


@pytest.mark.parametrize("mode", MODES)
async def test_list_single_model_deployment(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        models = await call(client.models.list())
    assert isinstance(models, ModelList)
    assert models.ids == ["odsc-llm"]
    assert models.data[0].owned_by == "vllm" and models.data[0].parent is None
    assert models.data[0].max_model_len == 4096
    assert models.request_id == local.requests[-1].request_id
    # Unknown fields are kept.
    assert models.data[0].model_extra == {"permission": []}


@pytest.mark.parametrize("mode", MODES)
async def test_list_iterates_its_models(stacked: LocalDeployment, mode: str) -> None:
    """``for m in client.models.list()`` yields models (as openai's pages), not fields."""
    async with client_of(stacked, mode) as client:
        models = await call(client.models.list())
    assert [m.id for m in models] == ["llama-3-8b", "my-lora", "qwen-7b"]
    assert all(isinstance(m, Model) for m in models)
    assert len(models) == 3
    assert models[1].parent == "llama-3-8b" and models[-1].id == "qwen-7b"
    assert [m.id for m in models[:2]] == ["llama-3-8b", "my-lora"]
    assert list(reversed(models)) == models.data[::-1]
    # Still a pydantic model: dumps and fields are unchanged.
    assert models.to_dict()["data"][0]["id"] == "llama-3-8b"
    assert models.model_dump()["object"] == "list"


@pytest.mark.parametrize("mode", MODES)
async def test_list_is_a_signed_bodyless_get(local: LocalDeployment, mode: str) -> None:
    async with client_of(local, mode) as client:
        await call(client.models.list())
    (request,) = local.requests
    assert request.method == "GET"
    assert request.path == f"/{local.ocid}/predict"  # header routing: every deployment
    assert request.body == b""
    assert request.headers["content-length"] == "0"  # the service answers 411 without it
    assert request.headers["route"] == "/v1/models"
    assert 'headers="date (request-target) host"' in request.headers["authorization"]
    assert request.status == 200  # the emulator verified the signature


@pytest.mark.parametrize("mode", MODES)
async def test_stacked_deployment_lists_base_and_adapter(
    stacked: LocalDeployment, mode: str
) -> None:
    async with client_of(stacked, mode) as client:
        models = await call(client.models.list())
        lora = await call(client.models.retrieve("my-lora"))
        with pytest.raises(odsc_llm.errors.InvalidRequestError, match="llama-3-8b, my-lora"):
            await call(client.models.retrieve("nope"))
    assert models.ids == ["llama-3-8b", "my-lora", "qwen-7b"]
    assert isinstance(lora, Model)
    assert lora.parent == "llama-3-8b" and lora.root and lora.root.endswith("llama-3-8b")


@pytest.mark.parametrize("mode", MODES)
async def test_client_model_is_the_default_of_every_call(
    stacked: LocalDeployment, mode: str
) -> None:
    async with client_of(stacked, mode, model="my-lora") as client:
        assert client.model == "my-lora"
        chat = await call(client.chat.completions.create(messages=MESSAGES))
        done = await call(client.completions.create(prompt="x"))
        vec = await call(client.embeddings.create(input="x"))
        own = await call(client.chat.completions.create(messages=MESSAGES, model="qwen-7b"))
        twin = client.copy(timeout=5.0)
        assert twin.model == "my-lora"
    assert (chat.model, done.model, vec.model, own.model) == ("my-lora",) * 3 + ("qwen-7b",)
    bodies = [r.json() for r in stacked.requests[-4:]]
    assert [b["model"] for b in bodies] == ["my-lora", "my-lora", "my-lora", "qwen-7b"]
    # "model" comes first in the body, as before.
    assert all(next(iter(b)) == "model" for b in bodies)


def test_default_model_is_odsc_llm(local: LocalDeployment) -> None:
    with local.client() as client:
        assert client.model == "odsc-llm"
        client.completions.create(prompt="x")
    assert next(iter(local.requests[-1].json().items())) == ("model", "odsc-llm")


def test_model_option_is_checked(local: LocalDeployment) -> None:
    with pytest.raises(ValueError, match="model must be a non-empty string"):
        local.client(model="")


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_model_404_names_the_served_models(
    stacked: LocalDeployment, mode: str
) -> None:
    async with client_of(stacked, mode) as client:
        with pytest.raises(NotFoundError) as info:
            await call(client.chat.completions.create(messages=MESSAGES))  # "odsc-llm"
    assert "The model `odsc-llm` does not exist" in info.value.message
    assert "llama-3-8b, my-lora, qwen-7b" in info.value.message
    # The body said which models exist: no look-up was needed.
    assert [r.method for r in stacked.requests[-1:]] == ["POST"]


@pytest.mark.parametrize("mode", MODES)
async def test_404_without_aliases_looks_the_models_up_once(
    httpx_mock: HTTPXMock, mode: str
) -> None:
    url = URL
    body = {
        "error": {
            "message": "The model `odsc-llm` does not exist.",
            "type": "NotFoundError",
            "param": "model",
            "code": 404,
        }
    }
    httpx_mock.add_response(method="POST", status_code=404, json=body)
    httpx_mock.add_response(
        method="GET",
        url=url + "/predict",
        match_headers={"route": "/v1/models"},
        json={"object": "list", "data": [{"id": "a"}, {"id": "b-lora", "parent": "a"}]},
    )
    auth = _NoAuth()
    cls = odsc_llm.Client if mode == "sync" else odsc_llm.AsyncClient
    client: Any = cls(deployment=url, auth=auth, max_retries=0)
    with pytest.raises(NotFoundError) as info:
        await call(client.chat.completions.create(messages=MESSAGES))
    await call(client.close())
    assert "This deployment serves: a, b-lora" in info.value.message
    assert [r.method for r in httpx_mock.get_requests()] == ["POST", "GET"]


IAM_WORDS = ("IAM", "policy", "OCID")


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_model_404_has_no_iam_hint(stacked: LocalDeployment, mode: str) -> None:
    """The deployment answered: the hint is about the model name, not URLs or policies."""
    async with client_of(stacked, mode) as client:
        with pytest.raises(NotFoundError) as info:
            await call(client.completions.create(prompt="x", model="gpt-4"))
    hint = info.value.message.partition("Hint: ")[2]
    assert hint.startswith("model 'gpt-4' is not served here."), hint
    assert "This deployment serves: llama-3-8b, my-lora, qwen-7b" in hint
    assert not any(word in info.value.message for word in IAM_WORDS), info.value.message


OLD_VLLM_404 = {  # vLLM before 0.10: flat, param null
    "object": "error",
    "message": "The model `gpt-4` does not exist.",
    "type": "NotFoundError",
    "param": None,
    "code": 404,
}


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_model_hint_lists_what_the_look_up_found(
    httpx_mock: HTTPXMock, mode: str
) -> None:
    httpx_mock.add_response(method="POST", status_code=404, json=OLD_VLLM_404)
    httpx_mock.add_response(
        method="GET",
        url=URL + "/predict",
        match_headers={"route": "/v1/models"},
        json={"data": [{"id": "odsc-llm"}]},
    )
    cls = odsc_llm.Client if mode == "sync" else odsc_llm.AsyncClient
    client: Any = cls(deployment=URL, auth=_NoAuth(), max_retries=0)
    with pytest.raises(NotFoundError) as info:
        await call(client.chat.completions.create(messages=MESSAGES, model="gpt-4"))
    await call(client.close())
    message = info.value.message
    assert message.count("Hint: ") == 1, message
    assert "Hint: model 'gpt-4' is not served here. This deployment serves: odsc-llm" in message
    assert not any(word in message for word in IAM_WORDS), message


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_model_hint_when_the_look_up_fails(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(method="POST", status_code=404, json=OLD_VLLM_404)
    httpx_mock.add_response(method="GET", status_code=500, text="down")
    cls = odsc_llm.Client if mode == "sync" else odsc_llm.AsyncClient
    client: Any = cls(deployment=URL, auth=_NoAuth(), max_retries=0)
    with pytest.raises(NotFoundError) as info:
        await call(client.chat.completions.create(messages=MESSAGES, model="gpt-4"))
    await call(client.close())
    hint = info.value.message.partition("Hint: ")[2]
    assert hint.startswith("model 'gpt-4' is not served here"), hint
    assert "client.models.list()" in hint
    assert not any(word in info.value.message for word in IAM_WORDS), info.value.message


def test_oci_404_keeps_the_iam_hint(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        status_code=404,
        json={"code": "NotAuthorizedOrNotFound", "message": "Authorization failed or not found"},
    )
    with (
        odsc_llm.Client(deployment=URL, auth=_NoAuth(), max_retries=0) as client,
        pytest.raises(NotFoundError, match="IAM policy") as info,
    ):
        client.completions.create(prompt="x")
    assert "not served here" not in info.value.message


def test_oci_404_is_not_looked_up(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        status_code=404, json={"code": "NotAuthorizedOrNotFound", "message": "Not found"}
    )
    client = odsc_llm.Client(deployment=URL, auth=_NoAuth(), max_retries=0)
    with pytest.raises(NotFoundError):
        client.completions.create(prompt="x")
    assert len(httpx_mock.get_requests()) == 1


class _NoAuth(httpx.Auth):
    """Mocked transports need no signature."""


# ---- golden GET signature ----------------------------------------------------------------

FIXED_DATE = "Thu, 05 Nov 2026 08:30:00 GMT"


def test_get_signature_is_golden_equal_to_oci_signer(
    oci_key_pem: bytes, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import oci
    import requests

    monkeypatch.setattr(email.utils, "formatdate", lambda *a, **k: FIXED_DATE)
    signer = oci.signer.Signer(
        "ocid1.tenancy.oc1..t",
        "ocid1.user.oc1..u",
        ":".join(["ab"] * 16),
        None,
        private_key_content=oci_key_pem,
    )
    url = (
        "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/"
        "ocid1.datasciencemodeldeployment.oc1.iad.abc"
    )
    httpx_mock.add_response(json={"object": "list", "data": [{"id": "odsc-llm"}]})
    with odsc_llm.Client(deployment=url, auth=OCIAuth(signer), max_retries=0) as client:
        assert client.models.list().ids == ["odsc-llm"]
    (ours,) = httpx_mock.get_requests()
    sent = {k: v for k, v in ours.headers.items() if k not in ("authorization", "date", "host")}
    prepared = requests.Request("GET", str(ours.url), headers=sent).prepare()
    signer(prepared)
    theirs = {k.lower(): v for k, v in prepared.headers.items()}
    theirs.setdefault("host", ours.url.netloc.decode())
    for name in ("date", "host", "authorization", "content-length"):
        assert ours.headers.get(name) == theirs.get(name), name
    assert ours.headers["content-length"] == "0"
    assert 'headers="date (request-target) host"' in ours.headers["authorization"]


# ---- the emulator and its gateway --------------------------------------------------------


def test_other_gets_stay_405(local: LocalDeployment, mie_emulator: LocalDeployment) -> None:
    """Only the models listing answers a GET; a GET of another container path is a 405
    on an MIE deployment, and the path form on a classic one is the service's 404."""
    paths = ("/predict", "/predict/v1/completions", "/predictWithResponseStream/v1/models")
    for deployment, expected in (
        (mie_emulator, {paths[0]: 405, paths[1]: 405, paths[2]: 200}),
        (local, {paths[0]: 405, paths[1]: 404, paths[2]: 404}),
    ):
        with deployment.client() as client:
            http = client._http
            for path in paths:
                request = http.build_request(
                    "GET", deployment.url + path, headers={"content-length": "0"}
                )
                response = http.send(request, auth=deployment.auth)
                assert response.status_code == expected[path], (deployment.routing, path)
    # The stream endpoint's /v1/models is a GET like any other (answered, not refused).


def test_gateway_forwards_get_models(stacked: LocalDeployment) -> None:
    # A gateway in front of a vLLM-like server (here: another emulator's plain HTTP app).
    with _PlainUpstream(stacked) as upstream, LocalDeployment(upstream=upstream.url) as gw:
        with gw.client(max_retries=0) as client:
            assert client.models.list().ids == ["llama-3-8b", "my-lora", "qwen-7b"]
        assert upstream.seen[-1][0] == "GET" and upstream.seen[-1][1] == "/v1/models"


class _PlainUpstream:
    """A vLLM-like upstream without signatures: serves ``stacked``'s model list and
    records (method, path, headers) of each request."""

    def __init__(self, models_of: LocalDeployment) -> None:
        self._answer = json.dumps(models_of._emulator.models.models_answer()).encode()
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    def __enter__(self) -> _PlainUpstream:
        import http.server
        import threading

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                outer.seen.append(
                    (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(outer._answer)))
                self.end_headers()
                self.wfile.write(outer._answer)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
