"""Writing model versions: numbering, creating, changing description and status, inside
the caller's :class:`Change` (the model's row locked; creating locks it itself)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update

from keel.entities.registry import (
    OWNER_TRANSITIONS,
    AuditAction,
    ModelVersion,
    ModelVersionStatus,
)
from keel.errors import Conflict, InvalidArgument, NotFound
from keel.store.sql.aliases import aliases_of, require_version
from keel.store.sql.audit import Change
from keel.store.sql.model_sources import ModelPackage
from keel.store.sql.project_placement import project_id_named, require_placed
from keel.store.sql.registered_models import insert_model
from keel.store.sql.tables import model_version_tags, model_versions, registered_models
from keel.uri import RunArtifactUri

# Built once: a registration runs these statements and nothing else, so SQLAlchemy's
# compiled cache finds them without rebuilding an expression each time.
_NEXT_NUMBER = (
    update(registered_models)
    .where(registered_models.c.name == bindparam("model"))
    .values(last_version=registered_models.c.last_version + 1, updated=bindparam("now"))
    .returning(registered_models.c.last_version)
)
_INSERT_VERSION = model_versions.insert()
_INSERT_TAGS = model_version_tags.insert()


def insert_version(
    change: Change,
    *,
    source: RunArtifactUri,
    package: ModelPackage,
    description: str,
    parent_version: int | None,
    tags: dict[str, str],
    create_model: bool = False,
    project: str | None = None,
) -> ModelVersion:
    """Create the model's next version, PENDING_REVIEW, recording what ``package`` (read
    from the source's stored manifest) says of it; returns the version as stored.

    The first statement locks the model's row (as ``lock_model`` would), takes the next
    number and marks the model updated: no other writer can take the same number, and
    the audit record need not touch the row again. Without the model: NotFound, or with
    ``create_model`` the model is created first (and audited) in the same transaction,
    in ``project`` when one is named; an existing model named with another project is a
    ``Conflict``."""
    conn, name = change.conn, change.name
    number = conn.execute(_NEXT_NUMBER, {"model": name, "now": change.now}).scalar()
    if number is None:
        if not create_model:
            raise NotFound(f"model {name!r}: no such model")
        insert_model(conn, name, "", {}, actor=change.actor, now=change.now, project=project)
        number = conn.execute(_NEXT_NUMBER, {"model": name, "now": change.now}).scalar_one()
    elif project is not None:
        held = conn.execute(
            select(registered_models.c.project_id).where(registered_models.c.name == name)
        ).scalar_one()
        require_placed(conn, "model", name, held, project_id_named(conn, project))
    if parent_version is not None:
        require_version(conn, name, parent_version)
    fields = {
        "source": str(source),
        "run_id": source.run_id,
        "content_hash": package.content_hash,
        "status": ModelVersionStatus.PENDING_REVIEW.value,
        "description": description,
        "signature": package.signature,
        "parent_version": parent_version,
    }
    conn.execute(
        _INSERT_VERSION,
        {
            "name": name,
            "version": number,
            "created": change.now,
            "updated": change.now,
            "created_by": change.actor,
            **fields,
        },
    )
    if tags:
        conn.execute(
            _INSERT_TAGS,
            [{"name": name, "version": number, "key": k, "value": v} for k, v in tags.items()],
        )
    del fields["signature"]  # can be large; the version keeps it
    change.record(
        AuditAction.VERSION_CREATE, version=number, after={**fields, "tags": tags}, touch=False
    )
    return ModelVersion(
        name=name,
        version=number,
        source=str(source),
        run_id=source.run_id,
        content_hash=package.content_hash,
        description=description,
        tags=dict(tags),
        signature=package.signature,
        parent_version=parent_version,
        created=change.now,
        updated=change.now,
        created_by=change.actor,
    )


def check_owner_transition(
    name: str, version: int, current: ModelVersionStatus, wanted: ModelVersionStatus
) -> None:
    """Refuse a status change ``update_model_version`` may not make."""
    if wanted == current or wanted in OWNER_TRANSITIONS[current]:
        return
    if wanted in (ModelVersionStatus.APPROVED, ModelVersionStatus.REJECTED):
        raise InvalidArgument(
            f"status: {wanted.value} is a review decision; open a promotion request for "
            f"version {version} of model {name!r} and have another user decide it"
        )
    allowed = ", ".join(sorted(s.value for s in OWNER_TRANSITIONS[current]))
    raise Conflict(
        f"status of version {version} of model {name!r}: cannot go from {current.value} to "
        f"{wanted.value}; from {current.value} it may go to {allowed}"
    )


def change_version(
    change: Change,
    version: int,
    *,
    description: str | None = None,
    status: ModelVersionStatus | None = None,
) -> None:
    """Set a version's description and/or status and audit what changed. The caller has
    checked that the status change is allowed; archiving a version an alias points at is
    refused here."""
    conn, name = change.conn, change.name
    row = require_version(conn, name, version)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if description is not None and description != row.description:
        before["description"], after["description"] = row.description, description
    if status is not None and status.value != row.status:
        if status is ModelVersionStatus.ARCHIVED:
            held = aliases_of(conn, name, version)
            if held:
                raise Conflict(
                    f"version {version} of model {name!r}: aliases {', '.join(held)} point "
                    "at it; move or delete them before archiving it"
                )
        before["status"], after["status"] = row.status, status.value
    if not after:
        return
    conn.execute(
        update(model_versions)
        .where(model_versions.c.name == name, model_versions.c.version == version)
        .values(updated=change.now, **after)
    )
    change.record(AuditAction.VERSION_UPDATE, version=version, before=before, after=after)
