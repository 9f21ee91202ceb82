"""The audit log of every store: appended in the transaction of the change it records,
read with filters, never updated or deleted (the database's triggers refuse both; see
``audit_triggers.py``).

:func:`append` writes one record, :func:`append_many` several in one statement (a batch
that creates many runs); the registry's writes go through :class:`Change`, which knows
its model. The request id is the one bound for the current request (``keel.store.acting``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from keel.entities.audit import AuditAction, AuditPage, ResourceType
from keel.store.acting import current_request_id
from keel.store.sql.registry_rows import audit_record, decode_token, encode_token, to_json
from keel.store.sql.tables import audit_log, registered_models


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit record to append."""

    action: AuditAction
    resource_type: ResourceType
    resource: str
    actor: str
    at: int
    version: int | None = None
    alias: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def append(conn: Connection, entry: Entry) -> None:
    append_many(conn, [entry])


def append_many(conn: Connection, entries: Sequence[Entry]) -> None:
    if not entries:
        return
    request_id = current_request_id()
    conn.execute(
        _APPEND,
        [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action.value,
                "resource_type": e.resource_type.value,
                "resource": e.resource,
                "version": e.version,
                "alias": e.alias,
                "before": to_json(e.before),
                "after": to_json(e.after),
                "request_id": request_id,
            }
            for e in entries
        ],
    )


@dataclass(frozen=True, slots=True)
class Change:
    """A write to one model in progress: its transaction (the model's row locked), who
    makes it and when. Every change it makes is recorded through :meth:`record`."""

    conn: Connection
    name: str
    actor: str
    now: int

    def record(
        self,
        action: AuditAction,
        *,
        version: int | None = None,
        alias: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        actor: str | None = None,
        touch: bool = True,
    ) -> None:
        """Append the audit record and mark the model updated (unless ``touch`` is false:
        the caller's own statement on the model's row did)."""
        append(
            self.conn,
            Entry(
                action,
                ResourceType.MODEL,
                self.name,
                actor or self.actor,
                self.now,
                version=version,
                alias=alias,
                before=before,
                after=after,
            ),
        )
        if touch and action is not AuditAction.MODEL_DELETE:
            self.conn.execute(_TOUCH, {"model": self.name, "now": self.now})


# Built once: every audited write runs these.
_APPEND = audit_log.insert()
_TOUCH = (
    update(registered_models)
    .where(registered_models.c.name == bindparam("model"))
    .values(updated=bindparam("now"))
)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What a listing keeps; every field optional. ``since``/``until`` in epoch ms,
    ``since`` inclusive, ``until`` exclusive."""

    resource_type: ResourceType | None = None
    resource: str | None = None
    action: AuditAction | None = None
    actor: str | None = None
    since: int | None = None
    until: int | None = None


def search_audit(
    conn: Connection, wanted: AuditFilter, *, max_results: int, page_token: str | None
) -> AuditPage:
    c = audit_log.c
    query = select(audit_log)
    after = decode_token("audit", page_token, int)
    if after is not None:
        query = query.where(c.id > after)
    if wanted.resource_type is not None:
        query = query.where(c.resource_type == wanted.resource_type.value)
    if wanted.resource is not None:
        query = query.where(c.resource == wanted.resource)
    if wanted.action is not None:
        query = query.where(c.action == wanted.action.value)
    if wanted.actor is not None:
        query = query.where(c.actor == wanted.actor)
    if wanted.since is not None:
        query = query.where(c.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(c.at < wanted.until)
    rows = conn.execute(query.order_by(c.id).limit(max_results + 1)).all()
    records = [audit_record(row) for row in rows[:max_results]]
    token = encode_token("audit", records[-1].id) if len(rows) > max_results else None
    return AuditPage(records, token)
