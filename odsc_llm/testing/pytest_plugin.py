"""pytest fixtures for testing code that calls model deployments, on a local emulator.

Registered through the ``pytest11`` entry point, so installing ``odsc-llm`` makes the
fixtures available everywhere (or list ``pytest_plugins = ["odsc_llm.testing.pytest_plugin"]``)::

    def test_my_summary(odsc_llm_local):
        client = odsc_llm.Client(deployment=odsc_llm_local.deployment, auth=odsc_llm_local.auth)
        odsc_llm_local.faults.push(status=429, retry_after=0)
        assert client.completions.create(prompt="hi").choices[0].text == "You said: hi"

This module imports nothing heavy: the emulator (uvicorn, cryptography, the server)
loads when a test first asks for a fixture, never at collection time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._local import LocalDeployment

__all__ = ["odsc_llm_local", "odsc_llm_local_session"]


@pytest.fixture(scope="session")
def odsc_llm_local_session() -> Iterator[LocalDeployment]:
    """One emulator for the whole test session (faults and request log shared)."""
    from ._local import LocalDeployment

    with LocalDeployment() as local:
        yield local


@pytest.fixture
def odsc_llm_local(odsc_llm_local_session: LocalDeployment) -> Iterator[LocalDeployment]:
    """A running emulator with no queued faults, an empty request log and no token delay.

    It is the session's server (starting one costs a key pair and a thread), reset
    before and after each test, so tests cannot see each other's faults or requests.
    """
    local = odsc_llm_local_session
    local.reset()
    yield local
    local.reset()
