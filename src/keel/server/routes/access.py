"""Identity and access: ``/api/v1/whoami``, ``/tokens`` (a principal's own, or anyone's
for an admin), ``/users`` and ``/projects`` (admins only).

None of these works on a server without users: the first admin is made with
``keel users create NAME --admin`` on the server's machine, never through the API (no
open sign-up, no default credentials)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from keel.access.service import AccessService
from keel.errors import Forbidden
from keel.server.auth import Caller, requires
from keel.server.responses import JSON
from keel.wire.access import (
    GrantList,
    GrantPublic,
    GrantSet,
    GroupCreate,
    GroupList,
    GroupPublic,
    PrincipalCreate,
    PrincipalCreated,
    PrincipalList,
    PrincipalPublic,
    ProjectCreate,
    ProjectList,
    ProjectPublic,
    ProjectQuota,
    ResourceMove,
    TokenCreate,
    TokenIssued,
    TokenList,
    TokenPublic,
    TokenRotate,
    WhoAmI,
    grant_to_dict,
    group_to_dict,
    issued_to_dict,
    principal_to_dict,
    project_to_dict,
    token_to_dict,
)

router = APIRouter(tags=["access"])
Self = Annotated[Caller, requires("self")]
Admin = Annotated[Caller, requires("admin")]


def _access(request: Request) -> AccessService:
    return request.app.state.access


def _owner(caller: Caller, principal: str | None) -> str:
    """Whose tokens a request is about: the caller's, or (admins only) another's."""
    assert caller.identity is not None  # "self" and "admin" refuse an open server
    me = caller.identity.principal
    if principal is None or principal.strip().lower() == me.name:
        return me.name
    if not me.is_admin:
        raise Forbidden(f"principal {principal!r}: only an admin may manage others' tokens")
    return principal


def _own_token(request: Request, caller: Caller, token_id: str) -> None:
    found = _access(request).get_token(token_id)
    _owner(caller, found.principal)


@router.get("/whoami", response_model=WhoAmI)
def whoami(request: Request, caller: Self) -> JSON:
    assert caller.identity is not None
    names = {p.id: p.name for p in _access(request).list_projects()}
    roles = {names.get(k, str(k)): v.value for k, v in caller.identity.roles.items()}
    return JSON(
        {
            "principal": principal_to_dict(caller.identity.principal),
            "roles": roles,
            "authenticated": True,
        }
    )


@router.get("/tokens", response_model=TokenList)
def list_tokens(request: Request, caller: Self, principal: str | None = None) -> JSON:
    """Tokens (never their secrets), the caller's own unless an admin names another."""
    found = _access(request).list_tokens(_owner(caller, principal))
    return JSON({"tokens": [token_to_dict(t) for t in found]})


@router.post("/tokens", response_model=TokenIssued, status_code=201)
def create_token(request: Request, body: TokenCreate, caller: Self) -> JSON:
    """A new token; the answer is the only place its value ever appears."""
    issued = _access(request).issue_token(
        _owner(caller, body.principal), name=body.name, expires_in_days=body.expires_in_days
    )
    return JSON(issued_to_dict(issued), status_code=201)


@router.delete("/tokens/{token_id}", response_model=TokenPublic)
def revoke_token(request: Request, token_id: str, caller: Self) -> JSON:
    _own_token(request, caller, token_id)
    return JSON(token_to_dict(_access(request).revoke_token(token_id)))


@router.post("/tokens/{token_id}/rotate", response_model=TokenIssued, status_code=201)
def rotate_token(request: Request, token_id: str, body: TokenRotate, caller: Self) -> JSON:
    """A new token in place of ``token_id``, which keeps working ``grace_seconds`` more."""
    _own_token(request, caller, token_id)
    issued = _access(request).rotate_token(token_id, grace_seconds=body.grace_seconds)
    return JSON(issued_to_dict(issued), status_code=201)


@router.get("/users", response_model=PrincipalList)
def list_users(request: Request, caller: Admin) -> JSON:
    found = _access(request).list_principals()
    return JSON({"principals": [principal_to_dict(p) for p in found]})


