"""Where a model deployment is: a typed, immutable value built from a URL or an OCID."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from typing_extensions import Self

from ._address import Address, check_endpoint, control_plane_url, parse_ocid, parse_url
from ._deployment_control import DeploymentControl
from ._errors import InvalidDeploymentError

if TYPE_CHECKING:
    from .control_plane import DeploymentInfo

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


class Deployment(BaseModel, DeploymentControl):
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
