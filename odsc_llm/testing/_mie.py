"""Which paths after ``/predict`` a deployment routes: classic, or Multiple Inference Endpoints.

Every deployment routes ``/<ocid>/predict`` and ``/<ocid>/predictWithResponseStream``
(the container path then comes from the ``route`` header). Only a deployment created
with Multiple Inference Endpoints (MIE) also routes ``/<ocid>/predict/<suffix>``: with
``predictApiSpecification="openai"`` the suffixes of :data:`OPENAI_SUFFIXES` (and
sub-paths of :data:`PREFIX_SUFFIXES`), with ``customHttpEndpoints`` each declared suffix
for its declared methods, ``{}`` standing for one path segment. A path not routed gets
the service's 404 ``NotAuthorizedOrNotFound``, as an unknown deployment does (OCI Data
Science docs, "Invoking a Model Deployment": 404 NotAuthorizedOrNotFound is the answer
for anything the deployment does not serve).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequestError

__all__ = [
    "API_SPECIFICATIONS",
    "HTTP_METHODS",
    "MAX_CUSTOM_ENDPOINTS",
    "OPENAI_SUFFIXES",
    "PREFIX_SUFFIXES",
    "CustomEndpoint",
    "PathRouting",
]

# The service's allowlist, stated here on its own and not taken from the client's
# constants: the emulator checks the client, so the two must not be wrong together
# (tests/testing/test_routing.py checks that both say the same). Source: OCI Data Science
# docs, "Multiple Inference Endpoints" (model deployments).
#: What ``predictApiSpecification="openai"`` routes after ``/predict`` (and
#: ``/predictWithResponseStream``).
OPENAI_SUFFIXES = (
    "/v1/models",
    "/v1/completions",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/responses",
    "/v1/audio/transcriptions",
    "/v1/audio/translations",
    "/v1/messages",
    "/tokenize",
    "/detokenize",
    "/metrics",
    "/invocations",
)
#: Suffixes whose sub-paths are routed too (``/v1/responses/{id}/cancel``).
PREFIX_SUFFIXES = ("/v1/responses",)
#: At most this many ``customHttpEndpoints`` on one deployment.
MAX_CUSTOM_ENDPOINTS = 15

#: The values of ``predictApiSpecification`` the emulator knows (the oci model's
#: docstring names "openai"; stricter than the service rather than looser).
API_SPECIFICATIONS = ("openai",)
#: Methods a custom endpoint may declare (the oci model's ``HttpMethod`` values).
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_WILDCARD = "{}"
_SEGMENT = re.compile(r"^[A-Za-z0-9._~:@!$&'()*+,;=-]+$")


@dataclass(frozen=True)
class CustomEndpoint:
    """One ``customHttpEndpoints`` entry: a suffix (``{}`` = one segment) and its methods."""

    suffix: str
    methods: tuple[str, ...]

    def matches(self, method: str, suffix: str) -> bool:
        """Whether a ``method`` request to ``/predict<suffix>`` is routed by this entry."""
        return method in self.methods and _pattern(self.suffix).fullmatch(suffix) is not None


def _pattern(suffix: str) -> re.Pattern[str]:
    parts = ("[^/]+" if part == _WILDCARD else re.escape(part) for part in suffix.split("/"))
    return re.compile("/".join(parts))


@dataclass(frozen=True)
class PathRouting:
    """The path form a deployment routes (none on a classic one)."""

    api_specification: str | None = None
    custom: tuple[CustomEndpoint, ...] = ()

    @classmethod
    def build(
        cls, api_specification: str | None, custom_endpoints: Iterable[Any] = ()
    ) -> PathRouting:
        """The checked ``LocalDeployment(api_specification=, custom_endpoints=)``."""
        if api_specification is not None and api_specification not in API_SPECIFICATIONS:
            raise InvalidRequestError(
                f"api_specification must be None (a classic deployment: /predict with the "
                f"`route` header only) or 'openai' (Multiple Inference Endpoints: also "
                f"/predict/v1/...), not {api_specification!r}."
            )
        if isinstance(custom_endpoints, (str, bytes)) or not isinstance(custom_endpoints, Iterable):
            raise InvalidRequestError(
                "custom_endpoints must be a list of (suffix, methods) pairs, e.g. "
                f"[('/v1/items/{{}}', ['GET'])], not {custom_endpoints!r}."
            )
        entries = tuple(_custom_endpoint(entry) for entry in custom_endpoints)
        if len(entries) > MAX_CUSTOM_ENDPOINTS:
            raise InvalidRequestError(
                f"custom_endpoints: a deployment declares at most "
                f"{MAX_CUSTOM_ENDPOINTS} custom endpoints, got {len(entries)}."
            )
        seen: set[str] = set()
        for entry in entries:
            if entry.suffix in seen:
                raise InvalidRequestError(
                    f"custom_endpoints: {entry.suffix!r} is declared twice; list its methods once."
                )
            seen.add(entry.suffix)
        return cls(api_specification, entries)

    @classmethod
    def of(cls, api_specification: Any, custom_endpoints: Iterable[Any]) -> PathRouting:
        """What the control plane's fields route, as they are (checked only by
        :meth:`build`: a value the service would not take routes nothing)."""
        entries = tuple(
            CustomEndpoint(str(suffix), tuple(str(m).upper() for m in methods))
            for suffix, methods in custom_endpoints
        )
        spec = api_specification if api_specification in API_SPECIFICATIONS else None
        return cls(spec, entries)

    def routes(self, method: str, suffix: str) -> bool:
        """Whether ``method /<ocid>/predict<suffix>`` reaches the container."""
        if self.api_specification == "openai":
            if suffix in OPENAI_SUFFIXES:
                return True
            if any(suffix.startswith(prefix + "/") for prefix in PREFIX_SUFFIXES):
                return True
        return any(entry.matches(method, suffix) for entry in self.custom)


def _custom_endpoint(entry: Any) -> CustomEndpoint:
    example = "('/v1/items/{}', ['GET', 'POST'])"
    if isinstance(entry, (str, bytes)) or not isinstance(entry, (tuple, list)) or len(entry) != 2:
        raise InvalidRequestError(
            f"custom_endpoints: each entry is a (suffix, methods) pair such as {example}, "
            f"not {entry!r}."
        )
    suffix, methods = entry
    if not isinstance(suffix, str) or not suffix.startswith("/") or suffix == "/":
        raise InvalidRequestError(
            f"custom_endpoints: a suffix is a path starting with '/' such as "
            f"'/v1/items/{{}}', not {suffix!r}."
        )
    for segment in suffix[1:].split("/"):
        if segment != _WILDCARD and (not _SEGMENT.match(segment) or segment in (".", "..")):
            raise InvalidRequestError(
                f"custom_endpoints: the suffix {suffix!r} has a bad segment {segment!r}: "
                "segments are non-empty, without '?', '#', spaces or braces, and '{}' "
                "stands alone for one segment."
            )
    if isinstance(methods, str) or not isinstance(methods, Iterable):
        raise InvalidRequestError(
            f"custom_endpoints: the methods of {suffix!r} are a list such as ['POST'], "
            f"not {methods!r}."
        )
    names = tuple(m.upper() if isinstance(m, str) else m for m in methods)
    bad = [m for m in names if m not in HTTP_METHODS]
    if not names or bad:
        raise InvalidRequestError(
            f"custom_endpoints: the methods of {suffix!r} must be some of "
            f"{', '.join(HTTP_METHODS)}; got {list(methods)!r}."
        )
    return CustomEndpoint(suffix, tuple(dict.fromkeys(names)))
