"""Planner statistics and connection settings of the SQL stores: Keel analyzes when the
searched tables have outgrown their statistics, and SQLite's page cache stays bounded per
connection.

PostgreSQL counts modified rows in its statistics system, which a backend reports a
moment after its transaction (up to seconds later): its checks here wait for them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from conftest import temporary_database
from keel.config import Settings
from keel.entities import MetricColumns, RunCreate, RunWrite, WriteBatch
from keel.store import open_store
from keel.store.sql.analyze import AnalyzeSchedule, analyze_if_stale, is_stale, searched_rows
from keel.store.sql.engine import SQLITE_CACHE_KIB, make_engine
from keel.store.sql.migrate import upgrade
from keel.store.sql.store import SqlTrackingStore
from store.support import new_id, now_ms


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each SQL kind, with Keel's schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'keel.db'}"
        _migrated(url)
        yield url
        return
    with temporary_database(request.getfixturevalue("postgres_url"), "keel_stats") as url:
        _migrated(url)
        yield url


def _migrated(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


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


def eventually(check: Callable[[], bool], engine: Engine) -> bool:
    """``check()``, retried on PostgreSQL while its counts of modified rows catch up."""
    deadline = time.monotonic() + (20 if engine.dialect.name == "postgresql" else 0)
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def batch(experiment_id: str, runs: int) -> WriteBatch:
    """``runs`` new runs of three params each: four rows a run in the searched tables."""
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


def test_rows_counted_are_those_of_the_searched_tables() -> None:
    metrics = MetricColumns(["m"] * 500 + ["n"] * 500, [1.0] * 1000, [1] * 1000, list(range(1000)))
    write = RunWrite(new_id(), params={"a": "1"}, tags={"t": "x", "u": "y"}, metrics=metrics)
    # One param, two tags and two metric series, however many points.
    assert searched_rows(WriteBatch(new_id(), [write])) == 5
    assert searched_rows(batch("1", 10)) == 40


def test_a_store_analyzes_when_its_writes_outgrow_the_statistics(
    sql_url: str, tmp_path: Path
) -> None:
    engine = make_engine(sql_url)
    schedule = AnalyzeSchedule(engine, check_every=100, min_rows=100)
    store = SqlTrackingStore(engine, artifact_root=str(tmp_path), statistics=schedule)
    try:
        exp_id = store.create_experiment("stats")
        store.write(batch(exp_id, 10))  # 40 rows: not looked yet
        assert not has_statistics(engine, "params")
        store.write(batch(exp_id, 40))  # 200 rows: the store looks, and they are stale
        assert eventually(lambda: has_statistics(engine, "params") or schedule.wrote(100), engine)
        assert has_statistics(engine, "runs")
        with engine.connect() as conn:
            assert not is_stale(conn, min_rows=100)
        # The store works on the connections that follow the analysis.
        assert len(store.search_runs([exp_id], "params.b = 'x'").runs) == 50
    finally:
        store.close()


def test_statistics_are_stale_once_a_table_grows_by_a_share(sql_url: str, tmp_path: Path) -> None:
    engine = make_engine(sql_url)
    store = SqlTrackingStore(
        engine, artifact_root=str(tmp_path), statistics=AnalyzeSchedule(engine, check_every=10**9)
    )
    try:
        exp_id = store.create_experiment("growth")
        store.write(batch(exp_id, 250))  # 750 params
        assert eventually(lambda: analyze_if_stale(engine, min_rows=100, share=0.5), engine)
        assert not analyze_if_stale(engine, min_rows=100, share=0.5)
        store.write(batch(exp_id, 100))  # 300 more params: under half as many again
        with engine.connect() as conn:
            assert not is_stale(conn, min_rows=100, share=0.5)
        store.write(batch(exp_id, 100))  # 600 more: over
        assert eventually(lambda: analyze_if_stale(engine, min_rows=100, share=0.5), engine)
    finally:
        store.close()


def test_opening_a_store_refreshes_stale_statistics(sql_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"))
    engine = make_engine(sql_url)
    writer = SqlTrackingStore(
        engine, artifact_root=str(tmp_path), statistics=AnalyzeSchedule(engine, check_every=10**9)
    )
    try:
        exp_id = writer.create_experiment("opened")
        for _ in range(7):
            writer.write(batch(exp_id, 500))  # 10,500 params, written without a look
        assert not has_statistics(engine, "params")
    finally:
        writer.close()

    def opened() -> bool:
        open_store(sql_url, settings).close()
        return has_statistics(engine, "params")

    assert eventually(opened, engine)
    engine.dispose()


def test_sqlite_connections_have_a_bounded_page_cache(tmp_path: Path) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'keel.db'}", artifact_root=str(tmp_path))
    try:
        assert 4 * 1024 <= SQLITE_CACHE_KIB <= 16 * 1024
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB
    finally:
        store.close()
