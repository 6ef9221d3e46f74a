"""What a create or an update sends, and the checks made before anything is sent.

The create body is the one AI Quick Actions builds (oracle-ads 2.16.1,
``ads/aqua/modeldeployment/deployment.py`` and ``ads/model/deployment/model_deployment.py``):
``CreateModelDeploymentDetails`` with ``SingleModelDeploymentConfigurationDetails``
(``ModelConfigurationDetails``: the model, ``InstanceConfiguration`` with flex OCPUs and
memory on a flex shape, a ``FixedSizeScalingPolicy``, the bandwidth),
``OcirModelDeploymentEnvironmentConfigurationDetails`` (image, ``cmd``, ports, the
environment with ``PARAMS``) and ``CategoryLogDetails``. ``oci`` is imported inside.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._constants import MIE_MAX_CUSTOM_ENDPOINTS
from .._errors import InvalidRequestError
from ._constants import (
    COMPARTMENT_KINDS,
    MODEL_KIND,
    OWN_PARAMS,
    PROJECT_KIND,
)
from ._containers import ContainerInfo

__all__ = ["Params", "build_params", "check_ocid", "check_shape", "split_params"]

#: ``params``: a string of server arguments, or a list of them.
Params = str | Sequence[str]
_SERVED = re.compile(r"--served-model-name(?:=|\s+)\S+")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


def check_ocid(value: object, kinds: tuple[str, ...], name: str) -> str:
    """``value`` stripped, or InvalidRequestError naming ``name`` and the kind expected."""
    text = value.strip() if isinstance(value, str) else ""
    if not text.startswith(kinds):
        wanted = " or ".join(f"'{k}..'" for k in kinds)
        raise InvalidRequestError(f"{name} must be an OCID starting {wanted}, got {value!r}.")
    return text


def split_params(params: Params | None) -> list[str]:
    """The server arguments of ``params`` (a shell-quoted string, or a list)."""
    if params is None:
        return []
    if isinstance(params, str):
        try:
            return shlex.split(params)
        except ValueError as exc:
            raise InvalidRequestError(f"params {params!r} cannot be split: {exc}.") from None
    if not all(isinstance(p, str) for p in params):
        raise InvalidRequestError("params must be a string or a list of strings.")
    return list(params)


def check_params(tokens: list[str], container: ContainerInfo | None) -> None:
    """Refuse arguments odsc_llm or the container sets (``--port``, ``--served-model-name``...)."""
    refused = set(OWN_PARAMS) | set(container.restricted_params if container else ())
    names = {token.split("=", 1)[0] for token in tokens if token.startswith("--")}
    bad = sorted(names & refused)
    if bad:
        raise InvalidRequestError(
            f"params may not set {', '.join(bad)}: the container sets them"
            + (
                " (use served_model_name= for the model's name)"
                if "--served-model-name" in bad
                else ""
            )
            + "."
        )


def build_params(base: str, served_model_name: str, tokens: list[str]) -> str:
    """``PARAMS``: the container's ``cmd`` with ``--served-model-name`` set, then ``tokens``."""
    if not served_model_name or any(c.isspace() for c in served_model_name):
        raise InvalidRequestError(
            f"served_model_name must be a name without spaces, got {served_model_name!r}."
        )
    served = f"--served-model-name {served_model_name}"
    head = _SERVED.sub(served, base) if _SERVED.search(base) else f"{base} {served}".strip()
    return " ".join([head, *(shlex.quote(t) for t in tokens)]).strip()


def user_params(current: str, base: str) -> tuple[str, str]:
    """``(served model name, the user's part)`` of a deployment's ``PARAMS``."""
    match = _SERVED.search(current)
    served = match.group(0).split()[-1].split("=")[-1] if match else ""
    rest = _SERVED.sub("", current).split()
    base_tokens = _SERVED.sub("", base).split()
    if rest[: len(base_tokens)] == base_tokens:
        rest = rest[len(base_tokens) :]
    return served, " ".join(rest)


def check_env(env: Mapping[str, str | None] | None, *, allow_none: bool) -> dict[str, str | None]:
    """``env`` as a dict of valid names; ``PARAMS`` is refused (use ``params=``)."""
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise InvalidRequestError("env must be a mapping of variable names to strings.")
    checked: dict[str, str | None] = {}
    for key, value in env.items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            raise InvalidRequestError(f"env: {key!r} is not an environment variable name.")
        if key == "PARAMS":
            raise InvalidRequestError("env may not set PARAMS: pass the arguments as params=.")
        if value is None and allow_none:
            checked[key] = None
        elif isinstance(value, str):
            checked[key] = value
        else:
            raise InvalidRequestError(f"env[{key!r}] must be a string, got {value!r}.")
    return checked


