"""Moving an alias: the one place that checks a version may take it (its status, the
alias's policy) and writes the move with its audit record, inside the caller's
transaction. ``set_alias`` and approving a promotion request both come through here.

An alias guarded by a policy (one requiring at least one check) moves only through an
approved promotion request, and only to an APPROVED version: a direct ``set_alias`` or
``delete_alias`` of it is Forbidden, whoever asks, since recording a check is not a review.

Every registry write locks its model's row first (``lock_model``), so writes to one model
are serialised on PostgreSQL as SQLite's write lock serialises all writes: version numbers
are handed out once, and a policy is judged against the check results as they stand when
the alias moves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, update

from keel.entities.registry import ALIASABLE, AuditAction, ModelVersionStatus
from keel.errors import Conflict, Forbidden, NotFound
from keel.store.sql.audit import Change
from keel.store.sql.checks import replace_policy, required_checks, unmet_checks
from keel.store.sql.tables import model_aliases, model_versions, registered_models


def lock_model(conn: Connection, name: str) -> Any:
    """The model's row, locked until the transaction ends; NotFound if there is none."""
    row = conn.execute(
        select(registered_models).where(registered_models.c.name == name).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"model {name!r}: no such model")
    return row


def require_version(conn: Connection, name: str, version: int) -> Any:
    mv = model_versions.c
    row = conn.execute(select(model_versions).where(mv.name == name, mv.version == version)).first()
    if row is None:
        raise NotFound(f"version {version} of model {name!r}: no such version")
    return row


def aliases_of(conn: Connection, name: str, version: int | None = None) -> dict[str, int]:
    """alias -> version for the model, or only those pointing at ``version``."""
    a = model_aliases.c
    query = select(a.alias, a.version).where(a.name == name)
    if version is not None:
        query = query.where(a.version == version)
    return {alias: v for alias, v in conn.execute(query.order_by(a.alias))}


def guarded_refusal(name: str, alias: str, checks: list[str], what: str) -> Forbidden:
    return Forbidden(
        f"alias {alias!r} of model {name!r}: is guarded by a policy (requires "
        f"{', '.join(checks)}), so it cannot be {what} directly; request a promotion "
        "(keel models promote request, or client.registry.request_promotion) and have "
        "another user approve it"
    )


def move_alias(change: Change, alias: str, version: int, *, approved: bool = False) -> bool:
    """Point ``alias`` at ``version``. Returns whether it moved. ``approved``: the move is
    the outcome of an approved promotion request, the only way a guarded alias moves."""
    conn, name = change.conn, change.name
    row = require_version(conn, name, version)
    status = ModelVersionStatus(row.status)
    guard = required_checks(conn, name, alias)
    if guard and not approved:
        raise guarded_refusal(name, alias, guard, "moved")
    if guard and status is not ModelVersionStatus.APPROVED:
        raise Conflict(
            f"alias {alias!r} of model {name!r}: is guarded by a policy and version "
            f"{version} is {status.value}; only an APPROVED version takes it"
        )
    if status not in ALIASABLE:
        raise Conflict(
            f"alias {alias!r} of model {name!r}: version {version} is {status.value}; "
            "only PENDING_REVIEW or APPROVED versions take an alias"
        )
    unmet = unmet_checks(conn, name, alias, version)
    if unmet:
        raise Conflict(
            f"alias {alias!r} of model {name!r}: version {version} has not passed the "
            f"checks the alias requires: {', '.join(unmet)}"
        )
    a = model_aliases.c
    where = (a.name == name) & (a.alias == alias)
    before = conn.execute(select(a.version).where(where)).scalar_one_or_none()
    if before == version:
        return False
    if before is None:
        conn.execute(
            model_aliases.insert().values(
                name=name, alias=alias, version=version, updated=change.now
            )
        )
    else:
        conn.execute(update(model_aliases).where(where).values(version=version, updated=change.now))
    change.record(
        AuditAction.ALIAS_SET,
        version=version,
        alias=alias,
        before={"version": before},
        after={"version": version},
    )
    return True


def guard_alias(change: Change, alias: str, required: list[str]) -> None:
    """Make ``required`` the alias's policy (empty lifts it). Guarding an alias that points
    at a version not APPROVED is a Conflict: a guarded alias never holds one."""
    if required:
        current = aliases_of(change.conn, change.name).get(alias)
        if current is not None:
            status = ModelVersionStatus(require_version(change.conn, change.name, current).status)
            if status is not ModelVersionStatus.APPROVED:
                raise Conflict(
                    f"alias {alias!r} of model {change.name!r}: points at version {current}, "
                    f"which is {status.value}; a guarded alias holds only an APPROVED version, "
                    "so promote that version through a review (or delete the alias) first"
                )
    replace_policy(change, alias, required)


def remove_alias(change: Change, alias: str) -> None:
    a = model_aliases.c
    where = (a.name == change.name) & (a.alias == alias)
    before = change.conn.execute(select(a.version).where(where)).scalar_one_or_none()
    if before is None:
        raise NotFound(f"alias {alias!r} of model {change.name!r}: no such alias")
    guard = required_checks(change.conn, change.name, alias)
    if guard:
        raise guarded_refusal(change.name, alias, guard, "deleted")
    change.conn.execute(delete(model_aliases).where(where))
    change.record(AuditAction.ALIAS_DELETE, version=before, alias=alias, before={"version": before})
