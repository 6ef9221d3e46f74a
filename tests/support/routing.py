"""What the emulator received, per routing: paths, ``route`` headers, signatures.

The emulators themselves (a classic deployment and an MIE one, with the routing that
fits each) are the ``deployment_kind``, ``emulator``, ``mie_emulator`` and
``emulator_for`` fixtures of tests/conftest.py.
"""

from __future__ import annotations

from odsc_llm.testing import LocalDeployment


def openai_flavors() -> list[str]:
    """The HTTP client flavors the installed openai takes: httpx always, and httpx2 from
    openai 2 on (which installs it). In an openai 1.x environment (httpx only) the
    httpx2 cases are not generated, rather than skipped."""
    from odsc_llm.integrations.openai._options import default_flavor

    return ["httpx", "httpx2"] if default_flavor() == "httpx2" else ["httpx"]


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
