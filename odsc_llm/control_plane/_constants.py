"""The control plane's defaults and the service's limits: one home for each number.

``odsc_llm.cli`` imports the log defaults from here (its ``--help`` shows them).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Literal

__all__ = [
    "ACTIVE",
    "DEFAULT_FOLLOW_INTERVAL",
    "DEFAULT_LOG_KIND",
    "DEFAULT_LOG_LIMIT",
    "DEFAULT_LOG_SINCE",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WAIT_TIMEOUT",
    "FAILURE_STATES",
    "FOLLOW_LOOKBACK",
    "LIFECYCLE_STATES",
]

ACTIVE = "ACTIVE"
#: Every lifecycle state of a model deployment.
LIFECYCLE_STATES = (
    "CREATING",
    "ACTIVE",
    "INACTIVE",
    "UPDATING",
    "DELETING",
    "DELETED",
    "FAILED",
    "NEEDS_ATTENTION",
)
#: States from which a deployment will not become ACTIVE on its own.
FAILURE_STATES = frozenset({"FAILED", "DELETING", "DELETED"})

# -- waiting -------------------------------------------------------------------------------
DEFAULT_WAIT_TIMEOUT = 1800.0
DEFAULT_POLL_INTERVAL = 15.0

# -- logs ----------------------------------------------------------------------------------
DEFAULT_LOG_KIND: Final[Literal["predict"]] = "predict"
#: At most this many records per ``logs()`` call (the newest ones).
DEFAULT_LOG_LIMIT = 100
#: ``logs()`` reads back this far by default.
DEFAULT_LOG_SINCE = timedelta(hours=24)
#: ``follow_logs()`` polls this often (seconds).
DEFAULT_FOLLOW_INTERVAL = 5.0
#: Records reach Logging Search late: each follow poll looks back this far again.
FOLLOW_LOOKBACK = timedelta(seconds=60)
#: Log lines attached to a DeploymentStateError.
ERROR_LOG_LINES = 20

# -- the Logging Search service's limits ----------------------------------------------------
#: Logging Search answers at most this many records per page.
SEARCH_PAGE_MAX = 1000
#: One search may span at most 14 days.
SEARCH_MAX_SPAN = timedelta(days=14)
#: Logging Search refuses a window shorter than its time resolution.
MIN_SEARCH_SPAN = timedelta(milliseconds=1)

# -- the oci clients ------------------------------------------------------------------------
#: The Data Science and Logging Search API versions (the oci clients' base paths).
DATA_SCIENCE_API_PATH = "/20190101"
LOG_SEARCH_API_PATH = "/20190909"
# oci validates a config's user/tenancy/fingerprint/key_file even when a signer is
# given (except for its own token signers); these values satisfy the validation and
# are never read, the signer does all the signing.
SIGNER_CONFIG = {
    "user": "ocid1.user.oc1..signer-supplied",
    "tenancy": "ocid1.tenancy.oc1..signer-supplied",
    "fingerprint": ":".join(["00"] * 16),
    "key_file": "(held by the signer)",
}
SERVICE_HINTS = {
    401: "The request was not authenticated: check the credentials (expired session "
    "token? `oci session refresh`) and that this machine's clock is right.",
    404: "Either it does not exist (check the OCID and the region) or your principal may "
    "not read it (IAM: `allow group <g> to read data-science-model-deployments in "
    "compartment <c>`; for logs: `read log-content`); OCI does not say which.",
    429: "The control plane throttled the calls: poll less often.",
}

# -- the deployment lifecycle (create, update, activate, deactivate, delete) -----------------
#: ``create_deployment``'s defaults, as AI Quick Actions sets them (oracle-ads
#: ``ads/aqua/modeldeployment/deployment.py``): one instance, 10 Mbps, ``odsc-llm``.
DEFAULT_INSTANCE_COUNT = 1
DEFAULT_BANDWIDTH_MBPS = 10
DEFAULT_SERVED_MODEL_NAME = "odsc-llm"
#: The image scheme of the service-managed containers (``dsmc://name:tag``).
SERVICE_CONTAINER_SCHEME = "dsmc://"
#: The model's custom metadata key naming its container family (as AI Quick Actions reads it).
CONTAINER_METADATA_KEY = "deployment-container"
#: The arguments odsc_llm sets itself: refused in ``params`` (each has its own argument,
#: or is the container's), with the container's own ``restrictedParams``.
OWN_PARAMS = ("--port", "--host", "--served-model-name")
#: The container's ``additionalConfigurations`` copied into the environment (as oracle-ads
#: ``ads/aqua/config/container_config.py`` does).
CONTAINER_ENV_KEYS = (
    "MODEL_DEPLOY_PREDICT_ENDPOINT",
    "MODEL_DEPLOY_HEALTH_ENDPOINT",
    "PORT",
    "HEALTH_CHECK_PORT",
    "VLLM_USE_V1",
)
#: The OCID kinds the create arguments must be.
COMPARTMENT_KINDS = ("ocid1.compartment.", "ocid1.tenancy.")
PROJECT_KIND = "ocid1.datascienceproject."
MODEL_KIND = "ocid1.datasciencemodel."
#: ``wait_until_done`` polls first after this many seconds, doubling up to ``poll_interval``.
FIRST_POLL_INTERVAL = 1.0
#: Work request statuses after which nothing more happens.
WORK_REQUEST_DONE = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})
#: States a deployment's operation ends in (``wait_until_done`` without a work request).
SETTLED_STATES = frozenset({"ACTIVE", "INACTIVE", "DELETED", "FAILED", "NEEDS_ATTENTION"})

# -- the command line's defaults for the lifecycle commands ------------------------------------
#: Where ``odsc-llm`` sends control-plane calls when ``--control-plane-endpoint`` is absent.
ENV_CONTROL_PLANE_ENDPOINT = "ODSC_LLM_CONTROL_PLANE_ENDPOINT"
#: Where the compartment and project come from when no flag gives them: the variables an
#: OCI notebook session sets, read in this order (as AI Quick Actions reads them).
COMPARTMENT_ENV_VARS = ("NB_SESSION_COMPARTMENT_OCID", "PROJECT_COMPARTMENT_OCID")
PROJECT_ENV_VARS = ("PROJECT_OCID",)
