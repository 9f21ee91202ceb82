"""Schema migrations with Alembic: checked cheaply on open, applied under a lock.

Opening a store reads ``alembic_version`` with one query and imports Alembic only when the
schema is behind. An empty database gets the current schema from the table definitions in
one step and is stamped with the head revision (Alembic's own recipe for a new database;
a test proves the two paths give the same schema). Two processes opening a new database at
once are serialised (SQLite's write lock, PostgreSQL's advisory lock), so the second finds
the work done. Statistics are gathered after migrating to the head (a migrated database
may hold many runs that the planner has never counted) and refreshed on opening when
they are stale (``analyze.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from keel.errors import StoreUnavailable
from keel.store.sql.analyze import analyze, analyze_if_stale
from keel.store.sql.engine import is_sqlite, write_transaction

REVISIONS = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005_access",
    "0006_audit",
    "0007_name_keys",
    "0008_project_quota",
    "0009_deployments",
    "0010_monitors",
)
"""Every revision this Keel knows, oldest first."""
HEAD_REVISION = REVISIONS[-1]
_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_ID = 0x6B65656C  # "keel"

log = logging.getLogger(__name__)


def _has_table(conn: Connection, name: str) -> bool:
    if conn.dialect.name == "sqlite":
        probe = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name")
    else:
        probe = text("SELECT to_regclass(:name)")
    return conn.execute(probe, {"name": name}).scalar() is not None


def current_revision(conn: Connection) -> str | None:
    if not _has_table(conn, "alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return current_revision(conn) == HEAD_REVISION


def upgrade(engine: Engine, revision: str = "head", *, from_scratch: bool = True) -> str | None:
    """Bring the schema to ``revision``; returns the revision it found before. With
    ``from_scratch`` an empty database is built from the table definitions directly."""
    with write_transaction(engine) as conn:
        if not is_sqlite(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        before = current_revision(conn)
        if before is not None and before not in REVISIONS:
            raise StoreUnavailable(
                f"database {engine.url!r}: its schema revision {before!r} is newer than this "
                f"Keel knows ({HEAD_REVISION}); upgrade Keel to use it"
            )
        if revision == "head" and before == HEAD_REVISION:
            return before
        empty = before is None and not _has_table(conn, "experiments")
        if from_scratch and revision == "head" and empty:
            _create_current_schema(conn)
            return None
        _run_alembic(conn, revision)
        if revision == "head":
            analyze(conn)
        return before


def _create_current_schema(conn: Connection) -> None:
    from keel.store.sql.tables import metadata

    metadata.create_all(conn)
    conn.execute(
        text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    )
    conn.execute(text("INSERT INTO alembic_version VALUES (:rev)"), {"rev": HEAD_REVISION})


def _run_alembic(conn: Connection, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the schema if needed; fail clearly if it is ahead of this Keel.
    Then refresh the planner's statistics if the tables have outgrown them."""
    try:
        current = is_current(engine)
    except Exception as exc:
        raise StoreUnavailable(f"database {engine.url!r}: cannot connect ({exc})") from None
    if not current:
        upgrade(engine)
    try:
        analyze_if_stale(engine)
    except Exception as exc:  # statistics are an optimisation: the store opens without
        log.warning("ANALYZE of %s failed: %s", engine.url, exc)