def _positive(name: str, value: object, *, integer: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = isinstance(value, int)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:  # type: ignore[arg-type]
        kind = "a whole number" if integer else "a number"
        raise InvalidRequestError(f"{name} must be {kind} > 0, got {value!r}.")


def check_shape(
    shape: object,
    *,
    ocpus: float | None,
    memory_gb: float | None,
    params_billion: float | None,
    force: bool,
    service_shapes: Callable[[], list[str]],
) -> str:
    """The shape name, once it is a known Data Science shape that can hold the model.

    Known: the shape advisor's GPU table, else the service's ``ListModelDeploymentShapes``
    (called only then). A flex shape needs ``ocpus`` and ``memory_gb``; with
    ``params_billion`` the advisor's :func:`~odsc_llm.shapes.fits` decides (``force``
    overrides).
    """
    from .. import shapes

    if not isinstance(shape, str) or not shape.strip():
        raise InvalidRequestError(
            f"shape must be a shape name such as 'VM.GPU.A10.1', got {shape!r}."
        )
    name = shape.strip()
    gpu = next((s for s in shapes.list_shapes() if s.name.lower() == name.lower()), None)
    if gpu is None:
        known = service_shapes()
        if name not in known:
            raise InvalidRequestError(
                f"Unknown model deployment shape {name!r}. The service offers: "
                f"{', '.join(known) or 'none'} (see also `odsc-llm shapes`)."
            )
    else:
        name = gpu.name
    flex = name.endswith(".Flex")
    if flex and (ocpus is None or memory_gb is None):
        raise InvalidRequestError(f"{name} is a flex shape: pass ocpus= and memory_gb=.")
    if not flex and (ocpus is not None or memory_gb is not None):
        raise InvalidRequestError(f"ocpus= and memory_gb= apply only to flex shapes, not {name}.")
    for label, value in (("ocpus", ocpus), ("memory_gb", memory_gb)):
        if value is not None:
            _positive(label, value)
    if params_billion is None or force:
        return name
    _positive("params_billion", params_billion)
    if gpu is None:
        raise InvalidRequestError(
            f"The shape advisor knows no GPU on {name}, so it cannot check that a "
            f"{params_billion:g}B model fits; pick a GPU shape, or pass force=True."
        )
    fit = shapes.fits(gpu, params_billion)
    if not fit:
        notes = "".join(f" Note: {note}" for note in fit.notes)
        raise InvalidRequestError(
            f"A {params_billion:g}B model does not fit {name}: {fit.reason}{notes} "
            "Pass force=True to deploy anyway."
        )
    return name


def custom_endpoints_of(endpoints: Sequence[tuple[str, Sequence[str]]]) -> list[Any]:
    """``[(suffix, methods)]`` as oci ``InferenceHttpEndpoint`` objects (checked)."""
    from oci.data_science import models

    items = list(endpoints)
    if len(items) > MIE_MAX_CUSTOM_ENDPOINTS:
        raise InvalidRequestError(
            f"At most {MIE_MAX_CUSTOM_ENDPOINTS} custom endpoints, got {len(items)}."
        )
    built = []
    for item in items:
        try:
            suffix, methods = item
        except (TypeError, ValueError):
            raise InvalidRequestError(
                f"custom_endpoints items are (suffix, methods) pairs, got {item!r}."
            ) from None
        if not isinstance(suffix, str) or not suffix.startswith("/"):
            raise InvalidRequestError(f"A custom endpoint suffix starts with '/', got {suffix!r}.")
        wanted = [str(m).upper() for m in ([methods] if isinstance(methods, str) else methods)]
        if not wanted or any(m not in _HTTP_METHODS for m in wanted):
            raise InvalidRequestError(
                f"Custom endpoint {suffix}: methods must be some of {', '.join(_HTTP_METHODS)}."
            )
        built.append(models.InferenceHttpEndpoint(endpoint_uri_suffix=suffix, http_methods=wanted))
    return built


def log_details(access_log: tuple[str, str] | None, predict_log: tuple[str, str] | None) -> Any:
    """``CategoryLogDetails`` of the ``(log_group_id, log_id)`` pairs, or None."""
    from oci.data_science import models

    def one(pair: tuple[str, str] | None, name: str) -> Any:
        if pair is None:
            return None
        try:
            group, log = pair
        except (TypeError, ValueError):
            raise InvalidRequestError(f"{name} must be a (log_group_id, log_id) pair.") from None
        return models.LogDetails(
            log_group_id=check_ocid(group, ("ocid1.loggroup.",), f"{name} log group"),
            log_id=check_ocid(log, ("ocid1.log.",), f"{name} log"),
        )

    access, predict = one(access_log, "access_log"), one(predict_log, "predict_log")
    if access is None and predict is None:
        return None
    return models.CategoryLogDetails(access=access, predict=predict)


def check_create_ids(
    compartment_id: object, project_id: object, model_id: object
) -> tuple[str, str, str]:
    """The three OCIDs of a create, each of the right kind."""
    return (
        check_ocid(compartment_id, COMPARTMENT_KINDS, "compartment_id"),
        check_ocid(project_id, (PROJECT_KIND,), "project_id"),
        check_ocid(model_id, (MODEL_KIND,), "model_id"),
    )
