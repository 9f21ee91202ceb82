"""``SqlDeploymentStore``: deployments and their revision history on SQLite or PostgreSQL.

Every change is one transaction: the deployment's row, its revision row and its audit
record, all or nothing. A change applies ``UPDATE ... WHERE revision = <the one read>``, so
of two writers that read the same revision one wins and the other finds no row to update
and gets ``Conflict`` (PostgreSQL re-checks the condition after the first commits; SQLite's
write lock orders them). Writes take SQLite's write lock up front (``write_transaction``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from keel.entities.access import canonical_name
from keel.entities.audit import AuditAction, ResourceType
from keel.entities.deployment import (
    Deployment,
    DeploymentAction,
    DeploymentRevision,
    TrafficPolicy,
    check_deployment_name,
    check_revision,
)
from keel.entities.rules import check_actor, check_choice, check_tag, check_text
from keel.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from keel.store.acting import current_request_id
from keel.store.sql import audit
from keel.store.sql.engine import make_engine, now_ms, read_transaction, write_transaction
from keel.store.sql.production_tables import deployment_revisions, deployments
from keel.store.sql.project_placement import project_id_named

_AUDIT_ACTIONS = {
    DeploymentAction.CREATE: AuditAction.DEPLOYMENT_CREATE,
    DeploymentAction.TRAFFIC: AuditAction.DEPLOYMENT_TRAFFIC,
    DeploymentAction.PROMOTE: AuditAction.DEPLOYMENT_PROMOTE,
    DeploymentAction.ROLLBACK: AuditAction.DEPLOYMENT_ROLLBACK,
}


class SqlDeploymentStore:
    """The constructor only builds an engine (or takes the tracking store's); use
    :func:`keel.store.open_backend`, which checks the schema."""

    def __init__(self, url: str | Engine) -> None:
        self.engine = url if isinstance(url, Engine) else make_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    # reads -------------------------------------------------------------------------------

    def get_deployment(self, name: str) -> Deployment:
        check_deployment_name(name)
        with read_transaction(self.engine) as conn:
            return _deployment(_row(conn, name))

    def list_deployments(self) -> list[Deployment]:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(select(deployments).order_by(deployments.c.name)).all()
        return [_deployment(row) for row in rows]

    def deployment_history(self, name: str) -> list[DeploymentRevision]:
        check_deployment_name(name)
        c = deployment_revisions.c
        with read_transaction(self.engine) as conn:
            _row(conn, name)
            rows = conn.execute(
                select(deployment_revisions).where(c.name == name).order_by(c.revision.desc())
            ).all()
        return [_revision(row) for row in rows]

    # writes ------------------------------------------------------------------------------

    def create_deployment(
        self,
        name: str,
        policy: TrafficPolicy,
        *,
        actor: str,
        description: str = "",
        tags: dict[str, str] | None = None,
        project: str | None = None,
    ) -> Deployment:
        check_deployment_name(name)
        _check_policy(policy)
        check_actor(actor)
        check_text("description", description)
        tags = _checked_tags(tags)
        now = now_ms()
        with write_transaction(self.engine) as conn:
            project_id = project_id_named(conn, project)
            # The default project is the column's default: left out unless another is named.
            placed = {} if project_id is None else {"project_id": project_id}
            row = {
                "name": name,
                "policy": _policy_json(policy),
                "revision": 1,
                "description": description,
                "tags": json.dumps(tags, sort_keys=True),
                "created": now,
                "updated": now,
                "created_by": actor,
            }
            try:
                with conn.begin_nested():
                    conn.execute(deployments.insert().values(**row, **placed))
            except SqlIntegrityError:  # there already, or made by a concurrent writer
                raise AlreadyExists(f"deployment {name!r}: already exists") from None
            _append_revision(conn, name, 1, policy, DeploymentAction.CREATE, actor, now)
            after: dict[str, Any] = {"revision": 1, "policy": policy.to_dict()}
            if description:
                after["description"] = description
            if project is not None:
                after["project"] = canonical_name(project, "project")
            _audit(conn, AuditAction.DEPLOYMENT_CREATE, name, 1, actor, now, after=after)
        return Deployment(name, policy, 1, description, now, now, actor, tags)

    def write_policy(
        self,
        name: str,
        policy: TrafficPolicy,
        *,
        action: DeploymentAction,
        actor: str,
        expected_revision: int | None = None,
    ) -> Deployment:
        check_deployment_name(name)
        _check_policy(policy)
        check_actor(actor)
        action = check_choice(DeploymentAction, action, "action")
        if action is DeploymentAction.CREATE:
            raise InvalidArgument("action: a change is traffic, promote or rollback, not create")
        if expected_revision is not None:
            check_revision(expected_revision)
        now = now_ms()
        with write_transaction(self.engine) as conn:
            before = _locked(conn, name, expected_revision)
            revision = before.revision + 1
            changed = conn.execute(
                update(deployments)
                .where(deployments.c.name == name, deployments.c.revision == before.revision)
                .values(policy=_policy_json(policy), revision=revision, updated=now)
            ).rowcount
            if not changed:  # another writer got in between the read and the update
                _stale(conn, name, before.revision)
            _append_revision(conn, name, revision, policy, action, actor, now)
            _audit(
                conn,
                _AUDIT_ACTIONS[action],
                name,
                revision,
                actor,
                now,
                before={"revision": before.revision, "policy": before.policy.to_dict()},
                after={"revision": revision, "policy": policy.to_dict()},
            )
        return Deployment(
            name,
            policy,
            revision,
            before.description,
            before.created_at,
            now,
            before.created_by,
            dict(before.tags),
        )

    def delete_deployment(
        self, name: str, *, actor: str, expected_revision: int | None = None
    ) -> Deployment:
        check_deployment_name(name)
        check_actor(actor)
        if expected_revision is not None:
            check_revision(expected_revision)
        now = now_ms()
        with write_transaction(self.engine) as conn:
            before = _locked(conn, name, expected_revision)
            # History first: the same on every engine, whatever its foreign-key settings.
            conn.execute(delete(deployment_revisions).where(deployment_revisions.c.name == name))
            gone = conn.execute(
                delete(deployments).where(
                    deployments.c.name == name, deployments.c.revision == before.revision
                )
            ).rowcount
            if not gone:
                _stale(conn, name, before.revision)
            _audit(
                conn,
                AuditAction.DEPLOYMENT_DELETE,
                name,
                before.revision,
                actor,
                now,
                before={"revision": before.revision, "policy": before.policy.to_dict()},
            )
        return before


def _check_policy(policy: object) -> None:
    if not isinstance(policy, TrafficPolicy):
        raise InvalidArgument(f"policy: must be a TrafficPolicy, got {type(policy).__name__}")


def _checked_tags(tags: object) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidArgument(f"tags: must be an object of strings, got {type(tags).__name__}")
    return dict(check_tag(k, v) for k, v in tags.items())


def _policy_json(policy: TrafficPolicy) -> str:
    return json.dumps(policy.to_dict(), allow_nan=False)


def _row(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    query = select(deployments).where(deployments.c.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"deployment {name!r}: no such deployment")
    return row


def _locked(conn: Connection, name: str, expected: int | None) -> Deployment:
    """The deployment, its row locked; ``Conflict`` when it is not at ``expected``."""
    found = _deployment(_row(conn, name, lock=True))
    if expected is not None and found.revision != expected:
        raise _conflict(conn, name, expected, found.revision)
    return found


def _stale(conn: Connection, name: str, read: int) -> None:
    row = conn.execute(select(deployments.c.revision).where(deployments.c.name == name)).first()
    if row is None:
        raise NotFound(f"deployment {name!r}: no such deployment (deleted meanwhile)")
    raise _conflict(conn, name, read, int(row.revision))


def _conflict(conn: Connection, name: str, expected: int, found: int) -> Conflict:
    c = deployment_revisions.c
    last = conn.execute(
        select(c.action, c.actor).where(c.name == name, c.revision == found)
    ).first()
    by = f" ({last.action} by {last.actor})" if last is not None else ""
    return Conflict(
        f"deployment {name!r}: expected revision {expected}, but it is at revision "
        f"{found}{by}; read it again and retry"
    )


def _append_revision(
    conn: Connection,
    name: str,
    revision: int,
    policy: TrafficPolicy,
    action: DeploymentAction,
    actor: str,
    now: int,
) -> None:
    conn.execute(
        deployment_revisions.insert().values(
            name=name,
            revision=revision,
            policy=_policy_json(policy),
            action=action.value,
            actor=actor,
            at=now,
            request_id=current_request_id(),
        )
    )


def _audit(
    conn: Connection,
    action: AuditAction,
    name: str,
    revision: int,
    actor: str,
    now: int,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """The record of a change; its ``version`` is the revision it made (for a deletion,
    the last one), so ``keel audit`` shows it in that column."""
    entry = audit.Entry(
        action,
        ResourceType.DEPLOYMENT,
        name,
        actor,
        now,
        version=revision,
        before=before,
        after=after,
    )
    audit.append(conn, entry)


def _deployment(row: Row[Any]) -> Deployment:
    return Deployment(
        name=row.name,
        policy=TrafficPolicy.from_dict(json.loads(row.policy)),
        revision=int(row.revision),
        description=row.description,
        created_at=int(row.created),
        updated_at=int(row.updated),
        created_by=row.created_by,
        tags=json.loads(row.tags),
    )


def _revision(row: Row[Any]) -> DeploymentRevision:
    return DeploymentRevision(
        name=row.name,
        revision=int(row.revision),
        policy=TrafficPolicy.from_dict(json.loads(row.policy)),
        action=DeploymentAction(row.action),
        actor=row.actor,
        at=int(row.at),
        request_id=row.request_id,
    )
