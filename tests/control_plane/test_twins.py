"""One source for each sync/async pair of the control plane and of ``Deployment``: the
sync twin is generated from the async one (scripts/unasync.py), so the two take the same
arguments and their docstrings say the same; and what the shared core now checks."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

import odsc_llm
from odsc_llm import control_plane as cp
from odsc_llm.errors import InvalidRequestError

OCID = "ocid1.datasciencemodeldeployment.oc1.iad.xxx"
Dep = odsc_llm.Deployment

PAIRS: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
    (cp.fetch, cp.afetch),
    (cp.deployment_state, cp.adeployment_state),
    (cp.list_deployments, cp.alist_deployments),
    (cp.list_containers, cp.alist_containers),
    (cp.create_deployment, cp.acreate_deployment),
    (cp.update_deployment, cp.aupdate_deployment),
    (cp.activate, cp.aactivate),
    (cp.deactivate, cp.adeactivate),
    (cp.delete, cp.adelete),
    (cp.logs, cp.alogs),
    (cp.follow_logs, cp.afollow_logs),
    (cp.wait_until_active, cp.await_until_active),
    (cp.wait_until_done, cp.await_until_done),
    (Dep.fetch, Dep.afetch),
    (Dep.wait_until_active, Dep.await_until_active),
    (Dep.logs, Dep.alogs),
    (Dep.follow_logs, Dep.afollow_logs),
    (Dep.activate, Dep.aactivate),
    (Dep.deactivate, Dep.adeactivate),
    (Dep.delete, Dep.adelete),
    (Dep.scale, Dep.ascale),
]
ASYNC_NAMES = {a.__name__ for _, a in PAIRS} | {"aupdate_deployment"}


def _ids(pair: tuple[Callable[..., Any], Callable[..., Any]]) -> str:
    return pair[0].__qualname__


def _as_sync(text: str) -> str:
    """An async docstring with the async names read as their sync twins'."""
    text = re.sub(r"\bawait_until_", "wait_until_", text)
    return re.sub(r"\ba(\w+)", lambda m: m[1] if m[0] in ASYNC_NAMES else m[0], text)


@pytest.mark.parametrize("pair", PAIRS, ids=_ids)
def test_twins_take_the_same_arguments(pair: tuple[Callable[..., Any], ...]) -> None:
    sync, twin = (inspect.signature(f).parameters for f in pair)
    assert [(p.name, p.kind) for p in sync.values()] == [(p.name, p.kind) for p in twin.values()]
    for name, parameter in sync.items():
        if name != "sleep":  # time.sleep / asyncio.sleep
            assert parameter.default == twin[name].default, name


@pytest.mark.parametrize("pair", PAIRS, ids=_ids)
def test_twins_say_the_same(pair: tuple[Callable[..., Any], ...]) -> None:
    sync, twin = (inspect.getdoc(f) or "" for f in pair)
    assert sync and _as_sync(twin) == sync


LIFECYCLE = ["activate", "deactivate", "delete"]


@pytest.mark.parametrize("name", LIFECYCLE)
def test_a_misspelt_lifecycle_keyword_is_refused_by_name(name: str) -> None:
    """``**options: Unpack[LifecycleOptions]`` checks its keys as a signature would
    (InvalidRequestError is a TypeError too), before any call."""
    for call in (
        lambda: getattr(cp, name)(OCID, timout=5),
        lambda: asyncio.run(getattr(cp, f"a{name}")(OCID, timout=5)),
        lambda: getattr(Dep.from_ocid(OCID), name)(timout=5),
    ):
        with pytest.raises(InvalidRequestError, match=rf"{name}\(\) got unknown keyword") as info:
            call()
        assert isinstance(info.value, TypeError)
        assert "timout" in str(info.value) and "timeout=" in str(info.value)


def test_a_misspelt_update_keyword_is_refused_by_name() -> None:
    dep = Dep.from_ocid(OCID)
    for call in (
        lambda: cp.update_deployment(OCID, instance_count=2, max_retry=1),
        lambda: asyncio.run(cp.aupdate_deployment(OCID, instance_count=2, max_retry=1)),
        lambda: dep.scale(2, max_retry=1),
        lambda: asyncio.run(dep.ascale(2, max_retry=1)),
    ):
        with pytest.raises(InvalidRequestError, match=r"update_deployment\(\).*max_retry"):
            call()


@pytest.mark.parametrize("twin", [False, True], ids=["sync", "async"])
def test_list_deployments_refuses_bad_arguments_with_a_typed_error(twin: bool) -> None:
    def run(*args: Any, **kwargs: Any) -> Any:
        if twin:
            return asyncio.run(cp.alist_deployments(*args, **kwargs))
        return cp.list_deployments(*args, **kwargs)

    with pytest.raises(InvalidRequestError, match="compartment_id must be a compartment OCID"):
        run("my-compartment")
    with pytest.raises(InvalidRequestError, match="disagree: pass one"):
        run("ocid1.compartment.oc1..x", state="ACTIVE", lifecycle_state="FAILED")
