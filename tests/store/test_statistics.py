"""Planner statistics and connection settings of the SQL stores: Keel analyzes after
large writes, and SQLite's page cache stays bounded per connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from conftest import temporary_database
from keel.entities import RunCreate, RunWrite, WriteBatch
from keel.store.sql.analyze import AnalyzeSchedule, estimated_rows
from keel.store.sql.engine import SQLITE_CACHE_KIB
from keel.store.sql.migrate import upgrade
from keel.store.sql.store import SqlTrackingStore
from store.support import new_id, now_ms


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each SQL kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keel.db'}"
        return
    with temporary_database(request.getfixturevalue("postgres_url"), "keel_stats") as url:
        yield url


def has_statistics(engine: Engine, table: str) -> bool:
    """Whether the planner has statistics on ``table``."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            found = "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
            if not conn.execute(text(found)).scalar():
                return False
            query = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = :table"
        else:
            query = "SELECT count(*) FROM pg_stats WHERE tablename = :table"
        return bool(conn.execute(text(query), {"table": table}).scalar())


def batch(experiment_id: str, runs: int) -> WriteBatch:
    """``runs`` new runs of three params each: four rows a run."""
    return WriteBatch(
        new_id(),
        [
            RunWrite(
                new_id(),
                create=RunCreate(experiment_id, f"r{i}", now_ms()),
                params={"a": str(i), "b": "x", "c": "y"},
            )
            for i in range(runs)
        ],
    )


def test_a_store_analyzes_once_it_has_written_many_rows(sql_url: str, tmp_path: Path) -> None:
    store = SqlTrackingStore(sql_url, artifact_root=str(tmp_path), analyze_after_rows=100)
    try:
        upgrade(store.engine)
        exp_id = store.create_experiment("stats")
        store.write(batch(exp_id, 10))  # 40 rows: not yet
        assert not has_statistics(store.engine, "params")
        store.write(batch(exp_id, 20))  # 120 rows in all: analyzed
        assert has_statistics(store.engine, "params")
        assert has_statistics(store.engine, "runs")
        with store.engine.connect() as conn:
            assert estimated_rows(conn) >= 120
        # The store still works on the connections that follow the analysis.
        assert len(store.search_runs([exp_id], "params.b = 'x'").runs) == 30
    finally:
        store.close()


def test_the_schedule_waits_for_the_tables_to_grow(sql_url: str, tmp_path: Path) -> None:
    store = SqlTrackingStore(sql_url, artifact_root=str(tmp_path))
    try:
        upgrade(store.engine)
        exp_id = store.create_experiment("growth")
        store.write(batch(exp_id, 50))  # about 200 rows, under the store's own threshold
        schedule = AnalyzeSchedule(store.engine, min_rows=20, growth=0.5)
        assert not schedule.wrote(19)
        assert schedule.wrote(1)  # 20 rows: the first analysis
        with store.engine.connect() as conn:
            total = estimated_rows(conn)
        assert total >= 200
        # Next time it waits for half as many rows again as the tables hold.
        assert not schedule.wrote(total // 2 - 1)
        assert schedule.wrote(1)
    finally:
        store.close()


def test_sqlite_connections_have_a_bounded_page_cache(tmp_path: Path) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'keel.db'}", artifact_root=str(tmp_path))
    try:
        assert 4 * 1024 <= SQLITE_CACHE_KIB <= 16 * 1024
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB
    finally:
        store.close()
