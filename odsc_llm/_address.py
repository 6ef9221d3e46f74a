"""Reading a deployment's address: the OCID, its region and realm, and URL checks (no I/O).

This is the layer below both ``Deployment`` (``deployment.py``, the public value with
its control-plane methods) and ``control_plane`` (which needs only where a deployment
is): both build on :class:`Address`, so neither imports the other's module to read one.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Protocol
from urllib.parse import urlsplit

from ._errors import InvalidDeploymentError

__all__ = [
    "PATH_SUFFIXES",
    "Address",
    "Located",
    "check_endpoint",
    "check_ocid",
    "check_path_suffix",
    "control_plane_url",
    "domain_for_realm",
    "insecure_refusal",
    "is_loopback",
    "locate",
    "parse_ocid",
    "parse_url",
    "region_from_key",
]

_OCID_RE = re.compile(
    r"^ocid1\.datasciencemodeldeployment\.(?P<realm>oc\d+)\.(?P<region>[a-z0-9-]*)\.(?P<unique>[a-z0-9]+)$"
)
# A full region name such as us-ashburn-1 or us-gov-ashburn-1; short keys (iad) are
# looked up in oci's own region table.
_REGION_NAME_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+-\d+$")
#: What may follow the OCID in a deployment URL (the predict endpoints).
PATH_SUFFIXES = ("/predictWithResponseStream", "/predict")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def check_ocid(ocid: str) -> re.Match[str]:
    match = _OCID_RE.match(ocid.strip())
    if match is None:
        raise InvalidDeploymentError(
            f"{ocid!r} is not a model deployment OCID: expected "
            "'ocid1.datasciencemodeldeployment.<realm>.<region>.<id>' "
            "(copy it from the deployment's page in the OCI console)."
        )
    return match


def region_from_key(key: str, ocid: str) -> str:
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


def domain_for_realm(realm: str) -> str:
    if realm == "oc1":
        return "oci.customer-oci.com"
    import oci.regions

    second_level = oci.regions.REALMS.get(realm)
    if second_level is None:
        raise InvalidDeploymentError(
            f"Unknown OCI realm {realm!r}: pass the deployment's URL to Deployment.from_url."
        )
    return f"oci.{second_level}"


def check_path_suffix(url: str, segments: list[str]) -> None:
    """An OCID followed by more path (``.../predict/v1``, ``.../predit``): name the suffix."""
    for index, segment in enumerate(segments[:-1]):
        if segment.startswith("ocid1."):
            suffix = "/" + "/".join(segments[index + 1 :])
            raise InvalidDeploymentError(
                f"{url!r} has an unknown path suffix `{suffix}` after the deployment OCID: "
                "expected `/predict` or nothing after the OCID "
                "('https://<host>/<deployment-ocid>[/predict]')."
            )


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_refusal(host: str, what: str) -> InvalidDeploymentError:
    return InvalidDeploymentError(
        f"Refusing plain http:// for {host!r} ({what}): requests would be sent unencrypted. "
        "Use https://, or pass allow_insecure=True if you really mean it."
    )


def check_endpoint(url: str, what: str, *, allow_insecure: bool = False) -> str:
    """``url`` without a trailing ``/``, if it is http(s) with a host, and plain http only
    to loopback or with ``allow_insecure``; else :class:`InvalidDeploymentError`."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidDeploymentError(f"{what} is empty: expected an https:// URL.")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidDeploymentError(
            f"{what} {url!r} is not an http(s) URL: expected 'https://<host>[:port]'."
        )
    if parts.scheme == "http" and not (allow_insecure or is_loopback(parts.hostname)):
        raise insecure_refusal(parts.hostname, what)
    return url.strip().rstrip("/")


def control_plane_url(endpoint: str, control_plane_endpoint: str | None) -> str | None:
    """Where a deployment's control-plane calls go, or None for the region's public
    endpoints: ``control_plane_endpoint`` if set, else ``scheme://host:port`` of a
    loopback ``endpoint`` (the local emulator serves its own control plane)."""
    if control_plane_endpoint is not None:
        return control_plane_endpoint
    parts = urlsplit(endpoint)
    if parts.hostname and is_loopback(parts.hostname):
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
    return None


class Located(Protocol):
    """What the control plane reads of a deployment (a ``Deployment`` or an :class:`Address`)."""

    @property
    def ocid(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def control_plane_url(self) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class Address:
    """A parsed, checked deployment address: the fields of a ``Deployment``."""

    ocid: str
    region: str
    endpoint: str
    allow_insecure: bool = False
    control_plane_endpoint: str | None = None

    @property
    def control_plane_url(self) -> str | None:
        """See :func:`control_plane_url`."""
        return control_plane_url(self.endpoint, self.control_plane_endpoint)


def parse_url(url: str, *, region: str | None = None, allow_insecure: bool = False) -> Address:
    """The address in a deployment URL (see ``Deployment.from_url``)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidDeploymentError("The deployment URL is empty.")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidDeploymentError(
            f"{url!r} is not a deployment URL: expected "
            "'https://modeldeployment.<region>.oci.customer-oci.com/<deployment-ocid>'."
        )
    host = parts.hostname
    insecure = parts.scheme == "http" and not is_loopback(host)
    if insecure and not allow_insecure:
        raise insecure_refusal(host, "the deployment URL")
    path = parts.path.rstrip("/")
    for suffix in PATH_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    segments = [s for s in path.split("/") if s]
    check_path_suffix(url, segments)
    if not segments or not segments[-1].startswith("ocid1."):
        raise InvalidDeploymentError(
            f"{url!r} has no deployment OCID in its path: expected "
            "'https://<host>/<deployment-ocid>[/predict]'."
        )
    ocid = segments[-1]
    match = check_ocid(ocid)
    labels = host.split(".")
    if region is None and len(labels) >= 3 and labels[0] == "modeldeployment":
        region = labels[1]
    if region is None:
        region = region_from_key(match["region"], ocid)
    netloc = parts.netloc.rsplit("@", 1)[-1]  # never keep user:password@
    # allow_insecure is kept only when needed, so equal addresses make equal values
    return Address(ocid, region, f"{parts.scheme}://{netloc}{path}", insecure)


def parse_ocid(ocid: str, region: str | None = None) -> Address:
    """The public address of a deployment OCID (see ``Deployment.from_ocid``)."""
    if not isinstance(ocid, str):
        raise InvalidDeploymentError(f"Expected an OCID string, got {type(ocid).__name__}.")
    ocid = ocid.strip()
    match = check_ocid(ocid)
    if region is None:
        region = region_from_key(match["region"], ocid)
    domain = domain_for_realm(match["realm"])
    return Address(ocid, region, f"https://modeldeployment.{region}.{domain}/{ocid}")


def locate(value: object) -> Located:
    """Where ``value`` is: a ``Deployment`` (or another :class:`Located`) as it is, or a
    URL or OCID string parsed (what the control-plane functions accept)."""
    if isinstance(value, str):
        text = value.strip()
        return parse_ocid(text) if text.startswith("ocid1.") else parse_url(text)
    if all(hasattr(value, name) for name in ("ocid", "region", "endpoint", "control_plane_url")):
        return value  # type: ignore[return-value]
    raise InvalidDeploymentError(
        f"deployment must be a Deployment, a URL or an OCID string, not {type(value).__name__}."
    )
