"""Principals, API tokens, projects and grants in SQL, and the project of each resource.

Names arrive canonical (``keel.entities.access.canonical_name``) and tokens arrive hashed:
this module stores what it is given and never sees a token's secret.

Every change appends its audit record in its own transaction (``keel.store.sql.audit``):
the actor bound for the request (``keel.store.acting``), else the store's local user. A
token's record names its id, name, owner and expiry, never its hash.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from keel.entities.access import (
    DEFAULT_PROJECT,
    ApiToken,
    Grant,
    Group,
    Principal,
    PrincipalKind,
    Project,
    Role,
)
from keel.entities.audit import AuditAction, ResourceType
from keel.entities.rules import int_id
from keel.errors import AlreadyExists, Conflict, NotFound
from keel.store.acting import current_actor
from keel.store.sql import audit
from keel.store.sql.engine import read_transaction, write_transaction
from keel.store.sql.production_tables import deployments
from keel.store.sql.tables import (
    api_tokens,
    artifacts,
    datasets,
    experiments,
    grants,
    group_grants,
    group_members,
    principal_groups,
    principals,
    projects,
    promotion_requests,
    registered_models,
    runs,
)

RESOURCE_TABLES = {
    "experiment": (experiments, experiments.c.experiment_id),
    "model": (registered_models, registered_models.c.name),
    "dataset": (datasets, datasets.c.name),
    "deployment": (deployments, deployments.c.name),
}
"""The kinds of resource that belong to a project: table and key column."""


def _principal(row: Any) -> Principal:
    return Principal(
        id=row.id,
        name=row.name,
        kind=PrincipalKind(row.kind),
        is_admin=bool(row.is_admin),
        created=row.created,
        disabled=bool(row.disabled),
    )


def _token(row: Any) -> ApiToken:
    return ApiToken(
        token_id=row.token_id,
        principal_id=row.principal_id,
        principal=row.principal,
        name=row.name,
        created=row.created,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _project(row: Any) -> Project:
    return Project(
        id=row.id,
        name=row.name,
        description=row.description,
        created=row.created,
        quota_bytes=row.quota_bytes,
        used_bytes=int(row.used_bytes),
    )


_TOKENS = select(
    api_tokens.c.token_id,
    api_tokens.c.principal_id,
    principals.c.name.label("principal"),
    api_tokens.c.name,
    api_tokens.c.created,
    api_tokens.c.expires_at,
    api_tokens.c.revoked_at,
    api_tokens.c.last_used_at,
).join(principals, principals.c.id == api_tokens.c.principal_id)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _token_fields(
    token_id: str, principal: str, name: str, expires_at: int | None
) -> dict[str, Any]:
    return {"token_id": token_id, "principal": principal, "name": name, "expires_at": expires_at}


class SqlAccessStore:
    def __init__(self, engine: Engine, *, actor: str = "anonymous") -> None:
        self.engine = engine
        self.actor = actor
        """Who the audit log names when no actor is bound (the CLI's local user)."""

    def _audit(
        self,
        conn: Connection,
        action: AuditAction,
        kind: ResourceType,
        resource: str,
        now: int,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        audit.append(
            conn,
            audit.Entry(
                action, kind, resource, current_actor(self.actor), now, before=before, after=after
            ),
        )

    # principals ----------------------------------------------------------------------

    def create_principal(
        self, name: str, *, kind: PrincipalKind, is_admin: bool, now: int
    ) -> Principal:
        try:
            with write_transaction(self.engine) as conn:
                new_id = conn.execute(
                    principals.insert().values(
                        name=name, kind=kind.value, is_admin=is_admin, created=now, disabled=False
                    )
                ).inserted_primary_key
                self._audit(
                    conn,
                    AuditAction.USER_CREATE,
                    ResourceType.USER,
                    name,
                    now,
                    after={"kind": kind.value, "is_admin": is_admin},
                )
        except IntegrityError:
            raise AlreadyExists(f"principal {name!r}: the name is taken") from None
        assert new_id is not None
        return Principal(new_id[0], name, kind, is_admin, now, False)

    def get_principal(self, name: str) -> Principal:
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(principals).where(principals.c.name == name)).first()
        if row is None:
            raise NotFound(f"principal {name!r}: no such user or service account")
        return _principal(row)

    def list_principals(self) -> list[Principal]:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(select(principals).order_by(principals.c.name)).all()
        return [_principal(row) for row in rows]

    def set_disabled(self, name: str, disabled: bool, *, now: int | None = None) -> Principal:
        with write_transaction(self.engine) as conn:
            was = conn.execute(
                select(principals.c.disabled).where(principals.c.name == name)
            ).first()
            if was is None:
                raise NotFound(f"principal {name!r}: no such user or service account")
            conn.execute(
                update(principals).where(principals.c.name == name).values(disabled=disabled)
            )
            if bool(was.disabled) != disabled:  # disabling twice changes nothing: no record
                self._audit(
                    conn,
                    AuditAction.USER_DISABLE if disabled else AuditAction.USER_ENABLE,
                    ResourceType.USER,
                    name,
                    _now_ms() if now is None else now,
                    before={"disabled": bool(was.disabled)},
                    after={"disabled": disabled},
                )
        return self.get_principal(name)

    def has_principals(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(principals.c.id).limit(1)).first() is not None

    # tokens --------------------------------------------------------------------------

    def add_token(
        self,
        principal_id: int,
        *,
        token_id: str,
        token_hash: str,
        name: str,
        now: int,
        expires_at: int | None,
        replaces: tuple[str, int] | None = None,
    ) -> ApiToken:
        """Store a new token; with ``replaces=(old_id, until)``, the old token expires at
        ``until`` (if it would live longer) in the same transaction: a rotation."""
        with write_transaction(self.engine) as conn:
            if replaces is not None:
                old_id, until = replaces
                old = conn.execute(_TOKENS.where(api_tokens.c.token_id == old_id)).one()
                conn.execute(
                    update(api_tokens)
                    .where(api_tokens.c.token_id == old_id)
                    .where((api_tokens.c.expires_at.is_(None)) | (api_tokens.c.expires_at > until))
                    .values(expires_at=until)
                )
                ends = until if old.expires_at is None else min(old.expires_at, until)
                self._audit(
                    conn,
                    AuditAction.TOKEN_ROTATE,
                    ResourceType.TOKEN,
                    old_id,
                    now,
                    before=_token_fields(old_id, old.principal, old.name, old.expires_at),
                    after={
                        **_token_fields(old_id, old.principal, old.name, ends),
                        "replaced_by": token_id,
                    },
                )
            conn.execute(
                api_tokens.insert().values(
                    token_id=token_id,
                    token_hash=token_hash,
                    principal_id=principal_id,
                    name=name,
                    created=now,
                    expires_at=expires_at,
                )
            )
            row = conn.execute(_TOKENS.where(api_tokens.c.token_id == token_id)).one()
            created = _token_fields(token_id, row.principal, name, expires_at)
            if replaces is not None:
                created["replaces"] = replaces[0]
            self._audit(
                conn, AuditAction.TOKEN_CREATE, ResourceType.TOKEN, token_id, now, after=created
            )
        return _token(row)

    def token_by_hash(self, token_hash: str) -> tuple[ApiToken, Principal] | None:
        """The token with this hash and its principal, valid or not (the caller decides)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    api_tokens.c.token_id,
                    api_tokens.c.principal_id,
                    api_tokens.c.name.label("token_name"),
                    api_tokens.c.created.label("token_created"),
                    api_tokens.c.expires_at,
                    api_tokens.c.revoked_at,
                    api_tokens.c.last_used_at,
                    principals,
                )
                .join(principals, principals.c.id == api_tokens.c.principal_id)
                .where(api_tokens.c.token_hash == token_hash)
            ).first()
        if row is None:
            return None
        token = ApiToken(
            token_id=row.token_id,
            principal_id=row.principal_id,
            principal=row.name,
            name=row.token_name,
            created=row.token_created,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )
        return token, _principal(row)

    def get_token(self, token_id: str) -> ApiToken:
        with read_transaction(self.engine) as conn:
            row = conn.execute(_TOKENS.where(api_tokens.c.token_id == token_id)).first()
        if row is None:
            raise NotFound(f"token {token_id!r}: no such token")
        return _token(row)

    def list_tokens(self, principal: str | None = None) -> list[ApiToken]:
        query = _TOKENS.order_by(api_tokens.c.created, api_tokens.c.token_id)
        if principal is not None:
            query = query.where(principals.c.name == principal)
        with read_transaction(self.engine) as conn:
            return [_token(row) for row in conn.execute(query)]

    def revoke_token(self, token_id: str, *, now: int) -> ApiToken:
        with write_transaction(self.engine) as conn:
            revoked = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.token_id == token_id)
                .where(api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
            if revoked:  # revoking again changes nothing: no second record
                row = conn.execute(_TOKENS.where(api_tokens.c.token_id == token_id)).one()
                self._audit(
                    conn,
                    AuditAction.TOKEN_REVOKE,
                    ResourceType.TOKEN,
                    token_id,
                    now,
                    before={"revoked_at": None},
                    after={
                        **_token_fields(token_id, row.principal, row.name, row.expires_at),
                        "revoked_at": now,
                    },
                )
        return self.get_token(token_id)

    def touch_token(self, token_id: str, *, now: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(api_tokens).where(api_tokens.c.token_id == token_id).values(last_used_at=now)
            )

    # projects and grants -------------------------------------------------------------

    def create_project(self, name: str, *, description: str, now: int) -> Project:
        try:
            with write_transaction(self.engine) as conn:
                new_id = conn.execute(
                    projects.insert().values(name=name, description=description, created=now)
                ).inserted_primary_key
                self._audit(
                    conn,
                    AuditAction.PROJECT_CREATE,
                    ResourceType.PROJECT,
                    name,
                    now,
                    after={"description": description},
                )
        except IntegrityError:
            raise AlreadyExists(f"project {name!r}: the name is taken") from None
        assert new_id is not None
        return Project(new_id[0], name, description, now)

    def get_project(self, name: str) -> Project:
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(projects).where(projects.c.name == name)).first()
        if row is None:
            raise NotFound(f"project {name!r}: no such project")
        return _project(row)

    def set_quota(self, name: str, quota_bytes: int | None, *, now: int) -> Project:
        """Set the project's storage quota (``None``: no limit). Lowering it below what
        the project holds refuses further uploads; nothing stored is removed."""
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(projects).where(projects.c.name == name)).first()
            if row is None:
                raise NotFound(f"project {name!r}: no such project")
            conn.execute(
                update(projects).where(projects.c.id == row.id).values(quota_bytes=quota_bytes)
            )
            if row.quota_bytes != quota_bytes:
                self._audit(
                    conn,
                    AuditAction.PROJECT_QUOTA,
                    ResourceType.PROJECT,
                    name,
                    now,
                    before={"quota_bytes": row.quota_bytes},
                    after={"quota_bytes": quota_bytes, "used_bytes": int(row.used_bytes)},
                )
            found = conn.execute(select(projects).where(projects.c.id == row.id)).one()
        return _project(found)

    def list_projects(self) -> list[Project]:
        with read_transaction(self.engine) as conn:
            return [_project(r) for r in conn.execute(select(projects).order_by(projects.c.name))]

    def set_grant(self, project: str, principal: str, role: Role, *, now: int) -> Grant:
        with write_transaction(self.engine) as conn:
            project_id, principal_id = self._ids(conn, project, principal)
            held = _take_role(conn, grants.c.principal_id, project_id, principal_id)
            conn.execute(
                grants.insert().values(
                    project_id=project_id, principal_id=principal_id, role=role.value, created=now
                )
            )
            self._audit_grant(
                conn, AuditAction.GRANT_SET, project, principal, held, role.value, now
            )
        return Grant(project, principal, role, now)

    def _audit_grant(
        self,
        conn: Connection,
        action: AuditAction,
        project: str,
        grantee: str,
        before: str | None,
        after: str | None,
        now: int,
        *,
        group: bool = False,
    ) -> None:
        key = "group" if group else "principal"
        self._audit(
            conn,
            action,
            ResourceType.GRANT,
            project,
            now,
            before=None if before is None else {key: grantee, "role": before},
            after=None if after is None else {key: grantee, "role": after},
        )

    def delete_grant(self, project: str, principal: str, *, now: int | None = None) -> None:
        with write_transaction(self.engine) as conn:
            project_id, principal_id = self._ids(conn, project, principal)
            held = _take_role(conn, grants.c.principal_id, project_id, principal_id)
            if held is None:
                raise NotFound(f"grant: {principal!r} holds no role on project {project!r}")
            self._audit_grant(
                conn,
                AuditAction.GRANT_REVOKE,
                project,
                principal,
                held,
                None,
                _now_ms() if now is None else now,
            )

    def list_grants(self, project: str | None = None) -> list[Grant]:
        """Grants to principals, then to groups, by project and name."""
        direct = (
            select(projects.c.name.label("project"), principals.c.name.label("grantee"), grants)
            .join(projects, projects.c.id == grants.c.project_id)
            .join(principals, principals.c.id == grants.c.principal_id)
            .order_by(projects.c.name, principals.c.name)
        )
        to_groups = (
            select(
                projects.c.name.label("project"),
                principal_groups.c.name.label("grantee"),
                group_grants,
            )
            .join(projects, projects.c.id == group_grants.c.project_id)
            .join(principal_groups, principal_groups.c.id == group_grants.c.group_id)
            .order_by(projects.c.name, principal_groups.c.name)
        )
        if project is not None:
            direct = direct.where(projects.c.name == project)
            to_groups = to_groups.where(projects.c.name == project)
        with read_transaction(self.engine) as conn:
            found = [
                Grant(row.project, row.grantee, Role(row.role), row.created)
                for row in conn.execute(direct)
            ]
            found += [
                Grant(row.project, row.grantee, Role(row.role), row.created, to_group=True)
                for row in conn.execute(to_groups)
            ]
        return sorted(found, key=lambda g: (g.project, g.to_group, g.principal))

    def roles_of(self, principal_id: int) -> dict[int, Role]:
        """The highest role ``principal_id`` holds on each project, itself or through a
        group, by project id."""
        direct = select(grants.c.project_id, grants.c.role).where(
            grants.c.principal_id == principal_id
        )
        through_groups = (
            select(group_grants.c.project_id, group_grants.c.role)
            .join(group_members, group_members.c.group_id == group_grants.c.group_id)
            .where(group_members.c.principal_id == principal_id)
        )
        roles: dict[int, Role] = {}
        with self.engine.connect() as conn:
            for row in [*conn.execute(direct), *conn.execute(through_groups)]:
                role = Role(row.role)
                held = roles.get(row.project_id)
                if held is None or role.rank > held.rank:
                    roles[row.project_id] = role
        return roles

    # groups --------------------------------------------------------------------------

    def create_group(self, name: str, *, now: int) -> Group:
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(principal_groups.insert().values(name=name, created=now))
                self._audit(conn, AuditAction.GROUP_CREATE, ResourceType.GROUP, name, now)
        except IntegrityError:
            raise AlreadyExists(f"group {name!r}: the name is taken") from None
        return Group(name, now, ())

    def list_groups(self) -> list[Group]:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(select(principal_groups).order_by(principal_groups.c.name)).all()
            members = conn.execute(
                select(group_members.c.group_id, principals.c.name)
                .join(principals, principals.c.id == group_members.c.principal_id)
                .order_by(principals.c.name)
            ).all()
        by_group: dict[int, list[str]] = {}
        for group_id, member in members:
            by_group.setdefault(group_id, []).append(member)
        return [Group(r.name, r.created, tuple(by_group.get(r.id, ()))) for r in rows]

    def delete_group(self, name: str, *, now: int | None = None) -> None:
        with write_transaction(self.engine) as conn:
            gone = conn.execute(
                delete(principal_groups).where(principal_groups.c.name == name)
            ).rowcount
            if not gone:
                raise NotFound(f"group {name!r}: no such group")
            self._audit(
                conn,
                AuditAction.GROUP_DELETE,
                ResourceType.GROUP,
                name,
                _now_ms() if now is None else now,
            )

    def set_member(
        self, group: str, principal: str, *, member: bool, now: int | None = None
    ) -> None:
        """Add ``principal`` to ``group`` (again is fine), or remove it."""
        with write_transaction(self.engine) as conn:
            group_id = self._group_id(conn, group)
            principal_id = conn.execute(
                select(principals.c.id).where(principals.c.name == principal)
            ).scalar()
            if principal_id is None:
                raise NotFound(f"principal {principal!r}: no such user or service account")
            was = conn.execute(
                delete(group_members)
                .where(group_members.c.group_id == group_id)
                .where(group_members.c.principal_id == principal_id)
            ).rowcount
            if member:
                conn.execute(
                    group_members.insert().values(group_id=group_id, principal_id=principal_id)
                )
            if bool(was) != member:  # adding a member again changes nothing: no record
                self._audit(
                    conn,
                    AuditAction.GROUP_MEMBER_ADD if member else AuditAction.GROUP_MEMBER_REMOVE,
                    ResourceType.GROUP,
                    group,
                    _now_ms() if now is None else now,
                    before=None if member else {"member": principal},
                    after={"member": principal} if member else None,
                )

    def set_group_grant(self, project: str, group: str, role: Role, *, now: int) -> Grant:
        with write_transaction(self.engine) as conn:
            project_id = self._project_id(conn, project)
            group_id = self._group_id(conn, group)
            held = _take_role(conn, group_grants.c.group_id, project_id, group_id)
            conn.execute(
                group_grants.insert().values(
                    project_id=project_id, group_id=group_id, role=role.value, created=now
                )
            )
            self._audit_grant(
                conn, AuditAction.GRANT_SET, project, group, held, role.value, now, group=True
            )
        return Grant(project, group, role, now, to_group=True)

    def delete_group_grant(self, project: str, group: str, *, now: int | None = None) -> None:
        with write_transaction(self.engine) as conn:
            project_id = self._project_id(conn, project)
            group_id = self._group_id(conn, group)
            held = _take_role(conn, group_grants.c.group_id, project_id, group_id)
            if held is None:
                raise NotFound(f"grant: group {group!r} holds no role on project {project!r}")
            self._audit_grant(
                conn,
                AuditAction.GRANT_REVOKE,
                project,
                group,
                held,
                None,
                _now_ms() if now is None else now,
                group=True,
            )

    def _group_id(self, conn: Any, group: str) -> int:
        found = conn.execute(
            select(principal_groups.c.id).where(principal_groups.c.name == group)
        ).scalar()
        if found is None:
            raise NotFound(f"group {group!r}: no such group")
        return int(found)

    def _project_id(self, conn: Any, project: str) -> int:
        found = conn.execute(select(projects.c.id).where(projects.c.name == project)).scalar()
        if found is None:
            raise NotFound(f"project {project!r}: no such project")
        return int(found)

    def _ids(self, conn: Any, project: str, principal: str) -> tuple[int, int]:
        project_id = conn.execute(select(projects.c.id).where(projects.c.name == project)).scalar()
        if project_id is None:
            raise NotFound(f"project {project!r}: no such project")
        principal_id = conn.execute(
            select(principals.c.id).where(principals.c.name == principal)
        ).scalar()
        if principal_id is None:
            raise NotFound(f"principal {principal!r}: no such user or service account")
        return project_id, principal_id

    # the project of a resource ---------------------------------------------------------

    def project_of(self, kind: str, key: str | int) -> int | None:
        """The project id of an experiment (by id), a registered model or a dataset (by
        name); ``None`` when there is no such resource."""
        table, column = RESOURCE_TABLES[kind]
        if kind == "experiment":
            found = int_id(key)
            if found is None:
                return None
            key = found
        with self.engine.connect() as conn:
            return conn.execute(select(table.c.project_id).where(column == key)).scalar()

    def project_ids(self, kind: str) -> dict[str, int]:
        """The project id of every experiment (by id), model or dataset (by name)."""
        table, column = RESOURCE_TABLES[kind]
        with self.engine.connect() as conn:
            rows = conn.execute(select(column, table.c.project_id)).all()
        return {str(key): project_id for key, project_id in rows}

    def project_of_run(self, run_id: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(experiments.c.project_id)
                .join(runs, runs.c.experiment_id == experiments.c.experiment_id)
                .where(runs.c.run_uuid == run_id)
            ).scalar()

    def model_of_request(self, request_id: int) -> str | None:
        """The registered model a promotion request is about."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(promotion_requests.c.name).where(promotion_requests.c.id == request_id)
            ).scalar()

    def move(self, kind: str, key: str | int, project: str, *, now: int | None = None) -> Project:
        """Place a resource in ``project`` (all its runs, versions follow it)."""
        table, column = RESOURCE_TABLES[kind]
        if kind == "experiment":
            found = int_id(key)
            if found is None:
                raise NotFound(f"experiment {key!r}: no such experiment")
            key = found
        with write_transaction(self.engine) as conn:
            target = conn.execute(select(projects).where(projects.c.name == project)).first()
            if target is None:
                raise NotFound(f"project {project!r}: no such project")
            source = conn.execute(
                select(projects.c.name)
                .join(table, table.c.project_id == projects.c.id)
                .where(column == key)
            ).scalar()
            changed = conn.execute(
                update(table).where(column == key).values(project_id=target.id)
            ).rowcount
            if not changed:
                raise NotFound(f"{kind} {key!r}: no such {kind}")
            if source != project:  # moving where it already is changes nothing
                moved: dict[str, object] = {"kind": kind, "key": str(key), "project": project}
                if kind == "experiment":  # its runs' artifacts now count against the target
                    moved["bytes"] = self._move_usage(conn, int(key), source, target.id)
                self._audit(
                    conn,
                    AuditAction.PROJECT_MOVE,
                    ResourceType.PROJECT,
                    project,
                    _now_ms() if now is None else now,
                    before={"kind": kind, "key": str(key), "project": source},
                    after=moved,
                )
        return _project(target)

    @staticmethod
    def _move_usage(conn: Connection, experiment_id: int, source: str | None, target: int) -> int:
        """Move the stored bytes of an experiment's runs from ``source``'s use to
        ``target``'s (one sum, at a move: rare, and an admin's). An admin's move is not
        refused by the target's quota; the target's next uploads are."""
        held = int(
            conn.execute(
                select(func.coalesce(func.sum(artifacts.c.size), 0))
                .join(runs, runs.c.run_uuid == artifacts.c.run_uuid)
                .where(runs.c.experiment_id == experiment_id)
            ).scalar_one()
        )
        if held:
            # Never below 0 (bytes stored before counting began, say): SQLite's two-
            # argument max() is PostgreSQL's greatest().
            floor = func.max if conn.dialect.name == "sqlite" else func.greatest
            conn.execute(
                update(projects)
                .where(projects.c.name == source)
                .values(used_bytes=floor(projects.c.used_bytes - held, 0))
            )
            conn.execute(
                update(projects)
                .where(projects.c.id == target)
                .values(used_bytes=projects.c.used_bytes + held)
            )
        return held

    def delete_project(self, name: str, *, now: int | None = None) -> None:
        """Delete an empty project (and its grants); the default one stays."""
        if name == DEFAULT_PROJECT:
            raise Conflict(f"project {name!r}: the default project cannot be deleted")
        with write_transaction(self.engine) as conn:
            project_id = conn.execute(select(projects.c.id).where(projects.c.name == name)).scalar()
            if project_id is None:
                raise NotFound(f"project {name!r}: no such project")
            for kind, (table, _column) in RESOURCE_TABLES.items():
                held = conn.execute(
                    select(func.count()).select_from(table).where(table.c.project_id == project_id)
                ).scalar()
                if held:
                    raise Conflict(
                        f"project {name!r}: still holds {held} {kind}(s); move them first"
                    )
            conn.execute(delete(projects).where(projects.c.id == project_id))
            self._audit(
                conn,
                AuditAction.PROJECT_DELETE,
                ResourceType.PROJECT,
                name,
                _now_ms() if now is None else now,
            )


def _take_role(conn: Connection, holder: Any, project_id: int, holder_id: int) -> str | None:
    """Remove the role that ``holder_id`` (a principal's or a group's id, in the grants
    table of the column ``holder``) holds on the project; the role it held, if any."""
    table = holder.table
    return conn.execute(
        delete(table)
        .where(table.c.project_id == project_id)
        .where(holder == holder_id)
        .returning(table.c.role)
    ).scalar()
