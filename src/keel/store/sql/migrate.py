"""Schema migrations with Alembic: checked cheaply on open, applied under a lock.

Opening a store reads ``alembic_version`` with one query and imports Alembic only when the
schema is behind. Two processes opening a new database at once are serialised (SQLite's
write lock, PostgreSQL's advisory lock), so the second finds the work done.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, text

from keel.errors import StoreUnavailable
from keel.store.sql.engine import is_sqlite, write_transaction

HEAD_REVISION = "0001"
_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_ID = 0x6B65656C  # "keel"


def current_revision(conn: Connection) -> str | None:
    if conn.dialect.name == "sqlite":
        probe = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    else:
        probe = "SELECT to_regclass('alembic_version')"
    if conn.execute(text(probe)).scalar() is None:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return current_revision(conn) == HEAD_REVISION


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision``; returns the revision it found before."""
    from alembic import command
    from alembic.config import Config

    with write_transaction(engine) as conn:
        if not is_sqlite(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        before = current_revision(conn)
        if before == HEAD_REVISION and revision == "head":
            return before
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        return before


def ensure_schema(engine: Engine) -> None:
    """Upgrade the schema if it is behind; fail clearly if it is ahead of this Keel."""
    try:
        if is_current(engine):
            return
    except Exception as exc:
        raise StoreUnavailable(f"database {engine.url!r}: cannot connect ({exc})") from None
    upgrade(engine)
