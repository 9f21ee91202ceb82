"""Identity and access on the wire: ``/api/v1/whoami``, ``/tokens``, ``/users``,
``/projects``. A token's secret appears in one schema only, :class:`TokenIssued`, the
answer to creating or rotating it; every other answer is a ``...Public`` without it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool

from keel.entities.access import ApiToken, Grant, Group, IssuedToken, Principal, Project
from keel.wire.base import Strict


class TokenCreate(Strict):
    name: str = "token"
    expires_in_days: float | None = Field(default=None, description="None: never expires.")
    principal: str | None = Field(
        default=None, description="Whose token (admins only); by default the caller's."
    )


class TokenRotate(Strict):
    grace_seconds: float = Field(
        default=24 * 3600, ge=0, description="How long the old token keeps working."
    )


class TokenPublic(BaseModel):
    token_id: str
    principal: str
    name: str
    created: int
    expires_at: int | None
    revoked_at: int | None
    last_used_at: int | None


class TokenIssued(TokenPublic):
    token: str = Field(description="The token itself: shown this once, stored only hashed.")


class TokenList(BaseModel):
    tokens: list[TokenPublic]


class PrincipalCreate(Strict):
    name: str
    admin: StrictBool = False
    service_account: StrictBool = False


class PrincipalPublic(BaseModel):
    name: str
    kind: str
    is_admin: bool
    created: int
    disabled: bool


class PrincipalCreated(BaseModel):
    principal: PrincipalPublic
    token: TokenIssued


class PrincipalList(BaseModel):
    principals: list[PrincipalPublic]


class WhoAmI(BaseModel):
    principal: PrincipalPublic | None = Field(description="None on a server without users.")
    roles: dict[str, str] = Field(description="Role by project name.")
    authenticated: bool


class ProjectCreate(Strict):
    name: str
    description: str = ""


class ProjectPublic(BaseModel):
    name: str
    description: str
    created: int
    quota_bytes: int | None = Field(default=None, description="null: no storage limit")
    used_bytes: int = Field(default=0, description="Bytes of its artifacts and dataset objects")


class ProjectQuota(Strict):
    quota_bytes: int | None = Field(
        description="Bytes its uploads may hold (0 to 2**62); null: no limit"
    )


class ProjectList(BaseModel):
    projects: list[ProjectPublic]


class GrantSet(Strict):
    role: str = Field(description="reader, editor, maintainer or admin")


class GrantPublic(BaseModel):
    project: str
    principal: str = Field(description="The principal's name, or the group's.")
    role: str
    created: int
    group: bool = Field(description="Granted to a group (its members hold the role).")


class GroupCreate(Strict):
    name: str


class GroupPublic(BaseModel):
    name: str
    created: int
    members: list[str]


class GroupList(BaseModel):
    groups: list[GroupPublic]


class GrantList(BaseModel):
    grants: list[GrantPublic]


class ResourceMove(Strict):
    kind: str = Field(description="experiment, model, dataset or deployment")
    key: str = Field(description="The experiment's id, or the model's or dataset's name.")


def token_to_dict(token: ApiToken) -> dict[str, Any]:
    return {
        "token_id": token.token_id,
        "principal": token.principal,
        "name": token.name,
        "created": token.created,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "last_used_at": token.last_used_at,
    }


def issued_to_dict(issued: IssuedToken) -> dict[str, Any]:
    return {**token_to_dict(issued.token), "token": issued.secret}


def token_from_dict(raw: dict[str, Any]) -> ApiToken:
    return ApiToken(
        token_id=raw["token_id"],
        principal_id=0,  # not sent: the name identifies the principal on the wire
        principal=raw["principal"],
        name=raw["name"],
        created=raw["created"],
        expires_at=raw["expires_at"],
        revoked_at=raw["revoked_at"],
        last_used_at=raw["last_used_at"],
    )


def principal_to_dict(principal: Principal) -> dict[str, Any]:
    return {
        "name": principal.name,
        "kind": principal.kind.value,
        "is_admin": principal.is_admin,
        "created": principal.created,
        "disabled": principal.disabled,
    }


def project_to_dict(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "description": project.description,
        "created": project.created,
        "quota_bytes": project.quota_bytes,
        "used_bytes": project.used_bytes,
    }


def grant_to_dict(grant: Grant) -> dict[str, Any]:
    return {
        "project": grant.project,
        "principal": grant.principal,
        "role": grant.role.value,
        "created": grant.created,
        "group": grant.to_group,
    }


def group_to_dict(group: Group) -> dict[str, Any]:
    return {"name": group.name, "created": group.created, "members": list(group.members)}


def group_from_dict(raw: dict[str, Any]) -> Group:
    return Group(raw["name"], raw["created"], tuple(raw["members"]))


def issued_from_dict(raw: dict[str, Any]) -> IssuedToken:
    return IssuedToken(token_from_dict(raw), raw["token"])


def principal_from_dict(raw: dict[str, Any]) -> Principal:
    from keel.entities.access import PrincipalKind

    return Principal(
        id=0,  # not sent: names identify principals on the wire
        name=raw["name"],
        kind=PrincipalKind(raw["kind"]),
        is_admin=raw["is_admin"],
        created=raw["created"],
        disabled=raw["disabled"],
    )


def project_from_dict(raw: dict[str, Any]) -> Project:
    return Project(
        id=0,
        name=raw["name"],
        description=raw["description"],
        created=raw["created"],
        quota_bytes=raw.get("quota_bytes"),
        used_bytes=raw.get("used_bytes", 0),
    )


def grant_from_dict(raw: dict[str, Any]) -> Grant:
    from keel.entities.access import Role

    return Grant(
        raw["project"], raw["principal"], Role(raw["role"]), raw["created"], to_group=raw["group"]
    )
