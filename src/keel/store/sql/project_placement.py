"""Placing a new resource (a registered model, a dataset) in the project its creator
names, inside the creating transaction: the project must exist, and a resource that
exists already stays where it is (naming another project is a conflict, not a move)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from keel.entities.access import canonical_name
from keel.errors import Conflict, NotFound
from keel.store.sql.tables import projects


def project_id_named(conn: Connection, project: str | None) -> int | None:
    """The id of the project named ``project`` (``None`` for none named)."""
    if project is None:
        return None
    name = canonical_name(project, "project")
    found = conn.execute(select(projects.c.id).where(projects.c.name == name)).scalar()
    if found is None:
        raise NotFound(f"project {name!r}: no such project")
    return int(found)


def require_placed(conn: Connection, kind: str, name: str, held: int, wanted: int | None) -> None:
    """``Conflict`` when an existing resource (in project ``held``) is named with
    another project: it is moved with ``keel projects move``, never by a write."""
    if wanted is None or held == wanted:
        return
    where = conn.execute(select(projects.c.name).where(projects.c.id == held)).scalar()
    raise Conflict(
        f"project: {kind} {name!r} exists in project {where!r}; leave project out to add "
        f"to it there, or move it first (keel projects move {where} ...)"
    )
