"""Writing registered models: create, describe, delete, each with its audit record."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, func, select, update

from keel.entities.access import canonical_name
from keel.entities.registry import AuditAction, RegisteredModel
from keel.entities.rules import name_key
from keel.errors import AlreadyExists, Conflict
from keel.store.sql.aliases import aliases_of
from keel.store.sql.audit import Change
from keel.store.sql.project_placement import project_id_named
from keel.store.sql.tables import (
    alias_policy_checks,
    check_results,
    model_aliases,
    model_version_tags,
    model_versions,
    promotion_requests,
    registered_model_tags,
    registered_models,
)

# A model's rows, children first: deleted explicitly, the same on every engine whatever
# its foreign-key settings. The audit log is not among them.
_MODEL_TABLES = (
    check_results,
    promotion_requests,
    model_version_tags,
    model_aliases,
    alias_policy_checks,
    model_versions,
    registered_model_tags,
    registered_models,
)


_INSERT_MODEL = registered_models.insert()
_TAKEN = select(registered_models.c.name).where(registered_models.c.name == bindparam("name"))
_KEY_TAKEN = select(registered_models.c.name).where(
    registered_models.c.name_key == bindparam("key")
)


def insert_model(
    conn: Connection,
    name: str,
    description: str,
    tags: dict[str, str],
    *,
    actor: str,
    now: int,
    project: str | None = None,
) -> RegisteredModel:
    """Create the model, in ``project`` when one is named (else the default project);
    returns it as stored."""
    project_id = project_id_named(conn, project)
    if conn.execute(_TAKEN, {"name": name}).first():
        raise AlreadyExists(f"model {name!r}: already exists")
    key = name_key(name)
    other = conn.execute(_KEY_TAKEN, {"key": key}).scalar()
    if other is not None:
        raise AlreadyExists(
            f"model {name!r}: model {other!r} exists, and names that differ only by case "
            "or Unicode form are one name; use that one"
        )
    # The default project is the column's default: left out unless another is named.
    placed = {} if project_id is None else {"project_id": project_id}
    conn.execute(
        _INSERT_MODEL,
        {
            "name": name,
            "name_key": key,
            "description": description,
            "created": now,
            "updated": now,
            "last_version": 0,
            **placed,
        },
    )
    if tags:
        conn.execute(
            registered_model_tags.insert(),
            [{"name": name, "key": k, "value": v} for k, v in tags.items()],
        )
    created: dict[str, object] = {"description": description, "tags": tags}
    if project is not None:
        created["project"] = canonical_name(project, "project")
    Change(conn, name, actor, now).record(AuditAction.MODEL_CREATE, after=created, touch=False)
    return RegisteredModel(name, description, dict(tags), created=now, updated=now)


def describe_model(change: Change, description: str) -> None:
    c = registered_models.c
    before = change.conn.execute(select(c.description).where(c.name == change.name)).scalar_one()
    if description == before:
        return
    change.conn.execute(
        update(registered_models).where(c.name == change.name).values(description=description)
    )
    change.record(
        AuditAction.MODEL_UPDATE,
        before={"description": before},
        after={"description": description},
    )


def delete_model(change: Change) -> None:
    """Delete the model and everything under it; refused while any alias is set."""
    conn, name = change.conn, change.name
    held = aliases_of(conn, name)
    if held:
        listed = ", ".join(f"{alias} -> {version}" for alias, version in held.items())
        raise Conflict(
            f"model {name!r}: its versions are aliased ({listed}); delete the aliases before "
            "the model"
        )
    description = conn.execute(
        select(registered_models.c.description).where(registered_models.c.name == name)
    ).scalar_one()
    tags = dict(
        conn.execute(
            select(registered_model_tags.c.key, registered_model_tags.c.value).where(
                registered_model_tags.c.name == name
            )
        ).all()
    )
    count = conn.execute(
        select(func.count()).select_from(model_versions).where(model_versions.c.name == name)
    ).scalar_one()
    for table in _MODEL_TABLES:
        conn.execute(delete(table).where(table.c.name == name))
    change.record(
        AuditAction.MODEL_DELETE,
        before={"description": description, "tags": tags, "versions": count},
    )
