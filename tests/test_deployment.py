"""Deployment parsing: URLs of every realm, OCIDs, and clear errors."""

from __future__ import annotations

import pydantic
import pytest

from odsc_llm import Deployment, InvalidDeploymentError

OCID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaav66vvniaxyz"
ENDPOINT = f"https://modeldeployment.us-ashburn-1.oci.customer-oci.com/{OCID}"


@pytest.mark.parametrize(
    "url",
    [ENDPOINT, ENDPOINT + "/", ENDPOINT + "/predict", ENDPOINT + "/predictWithResponseStream/"],
)
def test_from_url_with_or_without_suffix(url: str) -> None:
    dep = Deployment.from_url(url)
    assert dep.ocid == OCID
    assert dep.region == "us-ashburn-1"
    assert dep.endpoint == ENDPOINT
    assert dep.predict_url == ENDPOINT + "/predict"
    assert dep.stream_url == ENDPOINT + "/predictWithResponseStream"


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("modeldeployment.eu-frankfurt-1.oci.customer-oci.com", "eu-frankfurt-1"),
        ("modeldeployment.us-ashburn-1.oci.oc-test.com", "us-ashburn-1"),
        ("modeldeployment.us-langley-1.oci.oraclegovcloud.com", "us-langley-1"),
        ("modeldeployment.uk-gov-london-1.oci.oraclegovcloud.uk", "uk-gov-london-1"),
        ("modeldeployment.ap-chiyoda-1.oci.oraclecloud8.com", "ap-chiyoda-1"),
    ],
)
def test_any_realm_domain(host: str, region: str) -> None:
    ocid = "ocid1.datasciencemodeldeployment.oc1.phx.amaaaaaaabc"
    dep = Deployment.from_url(f"https://{host}/{ocid}/predict")
    assert dep.region == region  # the host names the region
    assert dep.endpoint == f"https://{host}/{ocid}"


def test_from_ocid_uses_oci_region_table() -> None:
    dep = Deployment.from_ocid(OCID)
    assert dep.region == "us-ashburn-1"
    assert dep.endpoint == ENDPOINT
    chicago = Deployment.from_ocid("ocid1.datasciencemodeldeployment.oc1.us-chicago-1.amaaaaaaq")
    assert chicago.region == "us-chicago-1"
    assert Deployment.from_ocid(OCID, region="eu-frankfurt-1").region == "eu-frankfurt-1"


def test_from_ocid_other_realm_domain() -> None:
    dep = Deployment.from_ocid("ocid1.datasciencemodeldeployment.oc2.us-langley-1.amaaaaaaq")
    assert dep.endpoint.startswith("https://modeldeployment.us-langley-1.oci.oraclegovcloud.com/")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("ocid1.datasciencemodel.oc1.iad.xyz", "not a model deployment OCID"),
        ("ocid1.datasciencemodeldeployment.oc1.zzz.amaaaa", "region key 'zzz'"),
        ("https://example.com/no-ocid/predict", "no deployment OCID"),
        ("ftp://modeldeployment.us-ashburn-1.oci.customer-oci.com/" + OCID, "not a deployment URL"),
        ("not a url", "not a deployment URL"),
    ],
)
def test_invalid_input_names_the_fault(value: str, message: str) -> None:
    with pytest.raises(InvalidDeploymentError, match=message):
        Deployment.coerce(value)


def test_invalid_deployment_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Deployment.from_ocid("nope")


def test_plain_http_only_on_loopback_or_when_allowed() -> None:
    local = Deployment.from_url(f"http://127.0.0.1:8080/{OCID}/predict")
    assert local.endpoint == f"http://127.0.0.1:8080/{OCID}"
    assert local.region == "us-ashburn-1"
    assert Deployment.from_url(f"http://localhost:9/{OCID}").endpoint.startswith("http://localhost")
    assert Deployment.from_url(f"http://[::1]:9/{OCID}").endpoint.startswith("http://[::1]:9/")
    with pytest.raises(InvalidDeploymentError, match="allow_insecure"):
        Deployment.from_url(f"http://10.0.0.5/{OCID}")
    allowed = Deployment.from_url(f"http://10.0.0.5/{OCID}", allow_insecure=True)
    assert allowed.endpoint == f"http://10.0.0.5/{OCID}"


def test_credentials_in_url_are_dropped() -> None:
    dep = Deployment.from_url(
        f"https://user:secret@modeldeployment.us-ashburn-1.oci.customer-oci.com/{OCID}"
    )
    assert "secret" not in dep.endpoint and "secret" not in repr(dep)


def test_immutable_and_readable() -> None:
    dep = Deployment.from_url(ENDPOINT)
    with pytest.raises(pydantic.ValidationError):
        dep.ocid = "x"  # type: ignore[misc]
    assert repr(dep).startswith("Deployment(ocid='ocid1.datasciencemodeldeployment")
    assert OCID in dep._repr_html_()
    assert Deployment.coerce(dep) is dep
    assert Deployment.coerce(OCID) == dep


# -- however it is made, a Deployment refuses plain http (issue 12 point 8) ------------------

