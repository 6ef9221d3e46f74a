"""Emulators for each routing: a classic deployment (header form only) and an MIE one.

The emulator grows a strict mode (``api_specification=``): a classic deployment answers
the path form 404 like the service. Until then (and after) :func:`mie_emulator` asks for
an MIE deployment when the emulator knows the option, so path-routing tests hold on both.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from odsc_llm.testing import LocalDeployment


def openai_flavors() -> list[str]:
    """The HTTP client flavors the installed openai takes: httpx always, and httpx2 from
    openai 2 on (which installs it). In an openai 1.x environment (httpx only) the
    httpx2 cases are not generated, rather than skipped."""
    from odsc_llm.integrations.openai._options import default_flavor

    return ["httpx", "httpx2"] if default_flavor() == "httpx2" else ["httpx"]


def mie_options() -> dict[str, Any]:
    """The ``LocalDeployment`` options of an MIE deployment with the OpenAI allowlist."""
    if "api_specification" in inspect.signature(LocalDeployment).parameters:
        return {"api_specification": "openai"}
    return {}  # an emulator that accepts both forms


@contextmanager
def mie_emulator() -> Iterator[LocalDeployment]:
    """A running emulator of a deployment with Multiple Inference Endpoints."""
    with LocalDeployment(**mie_options()) as local:
        yield local


# Fixtures: a test module imports ``mie_local_fixture`` and ``routed_fixture`` and asks
# for ``routed`` (the names differ so that the import is not shadowed by the argument).
@pytest.fixture(name="mie_local", scope="module")
def mie_local_fixture() -> Iterator[LocalDeployment]:
    """One MIE emulator per test module."""
    with mie_emulator() as local:
        yield local


@pytest.fixture(name="routed", params=["header", "path"])
def routed_fixture(
    request: pytest.FixtureRequest, emulator: LocalDeployment
) -> Iterator[tuple[LocalDeployment, Any]]:
    """(emulator, routing): a classic deployment for "header", an MIE one for "path",
    reset before and after the test."""
    routing: str = request.param
    local: LocalDeployment = (
        emulator if routing == "header" else request.getfixturevalue("mie_local")
    )
    local.reset()
    yield local, routing
    local.reset()


def sent_paths(local: LocalDeployment) -> list[str]:
    """The paths the emulator received, without the deployment's ``/<ocid>`` prefix."""
    prefix = "/" + local.deployment.ocid
    return [r.path.removeprefix(prefix) for r in local.requests]


def sent(local: LocalDeployment) -> list[tuple[str, str | None]]:
    """(path, ``route`` header) of each request the emulator received."""
    return list(zip(sent_paths(local), sent_routes(local), strict=True))


def sent_routes(local: LocalDeployment) -> list[str | None]:
    """The ``route`` header of each request the emulator received (``None``: none)."""
    return [r.headers.get("route") for r in local.requests]


def assert_all_signed(local: LocalDeployment) -> None:
    """Every request carried an OCI signature, no Bearer key, and was answered 200
    (the emulator verified the signature over what was sent)."""
    assert local.requests
    for request in local.requests:
        assert request.headers["authorization"].startswith("Signature ")
        assert "bearer" not in request.headers["authorization"].lower()
        assert request.status == 200, (request.path, request.status)
