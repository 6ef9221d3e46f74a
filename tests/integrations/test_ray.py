"""Ray Data recipe: DeploymentPredictor in map_batches, against the local emulator.

The Ray tests need Ray Data (``pip install 'odsc-llm[ray]'``; CI installs it) and run
``ray.init(num_cpus=2)`` with two actors; the predictor itself is tested without Ray too.
"""

from __future__ import annotations

import functools
import json
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


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"prompt": "just one"}, "not a single str"),  # was 8 requests, one per character
        ({"prompt": b"just one"}, "not a single bytes"),
        ({"text": ["a"]}, r"no column 'prompt' \(it has \['text'\]\)"),
    ],
)
def test_predictor_refuses_a_column_that_is_not_a_list(
    emulator: LocalDeployment, block: dict[str, Any], message: str
) -> None:
    predictor = DeploymentPredictor(emulator.deployment, auth=emulator.auth, max_tokens=5)
    try:
        with pytest.raises(odsc_llm.InvalidRequestError, match=message) as caught:
            predictor(block)
        assert isinstance(caught.value, TypeError)
        # A bytes array column (numpy's "S" dtype gives bytes items) is decoded, not "b'..'".
        assert predictor({"prompt": [b"caf\xc3\xa9"]})["answer"] == ["You said: caf\u00e9"]
    finally:
        predictor.close()
    assert len(emulator.requests) == 1


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


def test_two_actors_back_off_on_a_throttled_deployment(ray_cluster: Any, tmp_path: Path) -> None:
    # A deployment at its limits: 429 above 10 requests/s, 4 generating, 2 queued: each
    # actor's first round (8 in flight) already meets a 503 or a 429.
    with LocalDeployment(capacity=4, queue_size=2, rate_limit=10, token_delay=0.03) as local:
        config = local.write_oci_config(tmp_path)
        auth_factory = functools.partial(odsc_llm.auth.api_key, config_file=str(config))
        prompts = [f"question {i}" for i in range(120)]
        ds = ray_cluster.data.from_items([{"id": i, "prompt": p} for i, p in enumerate(prompts)])
        answered = ds.map_batches(
            DeploymentPredictor,
            fn_constructor_kwargs={
                "deployment": local.url,
                "auth": auth_factory,
                "stats_column": "stats",
                "max_tokens": 40,
            },
            concurrency=2,
            batch_size=15,
            # Half a CPU each: with num_cpus=1 the two actors and Ray Data's own read task
            # did not fit the 2-CPU cluster, and the second actor never started.
            num_cpus=0.5,
        )
        rows = sorted(answered.take_all(), key=lambda row: row["id"])
        counts = local.throttle.counts()
    assert [row["answer"] for row in rows] == [f"You said: {p}" for p in prompts]
    assert all(row["answer_error"] is None for row in rows)
    assert counts[429] + counts[503] > 0 and counts[200] >= 120
    # Each actor has its own controller; the last stats each one reported:
    last: dict[int, dict[str, Any]] = {}
    for row in rows:
        stats = json.loads(row["stats"])
        if stats["cuts"] >= last.get(stats["pid"], {"cuts": -1})["cuts"]:
            last[stats["pid"]] = stats
    assert len(last) == 2, last
    for stats in last.values():
        assert stats["429"] + stats["503"] > 0, stats
        assert stats["cuts"] >= 1, stats  # it backed off
        assert stats["concurrency"] < 256, stats
    seen = sum(s["429"] + s["503"] for s in last.values())
    assert seen <= counts[429] + counts[503]
