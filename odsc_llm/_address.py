"""Reading a deployment's address: the OCID, its region and realm, and URL checks (no I/O).

``Deployment`` (``deployment.py``) is built from these; they are apart so the value class
stays one concern.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ._errors import InvalidDeploymentError

__all__ = [
    "PATH_SUFFIXES",
    "check_endpoint",
    "check_ocid",
    "check_path_suffix",
    "domain_for_realm",
    "insecure_refusal",
    "is_loopback",
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
