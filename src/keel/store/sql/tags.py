"""Tags of registered models and model versions: set or delete one, with its audit record,
inside the caller's :class:`Change` (the model's row locked)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, delete, select, update

from keel.entities.registry import AuditAction
from keel.errors import NotFound
from keel.store.sql.audit import Change
from keel.store.sql.tables import model_version_tags, registered_model_tags


def _target(name: str, version: int | None) -> tuple[Table, dict[str, Any]]:
    if version is None:
        return registered_model_tags, {"name": name}
    return model_version_tags, {"name": name, "version": version}


def set_tag(change: Change, key: str, value: str, *, version: int | None = None) -> None:
    table, owner = _target(change.name, version)
    where = and_(table.c.key == key, *(table.c[col] == val for col, val in owner.items()))
    before = change.conn.execute(select(table.c.value).where(where)).scalar_one_or_none()
    if before == value:
        return
    if before is None:
        change.conn.execute(table.insert().values(**owner, key=key, value=value))
    else:
        change.conn.execute(update(table).where(where).values(value=value))
    change.record(
        AuditAction.MODEL_TAG_SET if version is None else AuditAction.VERSION_TAG_SET,
        version=version,
        before=None if before is None else {"key": key, "value": before},
        after={"key": key, "value": value},
    )


def delete_tag(change: Change, key: str, *, version: int | None = None) -> None:
    table, owner = _target(change.name, version)
    where = and_(table.c.key == key, *(table.c[col] == val for col, val in owner.items()))
    before = change.conn.execute(select(table.c.value).where(where)).scalar_one_or_none()
    if before is None:
        model = f"model {change.name!r}"
        of = model if version is None else f"version {version} of {model}"
        raise NotFound(f"tag {key!r} of {of}: no such tag")
    change.conn.execute(delete(table).where(where))
    change.record(
        AuditAction.MODEL_TAG_DELETE if version is None else AuditAction.VERSION_TAG_DELETE,
        version=version,
        before={"key": key, "value": before},
    )
