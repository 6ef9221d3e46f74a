"""Where a model deployment is: a typed, immutable value built from a URL or an OCID."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from typing_extensions import Self, Unpack

from ._address import Address, check_endpoint, control_plane_url, parse_ocid, parse_url
from ._errors import InvalidDeploymentError

if TYPE_CHECKING:
    # Only for annotations: the control plane never imports this module (it reads
    # addresses through ._address), and this one imports it only inside its delegates.
    from ._oci_bounds import TimeoutArg
    from .control_plane import DeploymentInfo, FollowOptions, LogOptions, LogRecord

__all__ = ["Deployment"]


def _fields(address: Address) -> dict[str, Any]:
    fields = dataclasses.asdict(address)
    del fields["control_plane_endpoint"]  # given by the caller
    return fields


def _typed(exc: ValidationError) -> Exception:
    """Our own InvalidDeploymentError out of pydantic's wrapping, else the ValidationError."""
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, InvalidDeploymentError):
            return cause
    return exc


class Deployment(BaseModel):
    """A model deployment's address.

    Build one with :meth:`from_url` or :meth:`from_ocid`; neither touches the network.
    However it is made (those, the constructor, ``model_validate`` or
    ``model_copy(update=...)``), plain ``http://`` is refused unless the host is loopback
    or ``allow_insecure=True``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The deployment's OCID, e.g. ``ocid1.datasciencemodeldeployment.oc1.iad.xxx``.
    ocid: str
    #: The region name, e.g. ``us-ashburn-1``.
    region: str
    #: The base URL, ``https://modeldeployment.<region>.oci.customer-oci.com/<ocid>``.
    endpoint: str
    #: Whether plain ``http://`` to a host that is not loopback was allowed.
    allow_insecure: bool = False
    #: Where the control-plane calls go (``scheme://host[:port]``) instead of the region's
    #: public Data Science and Logging Search endpoints (see :attr:`control_plane_url`).
    control_plane_endpoint: str | None = None

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _typed(exc) from None

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        **kwargs: Any,
    ) -> Self:
        """pydantic's ``model_validate``, raising the same typed errors as the constructor."""
        try:
            return super().model_validate(
                obj, strict=strict, from_attributes=from_attributes, context=context, **kwargs
            )
        except ValidationError as exc:
            raise _typed(exc) from None

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update`` it is validated as a new Deployment (pydantic's own
        ``model_copy`` skips validation, which would let ``http://`` in)."""
        if not update:
            return super().model_copy(deep=deep)
        return self.model_validate({**self.model_dump(), **update})

    @field_validator("control_plane_endpoint")
    @classmethod
    def _without_trailing_slash(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_plain_http(self) -> Self:
        check_endpoint(self.endpoint, "the endpoint", allow_insecure=self.allow_insecure)
        if self.control_plane_endpoint is not None:
            check_endpoint(
                self.control_plane_endpoint,
                "control_plane_endpoint",
                allow_insecure=self.allow_insecure,
            )
        return self

    @property
    def control_plane_url(self) -> str | None:
        """Where this deployment's control-plane calls go, or None for the region's public
        endpoints: ``control_plane_endpoint`` if set, else ``scheme://host:port`` of a
        loopback endpoint (the local emulator serves its own control plane)."""
        return control_plane_url(self.endpoint, self.control_plane_endpoint)

    @property
    def predict_url(self) -> str:
        """``{endpoint}/predict``: the non-streaming (and legacy streaming) endpoint."""
        return f"{self.endpoint}/predict"

    @property
    def stream_url(self) -> str:
        """``{endpoint}/predictWithResponseStream``: the streaming endpoint."""
        return f"{self.endpoint}/predictWithResponseStream"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        region: str | None = None,
        allow_insecure: bool = False,
        control_plane_endpoint: str | None = None,
    ) -> Deployment:
        """Parse a deployment URL, with or without ``/predict`` or ``/predictWithResponseStream``.

        Any realm domain is accepted. The region comes from the host
        (``modeldeployment.<region>.oci...``), else from ``region``, else from the OCID.
        Plain ``http://`` is refused unless the host is loopback or ``allow_insecure=True``.
        ``control_plane_endpoint``: see :attr:`control_plane_url`.
        """
        address = parse_url(url, region=region, allow_insecure=allow_insecure)
        return cls(**_fields(address), control_plane_endpoint=control_plane_endpoint)

    @classmethod
    def from_ocid(
        cls, ocid: str, region: str | None = None, *, control_plane_endpoint: str | None = None
    ) -> Deployment:
        """Build the public endpoint of a deployment from its OCID.

        The region comes from the OCID's region key (``iad`` -> ``us-ashburn-1``, using
        oci's region table) unless ``region`` is given. ``control_plane_endpoint``: see
        :attr:`control_plane_url`.
        """
        address = parse_ocid(ocid, region)
        return cls(**_fields(address), control_plane_endpoint=control_plane_endpoint)

    @classmethod
    def from_info(cls, info: DeploymentInfo) -> Deployment:
        """The deployment that ``info`` (from :func:`odsc_llm.control_plane.fetch` or
        ``list_deployments``) describes, to give a client: from its URL, else its OCID."""
        if info.endpoint:
            try:
                return cls.from_url(info.endpoint, region=info.region)
            except InvalidDeploymentError:
                pass
        return cls.from_ocid(info.ocid, region=info.region)

    @classmethod
    def coerce(cls, value: Deployment | str) -> Deployment:
        """A Deployment from a Deployment, a URL or an OCID (what clients accept)."""
        if isinstance(value, Deployment):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("ocid1."):
                return cls.from_ocid(text)
            return cls.from_url(text)
        raise InvalidDeploymentError(
            f"deployment must be a Deployment, a URL or an OCID string, not {type(value).__name__}."
        )

    # -- control plane: thin delegates to odsc_llm.control_plane (imported on first call,
    # and oci with it). ``auth``: an odsc_llm.auth.OCIAuth, an oci signer, or None for
    # auth.default().

    def fetch(
        self, auth: Any = None, *, timeout: TimeoutArg = None, max_retries: int | None = None
    ) -> DeploymentInfo:
        """What the control plane says of this deployment: state, shape, model, log ids.

        ``timeout`` (default: 30 s in all) and ``max_retries``: see
        :func:`odsc_llm.control_plane.fetch`."""
        from . import control_plane

        return control_plane.fetch(self, auth, timeout=timeout, max_retries=max_retries)

    async def afetch(
        self, auth: Any = None, *, timeout: TimeoutArg = None, max_retries: int | None = None
    ) -> DeploymentInfo:
        """Async :meth:`fetch` (the oci call runs in a worker thread)."""
        from . import control_plane

        return await control_plane.afetch(self, auth, timeout=timeout, max_retries=max_retries)

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
            self,
            auth,
            timeout=cp.DEFAULT_WAIT_TIMEOUT if timeout is None else timeout,
            poll_interval=cp.DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval,
            callback=callback,
            request_timeout=request_timeout,
            max_retries=max_retries,
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
        """Async :meth:`wait_until_active`."""
        from . import control_plane as cp

        return await cp.await_until_active(
            self,
            auth,
            timeout=cp.DEFAULT_WAIT_TIMEOUT if timeout is None else timeout,
            poll_interval=cp.DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval,
            callback=callback,
            request_timeout=request_timeout,
            max_retries=max_retries,
        )

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
                "release: use Deployment.follow_logs(), which returns an iterator of records.",
                DeprecationWarning,
                stacklevel=2,
            )
            interval = cp.DEFAULT_FOLLOW_INTERVAL if poll_interval is None else poll_interval
            follower = cp.follow_logs(self, auth, poll_interval=interval, **options)
            return follower  # type: ignore[return-value]
        return cp.logs(self, auth, **options)

    def follow_logs(
        self, auth: Any = None, **options: Unpack[FollowOptions]
    ) -> Iterator[LogRecord]:
        """Follow the log like ``tail -f``: see :func:`odsc_llm.control_plane.follow_logs`."""
        from . import control_plane

        return control_plane.follow_logs(self, auth, **options)

    async def alogs(
        self,
        auth: Any = None,
        *,
        follow: bool = False,
        poll_interval: float | None = None,
        **options: Unpack[LogOptions],
    ) -> list[LogRecord]:
        """Async :meth:`logs`. ``follow=True`` is deprecated: use :meth:`afollow_logs`."""
        from . import control_plane as cp

        if follow:  # deprecated: one release, then afollow_logs() only
            warnings.warn(
                "Deployment.alogs(follow=True) is deprecated and will be removed in the next "
                "release: use Deployment.afollow_logs(), which returns an async iterator.",
                DeprecationWarning,
                stacklevel=2,
            )
            interval = cp.DEFAULT_FOLLOW_INTERVAL if poll_interval is None else poll_interval
            follower = cp.afollow_logs(self, auth, poll_interval=interval, **options)
            return follower  # type: ignore[return-value]
        return await cp.alogs(self, auth, **options)

    def afollow_logs(
        self, auth: Any = None, **options: Unpack[FollowOptions]
    ) -> AsyncIterator[LogRecord]:
        """Async :meth:`follow_logs`: ``async for record in dep.afollow_logs(): ...``."""
        from . import control_plane

        return control_plane.afollow_logs(self, auth, **options)

    # -- the lifecycle: one-line calls into odsc_llm.control_plane (``wait=True`` waits on
    # the operation; ``options``: timeout, poll_interval, callback, request_timeout...).

    def activate(self, auth: Any = None, *, wait: bool = False, **options: Any) -> DeploymentInfo:
        """Start this INACTIVE deployment again: :func:`odsc_llm.control_plane.activate`."""
        from . import control_plane

        return control_plane.activate(self, auth, wait=wait, **options)

    def deactivate(self, auth: Any = None, *, wait: bool = False, **options: Any) -> DeploymentInfo:
        """Stop it (billing stops): :func:`odsc_llm.control_plane.deactivate`."""
        from . import control_plane

        return control_plane.deactivate(self, auth, wait=wait, **options)

    def delete(self, auth: Any = None, *, wait: bool = False, **options: Any) -> DeploymentInfo:
        """Delete it, for good: :func:`odsc_llm.control_plane.delete`."""
        from . import control_plane

        return control_plane.delete(self, auth, wait=wait, **options)

    def scale(
        self, instances: int, auth: Any = None, *, wait: bool = False, **options: Any
    ) -> DeploymentInfo:
        """Run ``instances`` instances: :func:`odsc_llm.control_plane.update_deployment`."""
        from . import control_plane

        return control_plane.update_deployment(
            self, auth, instance_count=instances, wait=wait, **options
        )

    async def aactivate(
        self, auth: Any = None, *, wait: bool = False, **options: Any
    ) -> DeploymentInfo:
        """Async :meth:`activate`."""
        from . import control_plane

        return await control_plane.aactivate(self, auth, wait=wait, **options)

    async def adeactivate(
        self, auth: Any = None, *, wait: bool = False, **options: Any
    ) -> DeploymentInfo:
        """Async :meth:`deactivate`."""
        from . import control_plane

        return await control_plane.adeactivate(self, auth, wait=wait, **options)

    async def adelete(
        self, auth: Any = None, *, wait: bool = False, **options: Any
    ) -> DeploymentInfo:
        """Async :meth:`delete`."""
        from . import control_plane

        return await control_plane.adelete(self, auth, wait=wait, **options)

    async def ascale(
        self, instances: int, auth: Any = None, *, wait: bool = False, **options: Any
    ) -> DeploymentInfo:
        """Async :meth:`scale`."""
        from . import control_plane

        return await control_plane.aupdate_deployment(
            self, auth, instance_count=instances, wait=wait, **options
        )

    def __repr__(self) -> str:
        extra = ""
        if self.control_plane_endpoint is not None:
            extra = f", control_plane_endpoint={self.control_plane_endpoint!r}"
        return (
            f"Deployment(ocid={self.ocid!r}, region={self.region!r}, "
            f"endpoint={self.endpoint!r}{extra})"
        )

    def _repr_html_(self) -> str:
        import html as _html

        return (
            "<b>odsc_llm.Deployment</b><br>"
            f"ocid: <code>{_html.escape(self.ocid)}</code><br>"
            f"region: {_html.escape(self.region)}<br>"
            f"endpoint: <code>{_html.escape(self.endpoint)}</code>"
        )
