"""Users, tokens and projects through ``keel server`` (``/api/v1/tokens`` and friends),
with the same methods as :class:`keel.access.service.AccessService` has over a database,
so the CLI does not ask which one it holds."""

from __future__ import annotations

from typing import Any

from keel.entities.access import ApiToken, Grant, Group, IssuedToken, Principal, Project
from keel.entities.quota import parse_size
from keel.store.rest.http import Http
from keel.wire import routes
from keel.wire.access import (
    grant_from_dict,
    group_from_dict,
    issued_from_dict,
    principal_from_dict,
    project_from_dict,
    token_from_dict,
)


class RestAccess:
    def __init__(self, http: Http) -> None:
        self.http = http

    def whoami(self) -> dict[str, Any]:
        found: dict[str, Any] = self.http.request(*routes.WHOAMI.at())
        return found

    def create_principal(
        self, name: str, *, admin: bool = False, service_account: bool = False
    ) -> tuple[Principal, IssuedToken]:
        body = {"name": name, "admin": admin, "service_account": service_account}
        found = self.http.request(*routes.CREATE_USER.at(), json=body)
        return principal_from_dict(found["principal"]), issued_from_dict(found["token"])

    def list_principals(self) -> list[Principal]:
        found = self.http.request(*routes.LIST_USERS.at())
        return [principal_from_dict(p) for p in found["principals"]]

    def set_disabled(self, name: str, disabled: bool = True) -> Principal:
        route = routes.DISABLE_USER if disabled else routes.ENABLE_USER
        return principal_from_dict(self.http.request(*route.at(name=name)))

    def issue_token(
        self, principal: str | None, *, name: str = "token", expires_in_days: float | None = None
    ) -> IssuedToken:
        body = {"name": name, "expires_in_days": expires_in_days, "principal": principal}
        return issued_from_dict(self.http.request(*routes.CREATE_TOKEN.at(), json=body))

    def rotate_token(self, token_id: str, *, grace_seconds: float = 86_400) -> IssuedToken:
        found = self.http.request(
            *routes.ROTATE_TOKEN.at(token_id=token_id), json={"grace_seconds": grace_seconds}
        )
        return issued_from_dict(found)

    def revoke_token(self, token_id: str) -> ApiToken:
        return token_from_dict(self.http.request(*routes.REVOKE_TOKEN.at(token_id=token_id)))

    def list_tokens(self, principal: str | None = None) -> list[ApiToken]:
        found = self.http.request(*routes.LIST_TOKENS.at(), params={"principal": principal})
        return [token_from_dict(t) for t in found["tokens"]]

    def create_project(self, name: str, *, description: str = "") -> Project:
        body = {"name": name, "description": description}
        return project_from_dict(self.http.request(*routes.CREATE_PROJECT.at(), json=body))

    def set_quota(self, project: str, quota: int | str | None) -> Project:
        if isinstance(quota, str) and quota.strip().lower() in ("none", "unlimited"):
            quota = None
        body = {"quota_bytes": None if quota is None else parse_size(quota)}
        found = self.http.request(*routes.SET_PROJECT_QUOTA.at(project=project), json=body)
        return project_from_dict(found)

    def list_projects(self) -> list[Project]:
        found = self.http.request(*routes.LIST_PROJECTS.at())
        return [project_from_dict(p) for p in found["projects"]]

    def grant(self, project: str, principal: str, role: str, *, group: bool = False) -> Grant:
        route = (
            routes.SET_GROUP_GRANT.at(project=project, group=principal)
            if group
            else routes.SET_GRANT.at(project=project, principal=principal)
        )
        return grant_from_dict(self.http.request(*route, json={"role": role}))

    def revoke_grant(self, project: str, principal: str, *, group: bool = False) -> None:
        route = (
            routes.DELETE_GROUP_GRANT.at(project=project, group=principal)
            if group
            else routes.DELETE_GRANT.at(project=project, principal=principal)
        )
        self.http.request(*route)

    def create_group(self, name: str) -> Group:
        return group_from_dict(self.http.request(*routes.CREATE_GROUP.at(), json={"name": name}))

    def list_groups(self) -> list[Group]:
        found = self.http.request(*routes.LIST_GROUPS.at())
        return [group_from_dict(g) for g in found["groups"]]

    def delete_group(self, name: str) -> None:
        self.http.request(*routes.DELETE_GROUP.at(group=name))

    def add_member(self, group: str, principal: str) -> None:
        self.http.request(*routes.ADD_MEMBER.at(group=group, principal=principal))

    def remove_member(self, group: str, principal: str) -> None:
        self.http.request(*routes.REMOVE_MEMBER.at(group=group, principal=principal))

    def list_grants(self, project: str | None = None) -> list[Grant]:
        if project is None:
            return [g for p in self.list_projects() for g in self.list_grants(p.name)]
        found = self.http.request(*routes.LIST_GRANTS.at(project=project))
        return [grant_from_dict(g) for g in found["grants"]]

    def move(self, kind: str, key: str, project: str = "default") -> Project:
        found = self.http.request(
            *routes.MOVE_TO_PROJECT.at(project=project), json={"kind": kind, "key": key}
        )
        return project_from_dict(found)


class CallerAccess:
    """A ``keel server``'s answer to whether *another* caller may predict from a model
    server (``/deployments/{name}/access``, ``/registered-models/{name}/access``), asked
    with that caller's ``Authorization`` header. Its session sends no token of its own, so
    a caller never borrows the model server's rights."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        self.http = Http(base_url, timeout=timeout)

    def may_predict(self, kind: str, name: str, authorization: str | None) -> dict[str, Any]:
        """``kind``: ``deployment`` or ``model``. The server's answer when the caller may;
        ``Unauthenticated`` or ``Forbidden`` when it may not; ``StoreUnavailable`` when
        the server does not answer."""
        route = routes.DEPLOYMENT_ACCESS if kind == "deployment" else routes.MODEL_ACCESS
        found: dict[str, Any] = self.http.request(
            *route.at(name=name),
            params={"permission": "deployment:predict"},
            headers={"Authorization": authorization} if authorization else None,
        )
        return found

    def close(self) -> None:
        self.http.close()
