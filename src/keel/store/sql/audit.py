"""The registry's audit log: appended in the transaction of the change it records, read
with filters, never updated or deleted (no function here or anywhere does either)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from keel.entities.registry import AuditAction, AuditPage
from keel.store.sql.registry_rows import audit_record, decode_token, encode_token, to_json
from keel.store.sql.tables import audit_log, registered_models


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
        self.conn.execute(
            _APPEND,
            {
                "at": self.now,
                "actor": actor or self.actor,
                "action": action.value,
                "model_name": self.name,
                "version": version,
                "alias": alias,
                "before": to_json(before),
                "after": to_json(after),
            },
        )
        if touch and action is not AuditAction.MODEL_DELETE:
            self.conn.execute(_TOUCH, {"model": self.name, "now": self.now})


# Built once: every registry write runs these.
_APPEND = audit_log.insert()
_TOUCH = (
    update(registered_models)
    .where(registered_models.c.name == bindparam("model"))
    .values(updated=bindparam("now"))
)


def search_audit(
    conn: Connection,
    *,
    name: str | None,
    action: AuditAction | None,
    actor: str | None,
    since: int | None,
    max_results: int,
    page_token: str | None,
) -> AuditPage:
    c = audit_log.c
    query = select(audit_log)
    after = decode_token("audit", page_token, int)
    if after is not None:
        query = query.where(c.id > after)
    if name is not None:
        query = query.where(c.model_name == name)
    if action is not None:
        query = query.where(c.action == action.value)
    if actor is not None:
        query = query.where(c.actor == actor)
    if since is not None:
        query = query.where(c.at >= since)
    rows = conn.execute(query.order_by(c.id).limit(max_results + 1)).all()
    records = [audit_record(row) for row in rows[:max_results]]
    token = encode_token("audit", records[-1].id) if len(rows) > max_results else None
    return AuditPage(records, token)
