"""``/api/v1/deployments``: deployments and their traffic policies. Every change goes
through ``DeploymentService`` (the rules: targets exist, promote and rollback semantics,
optimistic revisions) and is audited as the authenticated principal.

Reading needs ``deployment:read`` on the deployment's project; changing needs
``deployment:write`` there (a maintainer's: it changes production), and naming a model
as a target needs ``model:read`` on that model's project."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from keel.deployments.service import DeploymentService
from keel.entities.deployment import TrafficPolicy
from keel.server.auth import Caller, requires
from keel.server.deps import ActorDep
from keel.server.responses import JSON
from keel.uri import parse_model_uri
from keel.wire.deployments import (
    DeploymentCreate,
    DeploymentList,
    DeploymentPublic,
    PromoteRequest,
    RevisionList,
    RollbackRequest,
    TrafficUpdate,
    deployment_to_dict,
    revision_to_dict,
)

router = APIRouter(prefix="/deployments", tags=["deployments"])


def _service(request: Request) -> DeploymentService:
    return request.app.state.deployments


def _check_models(caller: Caller, policy: TrafficPolicy) -> None:
    """A target is a model the caller may read: a deployment must not expose one."""
    names = {parse_model_uri(t.model_uri).name for t in policy.targets}
    caller.check_resources("model:read", "model", sorted(names))


@router.post("", response_model=DeploymentPublic, status_code=201)
def create_deployment(
    body: DeploymentCreate,
    request: Request,
    actor: ActorDep,
    caller: Annotated[Caller, requires("deployment:write", from_body=True)],
) -> JSON:
    """Needs ``deployment:write`` on the project it is made in (``project``, else
    default) and ``model:read`` on each target's model."""
    caller.check_in_project("deployment:write", body.project)
    policy = body.policy.policy()
    _check_models(caller, policy)
    found = _service(request).create_deployment(
        body.name,
        policy,
        actor=actor,
        description=body.description,
        tags=body.tags,
        project=body.project,
    )
    return JSON(deployment_to_dict(found), status_code=201)


@router.get("", response_model=DeploymentList)
def list_deployments(
    request: Request, caller: Annotated[Caller, requires("deployment:read", from_body=True)]
) -> JSON:
    """The deployments of the projects the caller may read, by name."""
    found = caller.visible(
        "deployment:read", "deployment", _service(request).list_deployments(), lambda d: d.name
    )
    return JSON({"deployments": [deployment_to_dict(d) for d in found]})


@router.get("/{name}", dependencies=[requires("deployment:read")], response_model=DeploymentPublic)
def get_deployment(name: str, request: Request) -> JSON:
    """The deployment now: its policy and ``revision`` (model servers poll this)."""
    return JSON(deployment_to_dict(_service(request).get_deployment(name)))


@router.get(
    "/{name}/history", dependencies=[requires("deployment:read")], response_model=RevisionList
)
def deployment_history(name: str, request: Request) -> JSON:
    """Every revision of its policy, newest first."""
    found = _service(request).deployment_history(name)
    return JSON({"revisions": [revision_to_dict(r) for r in found]})


@router.put("/{name}/traffic", response_model=DeploymentPublic)
def set_traffic(
    name: str,
    body: TrafficUpdate,
    request: Request,
    actor: ActorDep,
    caller: Annotated[Caller, requires("deployment:write")],
) -> JSON:
    """Set the policy (the next revision); 409 when ``expected_revision`` is stale."""
    policy = body.policy.policy()
    _check_models(caller, policy)
    found = _service(request).set_traffic(
        name, policy, actor=actor, expected_revision=body.expected_revision
    )
    return JSON(deployment_to_dict(found))


@router.post(
    "/{name}/promote", dependencies=[requires("deployment:write")], response_model=DeploymentPublic
)
def promote(
    name: str, request: Request, actor: ActorDep, body: PromoteRequest | None = None
) -> JSON:
    """``model_uri`` (a live or shadow target; default: the canary) takes all live
    traffic; the other live targets go, shadows stay. The body may be left out."""
    body = body or PromoteRequest()
    found = _service(request).promote(
        name, body.model_uri, actor=actor, expected_revision=body.expected_revision
    )
    return JSON(deployment_to_dict(found))


@router.post(
    "/{name}/rollback",
    dependencies=[requires("deployment:write")],
    response_model=DeploymentPublic,
)
def rollback(
    name: str, request: Request, actor: ActorDep, body: RollbackRequest | None = None
) -> JSON:
    """Back to the policy before the last change, as a new revision. The body may be
    left out."""
    body = body or RollbackRequest()
    found = _service(request).rollback(name, actor=actor, expected_revision=body.expected_revision)
    return JSON(deployment_to_dict(found))


@router.delete("/{name}", response_model=DeploymentPublic)
def delete_deployment(
    name: str,
    request: Request,
    actor: ActorDep,
    caller: Annotated[Caller, requires("deployment:write")],
    expected_revision: int | None = None,
) -> JSON:
    """Delete it and its history (the audit log keeps every change); answers it as it was."""
    found = _service(request).delete_deployment(
        name, actor=actor, expected_revision=expected_revision
    )
    if caller.auth is not None:  # the name may be taken again, in another project
        caller.auth.forget("deployment", name)
    return JSON(deployment_to_dict(found))