INSECURE = f"http://10.0.0.5/{OCID}"
FIELDS = {"ocid": OCID, "region": "us-ashburn-1"}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda **kw: Deployment(**kw), id="constructor"),
        pytest.param(lambda **kw: Deployment.model_validate(kw), id="model_validate"),
        pytest.param(
            lambda **kw: Deployment.model_validate_json(
                Deployment.from_url(ENDPOINT).model_dump_json()
            ).model_copy(update=kw),
            id="model_copy",
        ),
    ],
)
def test_plain_http_is_refused_by_every_way_of_making_one(make: object) -> None:
    build = make  # type: ignore[assignment]
    with pytest.raises(InvalidDeploymentError, match="allow_insecure") as caught:
        build(**FIELDS, endpoint=INSECURE)  # type: ignore[operator]
    assert "10.0.0.5" in str(caught.value)
    with pytest.raises(InvalidDeploymentError, match="control_plane_endpoint"):
        build(**FIELDS, endpoint=ENDPOINT, control_plane_endpoint="http://10.0.0.6")  # type: ignore[operator]
    loopback = build(**FIELDS, endpoint=f"http://127.0.0.1:8080/{OCID}")  # type: ignore[operator]
    assert loopback.endpoint.startswith("http://127.0.0.1:8080/")
    allowed = build(**FIELDS, endpoint=INSECURE, allow_insecure=True)  # type: ignore[operator]
    assert allowed.endpoint == INSECURE and allowed.allow_insecure is True


def test_model_copy_validates_its_update_and_keeps_the_value_frozen() -> None:
    dep = Deployment.from_url(ENDPOINT)
    assert dep.model_copy() == dep
    moved = dep.model_copy(update={"region": "eu-frankfurt-1"})
    assert moved.region == "eu-frankfurt-1" and moved.endpoint == dep.endpoint
    with pytest.raises(pydantic.ValidationError, match="extra"):
        dep.model_copy(update={"typo": 1})
    with pytest.raises(InvalidDeploymentError, match="not an http"):
        dep.model_copy(update={"endpoint": "ftp://x/" + OCID})
    insecure = Deployment.from_url(INSECURE, allow_insecure=True)
    assert insecure.model_copy(update={"endpoint": f"http://10.0.0.7/{OCID}"}).allow_insecure


def test_from_url_keeps_allow_insecure_only_where_needed() -> None:
    assert Deployment.from_url(ENDPOINT, allow_insecure=True) == Deployment.from_url(ENDPOINT)
    assert Deployment.from_url(INSECURE, allow_insecure=True).allow_insecure is True


def test_control_plane_url() -> None:
    assert Deployment.from_url(ENDPOINT).control_plane_url is None
    local = Deployment.from_url(f"http://127.0.0.1:8080/{OCID}/predict")
    assert local.control_plane_url == "http://127.0.0.1:8080"
    assert Deployment.from_url(f"http://[::1]:9/{OCID}").control_plane_url == "http://[::1]:9"
    explicit = Deployment.from_ocid(OCID, control_plane_endpoint="https://proxy.example:8443/")
    assert explicit.control_plane_url == "https://proxy.example:8443"
    assert "control_plane_endpoint='https://proxy.example:8443'" in repr(explicit)
    assert "control_plane_endpoint" not in repr(Deployment.from_ocid(OCID))


def test_deployment_does_not_import_the_control_plane() -> None:
    import subprocess
    import sys

    code = (
        "import sys, odsc_llm.deployment as d;"
        "d.Deployment.from_url('https://modeldeployment.us-ashburn-1.oci.customer-oci.com/"
        f"{OCID}');"
        "assert 'odsc_llm.control_plane' not in sys.modules, 'imported at module level'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_from_info_builds_the_deployment_a_control_plane_answer_describes() -> None:
    from odsc_llm.control_plane import DeploymentInfo

    info = DeploymentInfo(ocid=OCID, region="us-ashburn-1", state="ACTIVE", endpoint=ENDPOINT)
    assert Deployment.from_info(info) == Deployment.from_url(ENDPOINT)
    # No usable URL (a list summary without one): the public address from the OCID.
    bare = DeploymentInfo(ocid=OCID, region="us-ashburn-1", state="ACTIVE", endpoint="")
    assert Deployment.from_info(bare) == Deployment.from_ocid(OCID, region="us-ashburn-1")


def test_the_control_plane_reads_addresses_without_the_deployment_module() -> None:
    """The address layer is below both: a URL or an OCID string is located by it alone,
    and a Deployment is taken as it is."""
    from odsc_llm._address import Address, locate

    located = locate(f"  {ENDPOINT}/predict ")
    assert located == Address(OCID, "us-ashburn-1", ENDPOINT)
    assert locate(OCID).endpoint == ENDPOINT
    assert locate("http://127.0.0.1:9/" + OCID).control_plane_url == "http://127.0.0.1:9"
    dep = Deployment.from_url(ENDPOINT)
    assert locate(dep) is dep
    with pytest.raises(InvalidDeploymentError, match="not int"):
        locate(3)
