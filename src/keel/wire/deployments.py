"""Deployments on the wire: ``/api/v1/deployments``. The same dicts are what
``keel deployments ... --json`` prints. The acting user is never in a body: it is the
authenticated principal (or ``X-Keel-User`` on an open server)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt

from keel.entities.deployment import (
    Deployment,
    DeploymentAction,
    DeploymentRevision,
    TrafficPolicy,
)
from keel.wire.base import Strict

Revision = StrictInt
"""A revision number (a JSON true is no number)."""


class TargetBody(Strict):
    model_uri: str = Field(description="models:/<name>/<version> or models:/<name>@<alias>")
    weight: StrictInt | None = Field(
        default=None, description="Percent of live traffic; default 100, a shadow's 0"
    )
    shadow: StrictBool = Field(
        default=False, description="Gets a copy of every request; its answers are logged only"
    )


class PolicyBody(Strict):
    targets: list[TargetBody] = Field(description="Live weights add up to 100")
    sticky_key: str | None = Field(
        default=None, description="A request header whose value picks the live target by hash"
    )
    sampling: StrictFloat | StrictInt = Field(
        default=1.0, description="Share of predictions written to the prediction log, 0 to 1"
    )

    def policy(self) -> TrafficPolicy:
        """The entity, checked (``InvalidArgument`` naming the field and the rule)."""
        return TrafficPolicy.from_dict(
            {
                "targets": [t.model_dump(exclude_none=True) for t in self.targets],
                "sticky_key": self.sticky_key,
                "sampling": self.sampling,
            }
        )


class DeploymentCreate(Strict):
    name: str
    policy: PolicyBody
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    project: str | None = Field(
        default=None,
        description="The project to make it in (needs deployment:write there); default: default.",
    )


class TrafficUpdate(Strict):
    policy: PolicyBody
    expected_revision: Revision | None = Field(
        default=None, description="Refused (409) unless the deployment is at this revision"
    )


class PromoteRequest(Strict):
    model_uri: str | None = Field(
        default=None,
        description="The live or shadow target to take all live traffic; default: the canary",
    )
    expected_revision: Revision | None = None


class RollbackRequest(Strict):
    expected_revision: Revision | None = None


class TargetPublic(BaseModel):
    model_uri: str
    weight: int
    shadow: bool


class PolicyPublic(BaseModel):
    targets: list[TargetPublic]
    sticky_key: str | None
    sampling: float


class DeploymentPublic(BaseModel):
    name: str
    policy: PolicyPublic
    revision: int
    description: str
    created_at: int
    updated_at: int
    created_by: str
    tags: dict[str, str]


class DeploymentList(BaseModel):
    deployments: list[DeploymentPublic]


class RevisionPublic(BaseModel):
    name: str
    revision: int
    policy: PolicyPublic
    action: Literal["create", "traffic", "promote", "rollback"]
    actor: str
    at: int
    request_id: str | None


class RevisionList(BaseModel):
    revisions: list[RevisionPublic] = Field(description="Newest first")


class AccessPublic(BaseModel):
    """The answer to "may the caller do ``permission`` here?" when it may (a refusal is a
    401 or 403, as for any other route)."""

    allowed: bool = Field(description="Always true: a caller who may not gets 401 or 403")
    permission: str = Field(description="The permission asked about: deployment:predict")
    principal: str = Field(description="Who the token belongs to; anonymous on an open server")
    authenticated: bool = Field(
        description="False on a server without users, where everyone may (no token is checked)"
    )


def deployment_to_dict(d: Deployment) -> dict[str, Any]:
    return d.to_dict()


def deployment_from_dict(d: dict[str, Any]) -> Deployment:
    return Deployment(
        name=d["name"],
        policy=TrafficPolicy.from_dict(d["policy"]),
        revision=int(d["revision"]),
        description=d["description"],
        created_at=int(d["created_at"]),
        updated_at=int(d["updated_at"]),
        created_by=d["created_by"],
        tags=dict(d.get("tags") or {}),
    )


def revision_to_dict(r: DeploymentRevision) -> dict[str, Any]:
    return r.to_dict()


def revision_from_dict(d: dict[str, Any]) -> DeploymentRevision:
    return DeploymentRevision(
        name=d["name"],
        revision=int(d["revision"]),
        policy=TrafficPolicy.from_dict(d["policy"]),
        action=DeploymentAction(d["action"]),
        actor=d["actor"],
        at=int(d["at"]),
        request_id=d.get("request_id"),
    )
