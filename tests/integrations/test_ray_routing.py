"""``DeploymentPredictor(routing=...)``: the Ray recipe's client routes as asked (the
predictor runs without Ray, against the emulator)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from odsc_llm.errors import InvalidRequestError
from odsc_llm.integrations.ray import DeploymentPredictor
from odsc_llm.testing import LocalDeployment


@pytest.mark.parametrize(
    ("routing", "path", "route"),
    [
        (None, "/predict", "/v1/completions"),
        ("header", "/predict", "/v1/completions"),
        ("path", "/predict/v1/completions", None),
    ],
)
def test_the_predictor_routes_as_asked(
    emulator_for: Callable[[str], LocalDeployment],
    routing: str | None,
    path: str,
    route: str | None,
) -> None:
    emulator = emulator_for(routing or "header")
    kwargs = {} if routing is None else {"routing": routing}
    predictor = DeploymentPredictor(emulator.deployment, auth=emulator.auth, **kwargs)
    try:
        assert predictor({"prompt": ["hi"]})["answer"] == ["You said: hi"]
    finally:
        predictor.close()
    (request,) = emulator.requests
    assert request.path == f"/{emulator.ocid}{path}"
    assert request.headers.get("route") == route


def test_a_bad_routing_is_refused_before_any_thread_starts(emulator: LocalDeployment) -> None:
    before = threading.active_count()
    with pytest.raises(InvalidRequestError, match="routing must be 'header'"):
        DeploymentPredictor(emulator.deployment, auth=emulator.auth, routing="paths")  # type: ignore[arg-type]
    assert threading.active_count() == before
