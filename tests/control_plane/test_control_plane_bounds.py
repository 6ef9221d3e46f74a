"""Control-plane calls with no network obey ``timeout`` and ``max_retries`` (issue 21, 7).

Sync and async twins, against the servers of :mod:`tests.support.bounds`: every call
ends at its timeout with one line, ``<operation> <endpoint>: <cause>``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import oci
import pytest

import odsc_llm
from odsc_llm import control_plane as cp
from odsc_llm.errors import ControlPlaneError, InvalidRequestError
from odsc_llm.testing import LocalDeployment
from tests.support import bounds as support
from tests.support.bounds import BOUND, SLACK, TIMEOUT, bounded
from tests.support.hostile import OCID, HostileServer

COMPARTMENT = "ocid1.compartment.oc1..amaaaaaabounds"
ONE_LINE = re.compile(
    r"^(GetModelDeployment|ListModelDeployments|SearchLogs) http://127\.0\.0\.1:\d+: "
)


@pytest.fixture
def closed_port() -> int:
    return support.closed_port()


@pytest.fixture(scope="module")
def auth() -> odsc_llm.auth.OCIAuth:
    return LocalDeployment().auth  # never started: only its key signs


def check_one_line(error: BaseException | None, cause: str) -> str:
    assert isinstance(error, ControlPlaneError), repr(error)
    text = str(error)
    assert "\n" not in text and len(text) <= 300, text
    assert ONE_LINE.match(text), text
    assert cause in text, text
    return text


def twin(is_async: bool, name: str, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    """A call of ``cp.<name>`` or of its async twin (in a fresh event loop)."""
    if not is_async:
        return lambda: getattr(cp, name)(*args, **kwargs)
    return lambda: asyncio.run(getattr(cp, "a" + name)(*args, **kwargs))


def first_record(is_async: bool, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    """The first record of follow_logs / afollow_logs."""
    if not is_async:
        return lambda: next(cp.follow_logs(*args, **kwargs))

    async def first() -> Any:
        return await cp.afollow_logs(*args, **kwargs).__anext__()

    return lambda: asyncio.run(first())


TWINS = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


# ----------------------------------------------------------------------- one call


@TWINS
def test_fetch_with_no_answer_ends_at_its_timeout(
    silent_server: HostileServer, auth: Any, is_async: bool
) -> None:
    dep = odsc_llm.Deployment.from_url(silent_server.url)
    error, took = bounded(twin(is_async, "fetch", dep, auth, timeout=TIMEOUT, max_retries=0))
    text = check_one_line(error, f"no answer within {TIMEOUT:g} s")
    assert text.startswith(f"GetModelDeployment {silent_server.origin}: ")
    assert took < TIMEOUT + SLACK


@TWINS
def test_deployment_fetch_passes_timeout_and_max_retries(
    silent_server: HostileServer, auth: Any, is_async: bool
) -> None:
    dep = odsc_llm.Deployment.from_url(silent_server.url)
    if is_async:
        call = lambda: asyncio.run(dep.afetch(auth, timeout=TIMEOUT, max_retries=0))  # noqa: E731
    else:
        call = lambda: dep.fetch(auth, timeout=TIMEOUT, max_retries=0)  # noqa: E731
    error, took = bounded(call)
    check_one_line(error, "no answer within 2 s (timeout 2 s, 0 retries)")
    assert took < TIMEOUT + SLACK


@TWINS
def test_connection_refused_is_one_line(closed_port: int, auth: Any, is_async: bool) -> None:
    dep = odsc_llm.Deployment.from_url(f"http://127.0.0.1:{closed_port}/{OCID}")
    error, took = bounded(twin(is_async, "fetch", dep, auth, timeout=TIMEOUT, max_retries=0))
    check_one_line(error, "connection refused")
    assert took < TIMEOUT + SLACK


@pytest.mark.parametrize("retries", [0, 2])
def test_max_retries_drives_ocis_retry_strategy(
    hang_up_server: HostileServer, auth: Any, retries: int
) -> None:
    dep = odsc_llm.Deployment.from_url(hang_up_server.url)
    error, _ = bounded(lambda: cp.fetch(dep, auth, timeout=BOUND / 2, max_retries=retries))
    check_one_line(error, "closed")
    assert hang_up_server.connections == retries + 1


def test_the_deadline_holds_whatever_the_oci_client_does(
    silent_server: HostileServer, auth: Any
) -> None:
    """A client built by a custom factory keeps oci's own timeouts (60 s reads) and
    retry strategy (8 attempts): the call still ends at its timeout."""

    def factory(service: str, region: str, signer: Any, **kwargs: Any) -> Any:
        config = {**cp._constants.SIGNER_CONFIG, "region": region}
        return oci.data_science.DataScienceClient(config, signer=signer, **kwargs)

    dep = odsc_llm.Deployment.from_url(silent_server.url)
    call = lambda: cp.fetch(dep, auth, timeout=TIMEOUT, client_factory=factory)  # noqa: E731
    error, took = bounded(call)
    check_one_line(error, f"no answer within {TIMEOUT:g} s")
    assert took < TIMEOUT + SLACK


# ----------------------------------------------------------------- every function


@TWINS
def test_list_deployments_obeys_timeout(
    silent_server: HostileServer, auth: Any, is_async: bool
) -> None:
    call = twin(
        is_async,
        "list_deployments",
        COMPARTMENT,
        auth,
        region="us-ashburn-1",
        control_plane_endpoint=silent_server.origin,
        timeout=TIMEOUT,
        max_retries=0,
    )
    error, took = bounded(call)
    assert str(error).startswith(f"ListModelDeployments {silent_server.origin}: ")
    check_one_line(error, "no answer")
    assert took < TIMEOUT + SLACK


@TWINS
def test_logs_obey_one_deadline(silent_server: HostileServer, auth: Any, is_async: bool) -> None:
    dep = odsc_llm.Deployment.from_url(silent_server.url)
    error, took = bounded(twin(is_async, "logs", dep, auth, timeout=TIMEOUT, max_retries=0))
    check_one_line(error, "no answer")
    assert took < TIMEOUT + SLACK


@TWINS
def test_follow_logs_obeys_timeout(silent_server: HostileServer, auth: Any, is_async: bool) -> None:
    dep = odsc_llm.Deployment.from_url(silent_server.url)
    error, took = bounded(first_record(is_async, dep, auth, timeout=TIMEOUT, max_retries=0))
    check_one_line(error, "no answer")
    assert took < TIMEOUT + SLACK


@TWINS
def test_wait_until_active_polls_obey_request_timeout(
    silent_server: HostileServer, auth: Any, is_async: bool
) -> None:
    dep = odsc_llm.Deployment.from_url(silent_server.url)
    call = twin(
        is_async,
        "wait_until_active",
        dep,
        auth,
        timeout=600,
        request_timeout=TIMEOUT,
        max_retries=0,
    )
    error, took = bounded(call)
    check_one_line(error, "no answer")
    assert took < TIMEOUT + SLACK


@TWINS
def test_deployment_wait_passes_request_timeout_and_max_retries(
    silent_server: HostileServer, auth: Any, is_async: bool
) -> None:
    dep = odsc_llm.Deployment.from_url(silent_server.url)
    options: dict[str, Any] = {"timeout": 600, "request_timeout": TIMEOUT, "max_retries": 0}
    if is_async:
        call = lambda: asyncio.run(dep.await_until_active(auth, **options))  # noqa: E731
    else:
        call = lambda: dep.wait_until_active(auth, **options)  # noqa: E731
    error, took = bounded(call)
    check_one_line(error, f"no answer within {TIMEOUT:g} s (timeout 2 s, 0 retries)")
    assert took < TIMEOUT + SLACK


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"timeout": (1.0,)}, "timeout"),
        ({"timeout": (1.0, -1.0)}, "read part"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
    ],
)
def test_bad_bounds_are_refused_before_any_call(
    closed_port: int, auth: Any, options: dict[str, Any], named: str
) -> None:
    dep = odsc_llm.Deployment.from_url(f"http://127.0.0.1:{closed_port}/{OCID}")
    for call in (
        lambda: cp.fetch(dep, auth, **options),
        lambda: cp.logs(dep, auth, **options),
        lambda: cp.follow_logs(dep, auth, **options),
        lambda: cp.list_deployments(COMPARTMENT, auth, region="us-ashburn-1", **options),
    ):
        with pytest.raises(InvalidRequestError, match=named):
            call()
    renamed = {("request_timeout" if k == "timeout" else k): v for k, v in options.items()}
    with pytest.raises(InvalidRequestError, match=named):
        cp.wait_until_active(dep, auth, **renamed)


def test_the_default_bound_is_at_most_30_seconds() -> None:
    from odsc_llm._oci_bounds import bounds

    limits = bounds()
    assert limits.total <= 30 and limits.connect <= limits.total and limits.max_retries == 2
    assert limits.oci_timeout[1] <= 30
