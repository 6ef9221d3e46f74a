"""Ray Data recipe: DeploymentPredictor in map_batches, against the local emulator.

The Ray test needs Ray (``pip install 'odsc-llm[ray]'``, not part of ``dev`` because it
is heavy) and is skipped without it; the predictor itself is tested without Ray too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import odsc_llm
from odsc_llm.integrations.ray import DeploymentPredictor

pytest.importorskip("uvicorn", reason="the emulator needs the testing extra")

from odsc_llm.testing import LocalDeployment


def test_predictor_without_ray(emulator: LocalDeployment) -> None:
    predictor = DeploymentPredictor(
        emulator.deployment, auth=lambda: emulator.auth, concurrency=2, max_tokens=30
    )
    try:
        emulator.faults.push(status=400, message="nope")
        out = predictor({"prompt": ["a", "b", "c"], "row": [1, 2, 3]})
        assert out["row"] == [1, 2, 3]
        answers = out["answer"]
        errors = out["answer_error"]
        assert sum(e is not None for e in errors) == 1
        assert all(
            (a is None and "BadRequestError" in str(e)) or (e is None and a.startswith("You said:"))
            for a, e in zip(answers, errors, strict=True)
        )
        chat = DeploymentPredictor(
            emulator.deployment, auth=emulator.auth, chat=True, system_prompt="Be brief."
        )
        assert chat({"prompt": ["hi"]})["answer"] == ["You said: hi"]
        assert "chat=True" in repr(chat)
        chat.close()
    finally:
        predictor.close()
    assert all(r.headers["authorization"].startswith("Signature ") for r in emulator.requests)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = pytest.importorskip(
        "ray", reason="Ray is not installed: pip install 'odsc-llm[ray]' to run this test"
    )
    pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'ray[data]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_map_batches_on_a_local_ray_cluster(
    ray_cluster: Any, emulator: LocalDeployment, tmp_path: Path
) -> None:
    # Workers are other processes: they get an auth *factory* and build their own signer.
    config = emulator.write_oci_config(tmp_path)
    auth_factory = functools.partial(odsc_llm.auth.api_key, config_file=str(config))
    prompts = [f"question {i}" for i in range(24)]
    ds = ray_cluster.data.from_items([{"id": i, "prompt": p} for i, p in enumerate(prompts)])
    answered = ds.map_batches(
        DeploymentPredictor,
        fn_constructor_kwargs={
            "deployment": emulator.url,
            "auth": auth_factory,
            "concurrency": 4,
            "max_tokens": 40,
        },
        concurrency=1,
        batch_size=8,
        num_cpus=1,
    )
    rows = sorted(answered.take_all(), key=lambda row: row["id"])
    assert [row["answer"] for row in rows] == [f"You said: {p}" for p in prompts]
    assert all(row["answer_error"] is None for row in rows)
    assert len(emulator.requests) == 24
    assert all(r.status == 200 for r in emulator.requests)