@router.post("/users", response_model=PrincipalCreated, status_code=201)
def create_user(request: Request, body: PrincipalCreate, caller: Admin) -> JSON:
    principal, issued = _access(request).create_principal(
        body.name, admin=body.admin, service_account=body.service_account
    )
    return JSON(
        {"principal": principal_to_dict(principal), "token": issued_to_dict(issued)},
        status_code=201,
    )


@router.post("/users/{name}/disable", response_model=PrincipalPublic)
def disable_user(request: Request, name: str, caller: Admin) -> JSON:
    return JSON(principal_to_dict(_access(request).set_disabled(name, True)))


@router.post("/users/{name}/enable", response_model=PrincipalPublic)
def enable_user(request: Request, name: str, caller: Admin) -> JSON:
    return JSON(principal_to_dict(_access(request).set_disabled(name, False)))


@router.get("/projects", response_model=ProjectList)
def list_projects(request: Request, caller: Admin) -> JSON:
    found = _access(request).list_projects()
    return JSON({"projects": [project_to_dict(p) for p in found]})


@router.post("/projects", response_model=ProjectPublic, status_code=201)
def create_project(request: Request, body: ProjectCreate, caller: Admin) -> JSON:
    found = _access(request).create_project(body.name, description=body.description)
    return JSON(project_to_dict(found), status_code=201)


@router.get("/projects/{project}/grants", response_model=GrantList)
def list_grants(request: Request, project: str, caller: Admin) -> JSON:
    found = _access(request).list_grants(project)
    return JSON({"grants": [grant_to_dict(g) for g in found]})


@router.put("/projects/{project}/grants/{principal}", response_model=GrantPublic)
def set_grant(
    request: Request, project: str, principal: str, body: GrantSet, caller: Admin
) -> JSON:
    return JSON(grant_to_dict(_access(request).grant(project, principal, body.role)))


@router.delete("/projects/{project}/grants/{principal}", status_code=204)
def delete_grant(request: Request, project: str, principal: str, caller: Admin) -> None:
    _access(request).revoke_grant(project, principal)


@router.put("/projects/{project}/group-grants/{group}", response_model=GrantPublic)
def set_group_grant(
    request: Request, project: str, group: str, body: GrantSet, caller: Admin
) -> JSON:
    return JSON(grant_to_dict(_access(request).grant(project, group, body.role, group=True)))


@router.delete("/projects/{project}/group-grants/{group}", status_code=204)
def delete_group_grant(request: Request, project: str, group: str, caller: Admin) -> None:
    _access(request).revoke_grant(project, group, group=True)


@router.get("/groups", response_model=GroupList)
def list_groups(request: Request, caller: Admin) -> JSON:
    return JSON({"groups": [group_to_dict(g) for g in _access(request).list_groups()]})


@router.post("/groups", response_model=GroupPublic, status_code=201)
def create_group(request: Request, body: GroupCreate, caller: Admin) -> JSON:
    return JSON(group_to_dict(_access(request).create_group(body.name)), status_code=201)


@router.delete("/groups/{group}", status_code=204)
def delete_group(request: Request, group: str, caller: Admin) -> None:
    _access(request).delete_group(group)


@router.put("/groups/{group}/members/{principal}", status_code=204)
def add_member(request: Request, group: str, principal: str, caller: Admin) -> None:
    _access(request).add_member(group, principal)


@router.delete("/groups/{group}/members/{principal}", status_code=204)
def remove_member(request: Request, group: str, principal: str, caller: Admin) -> None:
    _access(request).remove_member(group, principal)


@router.put("/projects/{project}/quota", response_model=ProjectPublic)
def set_project_quota(request: Request, project: str, body: ProjectQuota, caller: Admin) -> JSON:
    """Set the project's storage quota (``null``: none); uploads past it answer 413."""
    return JSON(project_to_dict(_access(request).set_quota(project, body.quota_bytes)))


@router.post("/projects/{project}/resources", response_model=ProjectPublic)
def move_to_project(request: Request, project: str, body: ResourceMove, caller: Admin) -> JSON:
    """Place an experiment (its runs follow), a registered model or a dataset in
    ``project``."""
    return JSON(project_to_dict(_access(request).move(body.kind, body.key, project)))
