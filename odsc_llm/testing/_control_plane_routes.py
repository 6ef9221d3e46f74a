"""The routes of the emulated lifecycle and catalog calls, and the helpers of every
control-plane answer (paging, etags)."""

from __future__ import annotations

import json
import re
import secrets
from functools import partial
from typing import TYPE_CHECKING, Any

from . import _control_plane_catalog as catalog
from ._control_plane_bodies import iso
from ._faults import oci_error_body

if TYPE_CHECKING:
    from ._control_plane import ControlPlane

__all__ = ["Answer", "etag", "lifecycle_answer", "page"]

Answer = tuple[int, Any, list[tuple[bytes, bytes]]]

DATA_SCIENCE_API_PATH = "/20190101"
_MD_PATH = DATA_SCIENCE_API_PATH + "/modelDeployments"
_WR_RE = re.compile(r"^/20190101/workRequests/(?P<id>[^/]+)(?:/(?P<part>errors|logs))?$")
_ACTION_RE = re.compile(r"^/20190101/modelDeployments/(?P<id>[^/]+)/actions/(?P<kind>\w+)$")
#: Items per page of ListContainers and ListModelDeploymentShapes.
CATALOG_PAGE_SIZE = 8


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def etag() -> list[tuple[bytes, bytes]]:
    return [(b"etag", secrets.token_hex(8).encode())]


def page(items: list[Any], query: dict[str, str], page_size: int) -> Answer:
    """One page of ``items`` (``page`` is an offset token, ``limit`` caps the size)."""
    try:
        offset = int(query.get("page", "0"))
        limit = int(query.get("limit", str(page_size)))
    except ValueError:
        return 400, oci_error_body(400, message="page and limit must be integers."), []
    if offset < 0 or limit < 1:
        return 400, oci_error_body(400, message="page must be >= 0 and limit >= 1."), []
    size = min(limit, page_size)
    page = items[offset : offset + size]
    extra = []
    if offset + size < len(items):
        extra.append((b"opc-next-page", str(offset + size).encode()))
    return 200, page, extra


def lifecycle_answer(
    cp: ControlPlane,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    host: str,
) -> Answer | None:
    """The lifecycle and catalog routes, or None for the others."""
    lc = cp.lifecycle
    ocid = path[len(_MD_PATH) + 1 :] if path.startswith(_MD_PATH + "/") else ""
    action = _ACTION_RE.match(path)
    work = _WR_RE.match(path)
    answer: Answer | None = None
    if path == _MD_PATH and method == "POST":
        answer = lc.create(_json(body), headers, host, partial(_check_create, cp))
    elif action is not None and method == "POST":
        if action["kind"] not in ("activate", "deactivate"):
            return 404, oci_error_body(404, "NotFound", f"No action {action['kind']!r}."), []
        answer = lc.change(action["id"], action["kind"], headers)
        ocid = action["id"]
    elif ocid and "/" not in ocid and method in ("PUT", "DELETE"):
        kind = "update" if method == "PUT" else "delete"
        answer = lc.change(ocid, kind, headers, _json(body) if kind == "update" else None)
    elif ocid and method == "GET":
        answer = lc.get(ocid)
    elif work is not None and method == "GET":
        answer = lc.work_request(work["id"], work["part"] or "")
    elif path == DATA_SCIENCE_API_PATH + "/containers" and method == "GET":
        answer = _containers(query)
    elif path.startswith(DATA_SCIENCE_API_PATH + "/models/") and method == "GET":
        answer = _model(cp, path.rsplit("/", 1)[-1])
    elif path == DATA_SCIENCE_API_PATH + "/modelDeploymentShapes" and method == "GET":
        if not query.get("compartmentId"):
            return 400, oci_error_body(400, "MissingParameter", "compartmentId is required."), []
        answer = page(catalog.shape_bodies(), query, CATALOG_PAGE_SIZE)
    if answer is None and ocid and method != "GET" and ocid != cp.ocid:
        return 404, oci_error_body(404), []
    if answer is None and ocid == cp.ocid and method != "GET":
        message = (
            "The emulator's own deployment is driven by local.state / "
            "local.lifecycle_script(); create one (CreateModelDeployment) to manage it."
        )
        return 409, oci_error_body(409, "IncorrectState", message), []
    return answer


def _check_create(cp: ControlPlane, details: dict[str, Any]) -> Answer | None:
    """What the catalog refuses in a create: an unknown model or shape."""
    config = details["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    model_id = config["modelId"]
    if model_id not in cp.models:
        message = f"The model {model_id} does not exist or is not authorized."
        return 404, oci_error_body(404, "RelatedResourceNotAuthorizedOrNotFound", message), []
    shape = config["instanceConfiguration"]["instanceShapeName"]
    if shape not in {name for name, *_ in catalog.SHAPES}:
        message = f"Invalid instanceShapeName {shape!r}: not a model deployment shape."
        return 400, oci_error_body(400, "InvalidParameter", message), []
    return None


def _containers(query: dict[str, str]) -> Answer:
    items = catalog.container_bodies()
    if query.get("isLatest") in ("true", "false"):
        latest = query["isLatest"] == "true"
        items = [c for c in items if c["isLatest"] is latest]
    if query.get("containerName"):
        items = [c for c in items if c["containerName"] == query["containerName"]]
    return page(items, query, CATALOG_PAGE_SIZE)


def _model(cp: ControlPlane, ocid: str) -> Answer:
    with cp.lock:
        found = cp.models.get(ocid)
    if found is None:
        return 404, oci_error_body(404), []
    name, family = found
    created = iso(cp.time_created)
    body = catalog.model_body(ocid, name, family, cp.compartment_id, cp.project_id, created)
    return 200, body, etag()
