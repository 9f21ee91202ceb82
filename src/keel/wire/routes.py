"""Every route of the REST API, once: the REST clients build their requests from these, and
a test checks the list against the app's OpenAPI document both ways (each listed route is
served with its method, each served ``/api/v1`` route is listed).

    >>> GET_RUN.path(run_id="0a1b")
    '/api/v1/runs/0a1b'
    >>> GET_REGISTERED_MODEL.at(name="fraud/v2")
    ('GET', '/api/v1/registered-models/fraud%2Fv2')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

API = "/api/v1"
"""Where the server mounts every API router."""


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    """The path, parameters in braces as the server declares them: ``/api/v1/runs/{run_id}``."""
    parameters: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", tuple(re.findall(r"\{(\w+)\}", self.template)))

    def path(self, **values: str | int) -> str:
        """The template filled in, each value one percent-encoded path segment: ``/`` and
        dots too, so that a name such as ``..`` is a name, not a step up."""
        if set(values) != set(self.parameters):
            raise TypeError(f"{self.template} takes {self.parameters}, got {tuple(values)}")
        return self.template.format_map({k: _segment(v) for k, v in values.items()})

    def at(self, **values: str | int) -> tuple[str, str]:
        """``(method, path)``, as ``Http.request`` takes them."""
        return self.method, self.path(**values)


def _segment(value: str | int) -> str:
    return quote(str(value), safe="").replace(".", "%2E")


# experiments ----------------------------------------------------------------------------
CREATE_EXPERIMENT = Route("POST", "/api/v1/experiments")
SEARCH_EXPERIMENTS = Route("GET", "/api/v1/experiments")
GET_EXPERIMENT_BY_NAME = Route("GET", "/api/v1/experiments/by-name")
GET_EXPERIMENT = Route("GET", "/api/v1/experiments/{experiment_id}")
DELETE_EXPERIMENT = Route("DELETE", "/api/v1/experiments/{experiment_id}")
RESTORE_EXPERIMENT = Route("POST", "/api/v1/experiments/{experiment_id}/restore")
SET_EXPERIMENT_TAG = Route("PUT", "/api/v1/experiments/{experiment_id}/tags")

# runs -----------------------------------------------------------------------------------
WRITE = Route("POST", "/api/v1/writes")
CREATE_RUN = Route("POST", "/api/v1/runs")
SEARCH_RUNS = Route("POST", "/api/v1/runs/search")
REAP_LOST_RUNS = Route("POST", "/api/v1/runs/reap")
GET_RUN = Route("GET", "/api/v1/runs/{run_id}")
UPDATE_RUN = Route("PATCH", "/api/v1/runs/{run_id}")
DELETE_RUN = Route("DELETE", "/api/v1/runs/{run_id}")
RESTORE_RUN = Route("POST", "/api/v1/runs/{run_id}/restore")
DELETE_RUN_TAG = Route("DELETE", "/api/v1/runs/{run_id}/tags")
METRIC_HISTORY = Route("GET", "/api/v1/runs/{run_id}/metrics/history")

# artifacts ------------------------------------------------------------------------------
LIST_ARTIFACTS = Route("GET", "/api/v1/runs/{run_id}/artifacts")
STAT_ARTIFACT = Route("GET", "/api/v1/runs/{run_id}/artifacts/stat")
DOWNLOAD_ARTIFACT = Route("GET", "/api/v1/runs/{run_id}/artifacts/content")
UPLOAD_ARTIFACT = Route("PUT", "/api/v1/runs/{run_id}/artifacts/content")

# registered models ----------------------------------------------------------------------
CREATE_REGISTERED_MODEL = Route("POST", "/api/v1/registered-models")
SEARCH_REGISTERED_MODELS = Route("GET", "/api/v1/registered-models")
GET_REGISTERED_MODEL = Route("GET", "/api/v1/registered-models/{name}")
UPDATE_REGISTERED_MODEL = Route("PATCH", "/api/v1/registered-models/{name}")
DELETE_REGISTERED_MODEL = Route("DELETE", "/api/v1/registered-models/{name}")
SET_REGISTERED_MODEL_TAG = Route("PUT", "/api/v1/registered-models/{name}/tags")
DELETE_REGISTERED_MODEL_TAG = Route("DELETE", "/api/v1/registered-models/{name}/tags")

# model versions -------------------------------------------------------------------------
CREATE_MODEL_VERSION = Route("POST", "/api/v1/registered-models/{name}/versions")
SEARCH_MODEL_VERSIONS = Route("GET", "/api/v1/registered-models/{name}/versions")
GET_MODEL_VERSION = Route("GET", "/api/v1/registered-models/{name}/versions/{version}")
UPDATE_MODEL_VERSION = Route("PATCH", "/api/v1/registered-models/{name}/versions/{version}")
SET_MODEL_VERSION_TAG = Route("PUT", "/api/v1/registered-models/{name}/versions/{version}/tags")
DELETE_MODEL_VERSION_TAG = Route(
    "DELETE", "/api/v1/registered-models/{name}/versions/{version}/tags"
)
RECORD_CHECK = Route("POST", "/api/v1/registered-models/{name}/versions/{version}/checks")
LIST_CHECKS = Route("GET", "/api/v1/registered-models/{name}/versions/{version}/checks")

# aliases and their policies -------------------------------------------------------------
SET_ALIAS = Route("PUT", "/api/v1/registered-models/{name}/aliases/{alias}")
DELETE_ALIAS = Route("DELETE", "/api/v1/registered-models/{name}/aliases/{alias}")
GET_MODEL_VERSION_BY_ALIAS = Route("GET", "/api/v1/registered-models/{name}/aliases/{alias}")
SET_ALIAS_POLICY = Route("PUT", "/api/v1/registered-models/{name}/alias-policies/{alias}")
GET_ALIAS_POLICIES = Route("GET", "/api/v1/registered-models/{name}/alias-policies")

# promotion requests and the audit log ---------------------------------------------------
CREATE_PROMOTION_REQUEST = Route("POST", "/api/v1/registered-models/{name}/promotion-requests")
LIST_PROMOTION_REQUESTS = Route("GET", "/api/v1/promotion-requests")
GET_PROMOTION_REQUEST = Route("GET", "/api/v1/promotion-requests/{request_id}")
DECIDE_PROMOTION_REQUEST = Route("POST", "/api/v1/promotion-requests/{request_id}/decision")
CANCEL_PROMOTION_REQUEST = Route("POST", "/api/v1/promotion-requests/{request_id}/cancel")
LIST_AUDIT = Route("GET", "/api/v1/audit")

# datasets -------------------------------------------------------------------------------
LIST_DATASETS = Route("GET", "/api/v1/datasets")
GET_DATASET = Route("GET", "/api/v1/datasets/{name}")
CREATE_DATASET_VERSION = Route("POST", "/api/v1/datasets/{name}/versions")
LIST_DATASET_VERSIONS = Route("GET", "/api/v1/datasets/{name}/versions")
GET_DATASET_VERSION = Route("GET", "/api/v1/datasets/{name}/versions/{version}")
# The manifest of a version by number, for tools other than Keel's clients (curl, jq).
GET_VERSION_MANIFEST = Route("GET", "/api/v1/datasets/{name}/versions/{version}/manifest")
VERSION_USERS = Route("GET", "/api/v1/datasets/{name}/versions/{version}/runs")
GET_MANIFEST = Route("GET", "/api/v1/dataset-manifests/{digest}")
LOG_RUN_INPUT = Route("POST", "/api/v1/runs/{run_id}/inputs")
RUN_INPUTS = Route("GET", "/api/v1/runs/{run_id}/inputs")
MISSING_OBJECTS = Route("POST", "/api/v1/dataset-objects/missing")
UPLOAD_OBJECT = Route("PUT", "/api/v1/dataset-objects/{digest}")
DOWNLOAD_OBJECT = Route("GET", "/api/v1/dataset-objects/{digest}")

# deployments ----------------------------------------------------------------------------
CREATE_DEPLOYMENT = Route("POST", "/api/v1/deployments")
LIST_DEPLOYMENTS = Route("GET", "/api/v1/deployments")
GET_DEPLOYMENT = Route("GET", "/api/v1/deployments/{name}")
DELETE_DEPLOYMENT = Route("DELETE", "/api/v1/deployments/{name}")
SET_DEPLOYMENT_TRAFFIC = Route("PUT", "/api/v1/deployments/{name}/traffic")
PROMOTE_DEPLOYMENT = Route("POST", "/api/v1/deployments/{name}/promote")
ROLLBACK_DEPLOYMENT = Route("POST", "/api/v1/deployments/{name}/rollback")
DEPLOYMENT_HISTORY = Route("GET", "/api/v1/deployments/{name}/history")
# May the caller (by its own token) predict from the model servers of a deployment, or of
# a model served bare? A model server over this server asks it for each new token.
DEPLOYMENT_ACCESS = Route("GET", "/api/v1/deployments/{name}/access")
MODEL_ACCESS = Route("GET", "/api/v1/registered-models/{name}/access")

# identity and access ----------------------------------------------------------------------
WHOAMI = Route("GET", "/api/v1/whoami")
LIST_TOKENS = Route("GET", "/api/v1/tokens")
CREATE_TOKEN = Route("POST", "/api/v1/tokens")
REVOKE_TOKEN = Route("DELETE", "/api/v1/tokens/{token_id}")
ROTATE_TOKEN = Route("POST", "/api/v1/tokens/{token_id}/rotate")
LIST_USERS = Route("GET", "/api/v1/users")
CREATE_USER = Route("POST", "/api/v1/users")
DISABLE_USER = Route("POST", "/api/v1/users/{name}/disable")
ENABLE_USER = Route("POST", "/api/v1/users/{name}/enable")
LIST_PROJECTS = Route("GET", "/api/v1/projects")
CREATE_PROJECT = Route("POST", "/api/v1/projects")
LIST_GRANTS = Route("GET", "/api/v1/projects/{project}/grants")
SET_GRANT = Route("PUT", "/api/v1/projects/{project}/grants/{principal}")
DELETE_GRANT = Route("DELETE", "/api/v1/projects/{project}/grants/{principal}")
MOVE_TO_PROJECT = Route("POST", "/api/v1/projects/{project}/resources")
SET_PROJECT_QUOTA = Route("PUT", "/api/v1/projects/{project}/quota")
SET_GROUP_GRANT = Route("PUT", "/api/v1/projects/{project}/group-grants/{group}")
DELETE_GROUP_GRANT = Route("DELETE", "/api/v1/projects/{project}/group-grants/{group}")
LIST_GROUPS = Route("GET", "/api/v1/groups")
CREATE_GROUP = Route("POST", "/api/v1/groups")
DELETE_GROUP = Route("DELETE", "/api/v1/groups/{group}")
ADD_MEMBER = Route("PUT", "/api/v1/groups/{group}/members/{principal}")
REMOVE_MEMBER = Route("DELETE", "/api/v1/groups/{group}/members/{principal}")

# the prediction log ---------------------------------------------------------------------
PUT_PREDICTION_FILE = Route("PUT", "/api/v1/predictions/deployments/{deployment}/files/{name}")
PUT_FEEDBACK_FILE = Route("PUT", "/api/v1/predictions/deployments/{deployment}/feedback/{name}")
READ_PREDICTION_LOG = Route("GET", "/api/v1/predictions/deployments/{deployment}/rows")
GET_PREDICTION = Route("GET", "/api/v1/predictions/{prediction_id}")
GET_PREDICTION_LINEAGE = Route("GET", "/api/v1/predictions/{prediction_id}/lineage")

# monitors (keel.monitoring) -------------------------------------------------------------

CREATE_MONITOR = Route("POST", "/api/v1/monitors")
LIST_MONITORS = Route("GET", "/api/v1/monitors")
GET_MONITOR = Route("GET", "/api/v1/monitors/{name}")
DELETE_MONITOR = Route("DELETE", "/api/v1/monitors/{name}")
RUN_MONITOR = Route("POST", "/api/v1/monitors/{name}/run")
MONITOR_RESULTS = Route("GET", "/api/v1/monitors/{name}/results")
LIST_ALERTS = Route("GET", "/api/v1/alerts")
LIST_EVENTS = Route("GET", "/api/v1/events")

ROUTES: tuple[Route, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Route))
"""Every route above, in the order listed."""
