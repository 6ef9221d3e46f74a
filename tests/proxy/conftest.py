"""Fixtures of the proxy tests: one emulator and one proxy in front of it per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from odsc_llm.proxy import create_app
from odsc_llm.testing import LocalDeployment

from ..support.proxy import KEY, running


@pytest.fixture(scope="module")
def local() -> Iterator[LocalDeployment]:
    with LocalDeployment() as deployment:
        yield deployment


@pytest.fixture(scope="module")
def proxy_url(local: LocalDeployment) -> Iterator[str]:
    """A proxy (key ``KEY``) in front of ``local``, header routing."""
    with running(create_app(local.url, auth=local.auth, api_key=KEY)) as url:
        yield url


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "local" in request.fixturenames:
        deployment: LocalDeployment = request.getfixturevalue("local")
        deployment.reset()
