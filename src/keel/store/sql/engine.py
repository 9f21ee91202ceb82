"""Engines for SQLite and PostgreSQL, tuned for many concurrent writers.

SQLite runs in WAL mode (readers never block the writer) with a long busy timeout, and
every write transaction starts with ``BEGIN IMMEDIATE``: a writer takes the lock up front
and waits its turn, instead of failing with "database is locked" when two deferred
transactions both try to upgrade. ``synchronous=NORMAL`` in WAL mode survives a killed
process (what the server must survive); set ``KEEL_SQLITE_SYNCHRONOUS=FULL`` semantics by
passing ``durable=True`` for power-loss durability at a cost.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, QueuePool

from keel.errors import InvalidArgument
from keel.extras import require

SQLITE_BUSY_TIMEOUT_MS = 60_000
SQLITE_CACHE_KIB = 16 * 1024
"""Each pooled connection's page cache. Each connection has its own, so a server's memory
grows with it times the connections open: 16 MiB keeps that to 64 MiB for the pool's 4
and 320 MiB at its peak of 20 (it was 64 MiB, up to 1.25 GiB). A search reads a few
thousand pages (index ranges, not tables), and the OS page cache, shared by every
connection, holds the file: at a million runs 8, 16 and 64 MiB gave searches within
their noise of each other (``bench/search_scale.py``)."""
_WRITE = "keel_write"


def now_ms() -> int:
    """The time rows are stamped with: milliseconds since the epoch, this machine's clock."""
    return int(time.time() * 1000)


def make_engine(url: str, *, durable: bool = False) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise InvalidArgument(f"tracking URI {url!r}: not a database URL ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database, durable=durable)
    if backend == "postgresql":
        if parsed.get_driver_name() == "psycopg":
            require("psycopg", extra="postgres", purpose=f"A PostgreSQL store ({parsed.host})")
        return create_engine(
            url,
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=8,
            pool_pre_ping=True,
            future=True,
        )
    raise InvalidArgument(
        f"tracking URI {url!r}: unsupported database {backend!r}; use sqlite or postgresql"
    )


def _sqlite_engine(url: str, database: str | None, *, durable: bool) -> Engine:
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        poolclass=QueuePool if database and database != ":memory:" else NullPool,
        pool_size=4,
        max_overflow=16,
        future=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how each transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _set_wal(cur)
        cur.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA case_sensitive_like=ON")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _set_wal(cur: Any) -> None:
    """Switch to WAL. Changing the journal mode of a file another connection is creating
    fails at once with "database is locked" (SQLite does not wait for that lock), so on a
    brand-new file this retries until the other connection is done."""
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: takes SQLite's write lock at the start."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A consistent snapshot for a read of several statements."""
    with engine.connect() as conn, conn.begin():
        yield conn
