"""Planner statistics, kept current by Keel.

Neither database keeps them on its own here: SQLite never gathers them, and PostgreSQL
relies on autovacuum, which may be off. Without them a search over a million runs can
pick a plan a hundred times slower (a hash join, or a sort of every run, instead of a
walk down an index), and with none at all PostgreSQL may take a hundred thousand runs
for two and join them in a loop.

So Keel looks whether they are stale (:func:`analyze_if_stale`) when it opens a store
(``migrate.ensure_schema``), after migrating, and after every ``check_every`` rows a
store writes (:class:`AnalyzeSchedule`). Stale means that a searched table has grown by
at least ``min_rows`` rows and a share (``growth``) of what it held at the last analysis,
as the database counts it, so that writes from every process count, short-lived ones
included: ``n_mod_since_analyze`` on PostgreSQL, on SQLite the highest rowid against the
row count in ``sqlite_stat1``. Looking costs one small query.

PostgreSQL samples (30,000 rows a table at the default statistics target): 2 s for the
searched tables at a million runs, without blocking readers or writers. SQLite reads
every entry of what it analyzes, under the write lock, so Keel analyzes only the indexes
that searches choose between (``SQLITE_INDEXES``: 2 s at a million runs, where the whole
tables take 13 s) and waits for more growth. Its sampling mode (``PRAGMA
analysis_limit``) will not do: it reads the first entries of an index, all one key of the
``(key, value)`` indexes, so it counts a few thousand rows a key where there are
millions, and the plans go wrong.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, Engine, text

from keel.entities import WriteBatch
from keel.store.sql.engine import is_sqlite, write_transaction

SEARCHED_TABLES = ("experiments", "runs", "params", "tags", "metric_series")
"""The tables whose statistics steer search plans (points and rollups are read by key)."""
SQLITE_INDEXES = {
    "runs": "ix_runs_experiment_stage_start",
    "params": "ix_params_key_value",
    "tags": "ix_tags_key_value",
    "metric_series": "ix_metric_series_key_value",
}
"""The indexes a search may be driven from, on SQLite, by table: the rest are read by key."""
MIN_ROWS = 10_000
GROWTH = 0.2
SQLITE_GROWTH = 0.5
CHECK_EVERY = 10_000
_PG_LOCK_ID = 0x6B65656C + 1  # beside migrate.py's lock

log = logging.getLogger(__name__)


def analyze(conn: Connection) -> None:
    """Refresh the searched tables' statistics, inside the caller's transaction."""
    if conn.dialect.name == "sqlite":
        for index in SQLITE_INDEXES.values():
            conn.exec_driver_sql(f"ANALYZE {index}")
    else:
        conn.exec_driver_sql(f"ANALYZE {', '.join(SEARCHED_TABLES)}")


def growth(conn: Connection) -> dict[str, tuple[int, int]]:
    """Per searched table: (rows at the last analysis, rows added or changed since)."""
    if conn.dialect.name == "sqlite":
        counted: dict[str, int] = {}
        if conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
        ).first():
            for index, stat in conn.exec_driver_sql("SELECT idx, stat FROM sqlite_stat1"):
                counted[index] = int(str(stat).split()[0]) if stat else 0
        found = {}
        for table, index in SQLITE_INDEXES.items():
            # The highest rowid is the rows ever inserted (less any deleted): log n to read.
            now = conn.exec_driver_sql(f"SELECT max(rowid) FROM {table}").scalar() or 0
            then = counted.get(index, 0)
            found[table] = (then, max(0, int(now) - then))
        return found
    rows = conn.execute(
        text(
            "SELECT s.relname, c.reltuples, s.n_mod_since_analyze FROM pg_stat_user_tables s"
            " JOIN pg_class c ON c.oid = s.relid"
            " WHERE s.schemaname = current_schema() AND s.relname = ANY(:tables)"
        ),
        {"tables": list(SEARCHED_TABLES)},
    )
    return {name: (max(0, int(then)), int(since)) for name, then, since in rows}


def is_stale(conn: Connection, *, min_rows: int = MIN_ROWS, share: float | None = None) -> bool:
    """Whether a searched table has grown by ``min_rows`` and by ``share`` of its rows at
    the last analysis (by default 20%, 50% on SQLite) since then."""
    if share is None:
        share = SQLITE_GROWTH if conn.dialect.name == "sqlite" else GROWTH
    return any(since >= max(min_rows, share * then) for then, since in growth(conn).values())


def analyze_if_stale(
    engine: Engine, *, min_rows: int = MIN_ROWS, share: float | None = None
) -> bool:
    """Analyze if the statistics are stale; True if it did. Processes that look at once
    take turns (the write lock, an advisory lock) and the later ones find it done.

    SQLite loads statistics when a connection opens and does not notice another
    connection's ``ANALYZE``, so after one the idle pooled connections are replaced."""
    with engine.connect() as conn:
        if not is_stale(conn, min_rows=min_rows, share=share):
            return False
    with write_transaction(engine) as conn:
        if not is_sqlite(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        if not is_stale(conn, min_rows=min_rows, share=share):
            return False
        analyze(conn)
    if is_sqlite(engine):
        engine.dispose()
    return True


def searched_rows(batch: WriteBatch) -> int:
    """The rows a batch adds to or changes in the searched tables: a run, its params and
    tags, one a metric it logs (its series' latest value), however many points."""
    return sum(
        (w.create is not None)
        + len(w.params)
        + len(w.tags)
        + (len(set(w.metrics.keys)) if w.metrics.keys else 0)
        for w in batch.runs
    )


class AnalyzeSchedule:
    """Looks whether the statistics are stale after every ``check_every`` rows this
    process writes to the searched tables: the store calls ``wrote(searched_rows(batch))``
    after each write batch. Returns True when it analyzed."""

    def __init__(
        self,
        engine: Engine,
        *,
        check_every: int = CHECK_EVERY,
        min_rows: int = MIN_ROWS,
        share: float | None = None,
    ) -> None:
        self.engine = engine
        self.check_every = check_every
        self.min_rows = min_rows
        self.share = share
        self._lock = threading.Lock()
        self._written = 0

    def wrote(self, rows: int) -> bool:
        with self._lock:
            self._written += rows
            if self._written < self.check_every:
                return False
            self._written = 0  # one writer looks; the others carry on counting
        try:
            return analyze_if_stale(self.engine, min_rows=self.min_rows, share=self.share)
        except Exception as exc:  # statistics are an optimisation: never fail a write
            log.warning("ANALYZE of %s failed: %s", self.engine.url, exc)
            return False
