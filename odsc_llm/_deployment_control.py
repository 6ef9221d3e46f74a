"""The control-plane methods of :class:`odsc_llm.Deployment` (fetch, wait, logs, the
lifecycle): thin delegates to :mod:`odsc_llm.control_plane`, imported on first call (and
``oci`` with it). ``auth``: an :class:`odsc_llm.auth.OCIAuth`, an oci signer, or None
for ``auth.default()``.

The sync methods are generated from the async ones (scripts/unasync.py); the generated
ones come first, so the reference lists them first.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from typing_extensions import Unpack

if TYPE_CHECKING:
    # Only for annotations: the control plane never imports the deployment modules (it
    # reads addresses through ._address); these import it only inside their delegates.
    from ._oci_bounds import TimeoutArg
    from .control_plane import (
        DeploymentInfo,
        FollowOptions,
        LifecycleOptions,
        LogOptions,
        LogRecord,
    )
    from .deployment import Deployment

__all__ = ["DeploymentControl"]


class DeploymentControl:
    """What :class:`odsc_llm.Deployment` can ask the control plane (a mixin, no fields)."""

    __slots__ = ()

    @property
    def _located(self) -> Deployment:
        return cast("Deployment", self)

    # unasync: begin generated
    # Generated from the `unasync: begin source` region 1 of this file by
    # scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.

    def fetch(
        self, auth: Any = None, *, timeout: TimeoutArg = None, max_retries: int | None = None
    ) -> DeploymentInfo:
        """What the control plane says of this deployment: state, shape, model, log ids.

        ``timeout`` (default: 30 s in all) and ``max_retries``: see
        :func:`odsc_llm.control_plane.fetch`."""
        from . import control_plane

        return control_plane.fetch(self._located, auth, timeout=timeout, max_retries=max_retries)

    def wait_until_active(
        self,
        auth: Any = None,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        callback: Callable[[DeploymentInfo], object] | None = None,
        request_timeout: TimeoutArg = None,
        max_retries: int | None = None,
    ) -> DeploymentInfo:
        """Poll until ACTIVE; :class:`~odsc_llm.DeploymentStateError` on FAILED, DELETED
        or timeout, with the lifecycle details and the last log lines.

        ``timeout`` and ``poll_interval`` default to
        ``odsc_llm.control_plane.DEFAULT_WAIT_TIMEOUT`` (30 min) and
        ``DEFAULT_POLL_INTERVAL`` (15 s); ``request_timeout`` and ``max_retries`` bound
        each poll as ``timeout`` and ``max_retries`` bound :meth:`fetch`. See
        :func:`odsc_llm.control_plane.wait_until_active`.
        """
        from . import control_plane as cp

        return cp.wait_until_active(
            self._located,
            auth,
            timeout=cp.DEFAULT_WAIT_TIMEOUT if timeout is None else timeout,
            poll_interval=cp.DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval,
            callback=callback,
            request_timeout=request_timeout,
            max_retries=max_retries,
        )

    # unasync: end generated

    # unasync: begin generated
    # Generated from the `unasync: begin source` region 2 of this file by
    # scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.

    def logs(
        self,
        auth: Any = None,
        *,
        follow: bool = False,
        poll_interval: float | None = None,
        **options: Unpack[LogOptions],
    ) -> list[LogRecord]:
        """Recent log records, oldest first: ``kind``, ``since``, ``limit`` as in
        :func:`odsc_llm.control_plane.logs`.

        ``follow=True`` (and ``poll_interval``) is deprecated: use :meth:`follow_logs`.
        """
        from . import control_plane as cp

        if follow:  # deprecated: one release, then follow_logs() only
            warnings.warn(
                "Deployment.logs(follow=True) is deprecated and will be removed in the next "
                "release: use Deployment.follow_logs(), which yields the records.",
                DeprecationWarning,
                stacklevel=2,
            )
            interval = cp.DEFAULT_FOLLOW_INTERVAL if poll_interval is None else poll_interval
            follower = cp.follow_logs(self._located, auth, poll_interval=interval, **options)
            return follower  # type: ignore[return-value]
        return cp.logs(self._located, auth, **options)

    def follow_logs(
        self, auth: Any = None, **options: Unpack[FollowOptions]
    ) -> Iterator[LogRecord]:
        """Follow the log like ``tail -f``: see :func:`odsc_llm.control_plane.follow_logs`."""
        from . import control_plane

        return control_plane.follow_logs(self._located, auth, **options)

    # unasync: end generated

    # unasync: begin generated
    # Generated from the `unasync: begin source` region 3 of this file by
    # scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.

    def activate(
        self, auth: Any = None, *, wait: bool = False, **options: Unpack[LifecycleOptions]
    ) -> DeploymentInfo:
        """Start this INACTIVE deployment again: :func:`odsc_llm.control_plane.activate`."""
        from . import control_plane

        return control_plane.activate(self._located, auth, wait=wait, **options)

    def deactivate(
        self, auth: Any = None, *, wait: bool = False, **options: Unpack[LifecycleOptions]
    ) -> DeploymentInfo:
        """Stop it (billing stops): :func:`odsc_llm.control_plane.deactivate`."""
        from . import control_plane

        return control_plane.deactivate(self._located, auth, wait=wait, **options)

    def delete(
        self, auth: Any = None, *, wait: bool = False, **options: Unpack[LifecycleOptions]
    ) -> DeploymentInfo:
        """Delete it, for good: :func:`odsc_llm.control_plane.delete`."""
        from . import control_plane

        return control_plane.delete(self._located, auth, wait=wait, **options)

    # unasync: end generated

    # unasync: begin generated
    # Generated from the `unasync: begin source` region 4 of this file by
    # scripts/unasync.py: edit that region, then run `python scripts/unasync.py`.

    def scale(
        self,
        instances: int,
        auth: Any = None,
        *,
        wait: bool = False,
        **options: Unpack[LifecycleOptions],
    ) -> DeploymentInfo:
        """Run ``instances`` instances: :func:`odsc_llm.control_plane.update_deployment`."""
        from . import control_plane

        return control_plane.update_deployment(
            self._located, auth, instance_count=instances, wait=wait, **options
        )

    # unasync: end generated

    # unasync: begin source rename=afetch:fetch

    async def afetch(
        self, auth: Any = None, *, timeout: TimeoutArg = None, max_retries: int | None = None
    ) -> DeploymentInfo:
        """What the control plane says of this deployment: state, shape, model, log ids.

        ``timeout`` (default: 30 s in all) and ``max_retries``: see
        :func:`odsc_llm.control_plane.afetch`."""
        from . import control_plane

        return await control_plane.afetch(
            self._located, auth, timeout=timeout, max_retries=max_retries
        )

    async def await_until_active(
        self,
        auth: Any = None,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        callback: Callable[[DeploymentInfo], object] | None = None,
        request_timeout: TimeoutArg = None,
        max_retries: int | None = None,
    ) -> DeploymentInfo:
        """Poll until ACTIVE; :class:`~odsc_llm.DeploymentStateError` on FAILED, DELETED
        or timeout, with the lifecycle details and the last log lines.

        ``timeout`` and ``poll_interval`` default to
        ``odsc_llm.control_plane.DEFAULT_WAIT_TIMEOUT`` (30 min) and
        ``DEFAULT_POLL_INTERVAL`` (15 s); ``request_timeout`` and ``max_retries`` bound
        each poll as ``timeout`` and ``max_retries`` bound :meth:`afetch`. See
        :func:`odsc_llm.control_plane.await_until_active`.
        """
        from . import control_plane as cp

        return await cp.await_until_active(
            self._located,
            auth,
            timeout=cp.DEFAULT_WAIT_TIMEOUT if timeout is None else timeout,
            poll_interval=cp.DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval,
            callback=callback,
            request_timeout=request_timeout,
            max_retries=max_retries,
        )

    # unasync: end source

    # unasync: begin source rename=alogs:logs,afollow_logs:follow_logs

    async def alogs(
        self,
        auth: Any = None,
        *,
        follow: bool = False,
        poll_interval: float | None = None,
        **options: Unpack[LogOptions],
    ) -> list[LogRecord]:
        """Recent log records, oldest first: ``kind``, ``since``, ``limit`` as in
        :func:`odsc_llm.control_plane.alogs`.

        ``follow=True`` (and ``poll_interval``) is deprecated: use :meth:`afollow_logs`.
        """
        from . import control_plane as cp

        if follow:  # deprecated: one release, then afollow_logs() only
            warnings.warn(
                "Deployment.alogs(follow=True) is deprecated and will be removed in the next "
                "release: use Deployment.afollow_logs(), which yields the records.",
                DeprecationWarning,
                stacklevel=2,
            )
            interval = cp.DEFAULT_FOLLOW_INTERVAL if poll_interval is None else poll_interval
            follower = cp.afollow_logs(self._located, auth, poll_interval=interval, **options)
            return follower  # type: ignore[return-value]
        return await cp.alogs(self._located, auth, **options)

    def afollow_logs(
        self, auth: Any = None, **options: Unpack[FollowOptions]
    ) -> AsyncIterator[LogRecord]:
        """Follow the log like ``tail -f``: see :func:`odsc_llm.control_plane.afollow_logs`."""
        from . import control_plane

        return control_plane.afollow_logs(self._located, auth, **options)

    # unasync: end source

    # -- the lifecycle: one-line calls into odsc_llm.control_plane (``wait=True`` waits on
    # the operation; ``options``: timeout, poll_interval, callback, request_timeout...).

    # unasync: begin source rename=aactivate:activate,adeactivate:deactivate,adelete:delete

    async def aactivate(
        self, auth: Any = None, *, wait: bool = False, **options: Unpack[LifecycleOptions]
    ) -> DeploymentInfo:
        """Start this INACTIVE deployment again: :func:`odsc_llm.control_plane.aactivate`."""
        from . import control_plane

        return await control_plane.aactivate(self._located, auth, wait=wait, **options)

    async def adeactivate(
        self, auth: Any = None, *, wait: bool = False, **options: Unpack[LifecycleOptions]
    ) -> DeploymentInfo:
        """Stop it (billing stops): :func:`odsc_llm.control_plane.adeactivate`."""
        from . import control_plane

        return await control_plane.adeactivate(self._located, auth, wait=wait, **options)

    async def adelete(
        self, auth: Any = None, *, wait: bool = False, **options: Unpack[LifecycleOptions]
    ) -> DeploymentInfo:
        """Delete it, for good: :func:`odsc_llm.control_plane.adelete`."""
        from . import control_plane

        return await control_plane.adelete(self._located, auth, wait=wait, **options)

    # unasync: end source

    # unasync: begin source rename=ascale:scale,aupdate_deployment:update_deployment

    async def ascale(
        self,
        instances: int,
        auth: Any = None,
        *,
        wait: bool = False,
        **options: Unpack[LifecycleOptions],
    ) -> DeploymentInfo:
        """Run ``instances`` instances: :func:`odsc_llm.control_plane.aupdate_deployment`."""
        from . import control_plane

        return await control_plane.aupdate_deployment(
            self._located, auth, instance_count=instances, wait=wait, **options
        )

    # unasync: end source
