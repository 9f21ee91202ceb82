"""Planner statistics, kept current by Keel.

Neither database keeps them on its own here: SQLite never gathers them, and PostgreSQL
relies on autovacuum, which may be off. Without them a search over a million runs can
pick a plan a hundred times slower (a hash join, or a sort of every run, instead of a
walk down an index). So Keel runs ``ANALYZE`` after migrations (:func:`analyze`) and
whenever this process has written many rows since the last time (:class:`AnalyzeSchedule`):
at least ``min_rows``, and a share (``growth``) of the rows the searched tables held then.

PostgreSQL samples (30,000 rows a table at the default statistics target): 2 s for the
searched tables at a million runs, without blocking readers or writers. SQLite reads
every entry of what it analyzes, under the write lock, so Keel analyzes only the indexes
that searches choose between (``SQLITE_INDEXES``: 2 s at a million runs, where the whole
tables take 13 s) and waits for more growth between analyses. Its sampling mode (``PRAGMA
analysis_limit``) will not do: it reads the first entries of an index, all one key of the
``(key, value)`` indexes, and so counts a few thousand rows a key where there are
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
SQLITE_INDEXES = (
    "ix_runs_experiment_stage_start",
    "ix_params_key_value",
    "ix_tags_key_value",
    "ix_metric_series_key_value",
)
"""The indexes a search may be driven from, on SQLite: the rest are read by key."""
ANALYZE_MIN_ROWS = 100_000
ANALYZE_GROWTH = 0.2
SQLITE_GROWTH = 0.5

log = logging.getLogger(__name__)


def analyze(conn: Connection) -> None:
    """Refresh the searched tables' statistics, inside the caller's transaction."""
    if conn.dialect.name == "sqlite":
        for index in SQLITE_INDEXES:
            conn.exec_driver_sql(f"ANALYZE {index}")
    else:
        conn.exec_driver_sql(f"ANALYZE {', '.join(SEARCHED_TABLES)}")


def estimated_rows(conn: Connection) -> int:
    """The searched tables' rows, as their statistics last counted them."""
    total = 0
    if conn.dialect.name == "sqlite":
        # The first number of an index's stat is the table's rows; a table is counted once.
        found: dict[str, int] = {}
        for table, stat in conn.execute(text("SELECT tbl, stat FROM sqlite_stat1")):
            if table in SEARCHED_TABLES and stat:
                found[table] = max(found.get(table, 0), int(str(stat).split()[0]))
        return sum(found.values())
    for table in SEARCHED_TABLES:
        rows = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"),
            {"name": table},
        ).scalar()
        total += max(int(rows or 0), 0)
    return total


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


def analyze_now(engine: Engine) -> int:
    """Analyze in a transaction of its own; returns the rows the statistics count.

    SQLite loads statistics when a connection opens and does not notice another
    connection's ``ANALYZE``, so the idle pooled connections are replaced."""
    with write_transaction(engine) as conn:
        analyze(conn)
        rows = estimated_rows(conn)
    if is_sqlite(engine):
        engine.dispose()
    return rows


class AnalyzeSchedule:
    """Counts the rows this process writes to the searched tables and analyzes when they
    are many: the store calls ``wrote(searched_rows(batch))`` after each write batch, and
    a bulk loader may call it with what it loaded. Returns True when it analyzed."""

    def __init__(
        self,
        engine: Engine,
        *,
        min_rows: int = ANALYZE_MIN_ROWS,
        growth: float | None = None,
    ) -> None:
        self.engine = engine
        self.min_rows = min_rows
        self.growth = growth or (SQLITE_GROWTH if is_sqlite(engine) else ANALYZE_GROWTH)
        self._lock = threading.Lock()
        self._written = 0
        self._due_at = min_rows

    def wrote(self, rows: int) -> bool:
        with self._lock:
            self._written += rows
            if self._written < self._due_at:
                return False
            self._written = 0  # one writer analyzes; the others carry on counting
        try:
            total = analyze_now(self.engine)
        except Exception as exc:  # statistics are an optimisation: never fail a write
            log.warning("ANALYZE of %s failed: %s", self.engine.url, exc)
            return False
        with self._lock:
            self._due_at = max(self.min_rows, int(self.growth * total))
        return True
