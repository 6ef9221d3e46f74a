"""Where a model deployment is: a typed, immutable value built from a URL or an OCID."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from ._errors import InvalidDeploymentError

if TYPE_CHECKING:
    from .control_plane import DeploymentInfo, LogRecord

__all__ = ["Deployment"]

_OCID_RE = re.compile(
    r"^ocid1\.datasciencemodeldeployment\.(?P<realm>oc\d+)\.(?P<region>[a-z0-9-]*)\.(?P<unique>[a-z0-9]+)$"
)
# A full region name such as us-ashburn-1 or us-gov-ashburn-1; short keys (iad) are
# looked up in oci's own region table.
_REGION_NAME_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+-\d+$")
_PATH_SUFFIXES = ("/predictWithResponseStream", "/predict")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _check_ocid(ocid: str) -> re.Match[str]:
    match = _OCID_RE.match(ocid.strip())
    if match is None:
        raise InvalidDeploymentError(
            f"{ocid!r} is not a model deployment OCID: expected "
            "'ocid1.datasciencemodeldeployment.<realm>.<region>.<id>' "
            "(copy it from the deployment's page in the OCI console)."
        )
    return match


def _region_from_key(key: str, ocid: str) -> str:
    """us-ashburn-1 from 'us-ashburn-1' or 'iad' (via oci's region table)."""
    if _REGION_NAME_RE.match(key):
        return key
    import oci.regions  # lazy: oci is slow to import

    region = oci.regions.REGIONS_SHORT_NAMES.get(key)
    if region is None and key in oci.regions.REGIONS:
        region = key
    if region is None:
        raise InvalidDeploymentError(
            f"Cannot tell the region of {ocid!r}: region key {key!r} is unknown to the "
            "installed oci package. Pass region='...' explicitly, or upgrade oci."
        )
    return str(region)


def _domain_for_realm(realm: str) -> str:
    if realm == "oc1":
        return "oci.customer-oci.com"
    import oci.regions

    second_level = oci.regions.REALMS.get(realm)
    if second_level is None:
        raise InvalidDeploymentError(
            f"Unknown OCI realm {realm!r}: pass the deployment's URL to Deployment.from_url."
        )
    return f"oci.{second_level}"


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Deployment(BaseModel):
    """A model deployment's address.

    Build one with :meth:`from_url` or :meth:`from_ocid`; neither touches the network.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The deployment's OCID, e.g. ``ocid1.datasciencemodeldeployment.oc1.iad.xxx``.
    ocid: str
    #: The region name, e.g. ``us-ashburn-1``.
    region: str
    #: The base URL, ``https://modeldeployment.<region>.oci.customer-oci.com/<ocid>``.
    endpoint: str

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
        cls, url: str, *, region: str | None = None, allow_insecure: bool = False
    ) -> Deployment:
        """Parse a deployment URL, with or without ``/predict`` or ``/predictWithResponseStream``.

        Any realm domain is accepted. The region comes from the host
        (``modeldeployment.<region>.oci...``), else from ``region``, else from the OCID.
        Plain ``http://`` is refused unless the host is loopback or ``allow_insecure=True``.
        """
        if not isinstance(url, str) or not url.strip():
            raise InvalidDeploymentError("The deployment URL is empty.")
        parts = urlsplit(url.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise InvalidDeploymentError(
                f"{url!r} is not a deployment URL: expected "
                "'https://modeldeployment.<region>.oci.customer-oci.com/<deployment-ocid>'."
            )
        host = parts.hostname
        if parts.scheme == "http" and not (allow_insecure or _is_loopback(host)):
            raise InvalidDeploymentError(
                f"Refusing plain http:// for {host!r}: requests would be sent unencrypted. "
                "Use https://, or pass allow_insecure=True if you really mean it."
            )
        path = parts.path.rstrip("/")
        for suffix in _PATH_SUFFIXES:
            if path.endswith(suffix):
                path = path[: -len(suffix)]
                break
        segments = [s for s in path.split("/") if s]
        if not segments or not segments[-1].startswith("ocid1."):
            raise InvalidDeploymentError(
                f"{url!r} has no deployment OCID in its path: expected "
                "'https://<host>/<deployment-ocid>[/predict]'."
            )
        ocid = segments[-1]
        match = _check_ocid(ocid)
        labels = host.split(".")
        if region is None and len(labels) >= 3 and labels[0] == "modeldeployment":
            region = labels[1]
        if region is None:
            region = _region_from_key(match["region"], ocid)
        netloc = parts.netloc.rsplit("@", 1)[-1]  # never keep user:password@
        endpoint = f"{parts.scheme}://{netloc}{path}"
        return cls(ocid=ocid, region=region, endpoint=endpoint)

    @classmethod
    def from_ocid(cls, ocid: str, region: str | None = None) -> Deployment:
        """Build the public endpoint of a deployment from its OCID.

        The region comes from the OCID's region key (``iad`` -> ``us-ashburn-1``, using
        oci's region table) unless ``region`` is given.
        """
        if not isinstance(ocid, str):
            raise InvalidDeploymentError(f"Expected an OCID string, got {type(ocid).__name__}.")
        ocid = ocid.strip()
        match = _check_ocid(ocid)
        if region is None:
            region = _region_from_key(match["region"], ocid)
        domain = _domain_for_realm(match["realm"])
        endpoint = f"https://modeldeployment.{region}.{domain}/{ocid}"
        return cls(ocid=ocid, region=region, endpoint=endpoint)

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

    # -- control plane (odsc_llm.control_plane; oci is imported on first call) ------------
    # ``auth``: an odsc_llm.auth.OCIAuth, an oci signer, or None for auth.default().

    def fetch(self, auth: Any = None) -> DeploymentInfo:
        """What the control plane says of this deployment: state, shape, model, log ids."""
        from . import control_plane

        return control_plane.fetch(self, auth)

    async def afetch(self, auth: Any = None) -> DeploymentInfo:
        """Async :meth:`fetch` (the oci call runs in a worker thread)."""
        from . import control_plane

        return await control_plane.afetch(self, auth)

    def wait_until_active(
        self,
        auth: Any = None,
        *,
        timeout: float = 1800.0,
        poll_interval: float = 15.0,
        callback: Callable[[DeploymentInfo], object] | None = None,
    ) -> DeploymentInfo:
        """Poll until ACTIVE; :class:`~odsc_llm.DeploymentStateError` on FAILED, DELETED
        or timeout, with the lifecycle details and the last log lines.

        See :func:`odsc_llm.control_plane.wait_until_active`.
        """
        from . import control_plane

        return control_plane.wait_until_active(
            self, auth, timeout=timeout, poll_interval=poll_interval, callback=callback
        )

    async def await_until_active(
        self,
        auth: Any = None,
        *,
        timeout: float = 1800.0,
        poll_interval: float = 15.0,
        callback: Callable[[DeploymentInfo], object] | None = None,
    ) -> DeploymentInfo:
        """Async :meth:`wait_until_active`."""
        from . import control_plane

        return await control_plane.await_until_active(
            self, auth, timeout=timeout, poll_interval=poll_interval, callback=callback
        )

    @overload
    def logs(
        self,
        auth: Any = ...,
        *,
        kind: Literal["predict", "access"] = ...,
        since: datetime | timedelta | None = ...,
        limit: int = ...,
        follow: Literal[False] = ...,
        poll_interval: float = ...,
    ) -> list[LogRecord]: ...
    @overload
    def logs(
        self,
        auth: Any = ...,
        *,
        kind: Literal["predict", "access"] = ...,
        since: datetime | timedelta | None = ...,
        limit: int = ...,
        follow: Literal[True],
        poll_interval: float = ...,
    ) -> Iterator[LogRecord]: ...
    @overload
    def logs(
        self,
        auth: Any = ...,
        *,
        kind: Literal["predict", "access"] = ...,
        since: datetime | timedelta | None = ...,
        limit: int = ...,
        follow: bool,
        poll_interval: float = ...,
    ) -> list[LogRecord] | Iterator[LogRecord]: ...
    def logs(
        self,
        auth: Any = None,
        *,
        kind: Literal["predict", "access"] = "predict",
        since: datetime | timedelta | None = None,
        limit: int = 100,
        follow: bool = False,
        poll_interval: float = 5.0,
    ) -> list[LogRecord] | Iterator[LogRecord]:
        """Recent log records (oldest first); ``follow=True`` keeps yielding new ones.

        See :func:`odsc_llm.control_plane.logs`.
        """
        from . import control_plane

        return control_plane.logs(
            self,
            auth,
            kind=kind,
            since=since,
            limit=limit,
            follow=follow,
            poll_interval=poll_interval,
        )

    @overload
    async def alogs(
        self,
        auth: Any = ...,
        *,
        kind: Literal["predict", "access"] = ...,
        since: datetime | timedelta | None = ...,
        limit: int = ...,
        follow: Literal[False] = ...,
        poll_interval: float = ...,
    ) -> list[LogRecord]: ...
    @overload
    async def alogs(
        self,
        auth: Any = ...,
        *,
        kind: Literal["predict", "access"] = ...,
        since: datetime | timedelta | None = ...,
        limit: int = ...,
        follow: Literal[True],
        poll_interval: float = ...,
    ) -> AsyncIterator[LogRecord]: ...
    @overload
    async def alogs(
        self,
        auth: Any = ...,
        *,
        kind: Literal["predict", "access"] = ...,
        since: datetime | timedelta | None = ...,
        limit: int = ...,
        follow: bool,
        poll_interval: float = ...,
    ) -> list[LogRecord] | AsyncIterator[LogRecord]: ...
    async def alogs(
        self,
        auth: Any = None,
        *,
        kind: Literal["predict", "access"] = "predict",
        since: datetime | timedelta | None = None,
        limit: int = 100,
        follow: bool = False,
        poll_interval: float = 5.0,
    ) -> list[LogRecord] | AsyncIterator[LogRecord]:
        """Async :meth:`logs`; with ``follow=True`` an async iterator."""
        from . import control_plane

        return await control_plane.alogs(
            self,
            auth,
            kind=kind,
            since=since,
            limit=limit,
            follow=follow,
            poll_interval=poll_interval,
        )

    def __repr__(self) -> str:
        return f"Deployment(ocid={self.ocid!r}, region={self.region!r}, endpoint={self.endpoint!r})"

    def _repr_html_(self) -> str:
        import html as _html

        return (
            "<b>odsc_llm.Deployment</b><br>"
            f"ocid: <code>{_html.escape(self.ocid)}</code><br>"
            f"region: {_html.escape(self.region)}<br>"
            f"endpoint: <code>{_html.escape(self.endpoint)}</code>"
        )
