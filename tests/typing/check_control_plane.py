"""Checked by ``mypy --strict`` in .ci/run (not run by pytest): the logs return types.

One function per return type (no bool flag), and ``Deployment.logs`` takes exactly
the :class:`~odsc_llm.control_plane.LogOptions` keywords.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

from typing_extensions import assert_type

import odsc_llm
from odsc_llm import control_plane as cp
from odsc_llm.control_plane import LogRecord


def sync_logs(dep: odsc_llm.Deployment) -> None:
    assert_type(dep.logs(), list[LogRecord])
    assert_type(dep.logs(kind="access", since=timedelta(hours=1), limit=5), list[LogRecord])
    assert_type(dep.follow_logs(poll_interval=1.0), Iterator[LogRecord])
    assert_type(cp.logs(dep), list[LogRecord])
    assert_type(cp.follow_logs(dep, kind="predict"), Iterator[LogRecord])
    dep.logs(kind="stdout")  # type: ignore[arg-type]
    dep.logs(limt=5)  # type: ignore[call-arg]


async def async_logs(dep: odsc_llm.Deployment) -> None:
    assert_type(await dep.alogs(limit=5), list[LogRecord])
    assert_type(dep.afollow_logs(), AsyncIterator[LogRecord])
    assert_type(await cp.alogs(dep), list[LogRecord])
    assert_type(cp.afollow_logs(dep), AsyncIterator[LogRecord])
    async for record in dep.afollow_logs(since=timedelta(minutes=5)):
        assert_type(record, LogRecord)
