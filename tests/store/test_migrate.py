"""Schema migrations: applied on open, idempotent, safe when two openers race."""

from __future__ import annotations

import math
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from conftest import temporary_database
from keel.config import Settings
from keel.entities import MetricColumns, RunWrite, WriteBatch
from keel.store import open_store
from keel.store.sql.migrate import HEAD_REVISION, current_revision, is_current, upgrade
from keel.store.sql.store import SqlTrackingStore
from keel.store.sql.tables import metadata

TABLES = set(metadata.tables)


def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"))


def schema(engine) -> tuple[set[str], list[tuple[str]]]:
    """The tables and the alembic_version rows: what a migration changes."""
    with engine.connect() as conn:
        versions = [tuple(row) for row in conn.execute(text("SELECT * FROM alembic_version"))]
    return set(inspect(engine).get_table_names()), versions


def race(opener: Callable[[], object], n: int) -> list[object]:
    """Call ``opener`` from ``n`` threads released at the same moment."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = opener()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_open_store_migrates_a_fresh_sqlite_file(tmp_path) -> None:
    db = tmp_path / "sub" / "keel.db"
    assert not db.exists()
    store = open_store(f"sqlite:///{db}", settings(tmp_path))
    try:
        assert db.exists()
        assert isinstance(store, SqlTrackingStore)
        assert is_current(store.engine)
        tables, versions = schema(store.engine)
        assert tables >= TABLES
        assert versions == [(HEAD_REVISION,)]
        exp_id = store.create_experiment("works")  # usable at once
        assert store.get_experiment(exp_id).name == "works"
    finally:
        store.close()
    # Opening again keeps the data and the schema as they were.
    again = open_store(f"sqlite:///{db}", settings(tmp_path))
    try:
        assert again.get_experiment_by_name("works") is not None
        assert schema(again.engine)[1] == [(HEAD_REVISION,)]
    finally:
        again.close()


def test_open_store_without_migrate_leaves_the_file_alone(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'keel.db'}", settings(tmp_path), migrate=False)
    try:
        assert not is_current(store.engine)
        assert inspect(store.engine).get_table_names() == []
    finally:
        store.close()


def test_upgrade_is_idempotent_and_returns_what_it_found(tmp_path) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'keel.db'}", artifact_root=str(tmp_path))
    engine = store.engine
    try:
        with engine.connect() as conn:
            assert current_revision(conn) is None
        assert upgrade(engine) is None  # found an empty database
        after_first = schema(engine)
        assert after_first[0] >= TABLES
        assert after_first[1] == [(HEAD_REVISION,)]
        store.create_experiment("kept")

        assert upgrade(engine) == HEAD_REVISION
        assert upgrade(engine) == HEAD_REVISION
        assert schema(engine) == after_first
        assert store.get_experiment_by_name("kept") is not None
    finally:
        store.close()


def test_two_threads_opening_a_fresh_sqlite_file(tmp_path) -> None:
    for attempt in range(3):
        db = tmp_path / f"race{attempt}.db"
        results = race(lambda db=db: open_store(f"sqlite:///{db}", settings(tmp_path)), 4)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
        try:
            for i, store in enumerate(results):
                assert is_current(store.engine)
                store.create_experiment(f"from-{i}")
            assert schema(results[0].engine)[1] == [(HEAD_REVISION,)]
            assert results[1].get_experiment_by_name("from-0") is not None
        finally:
            for store in results:
                store.close()


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """An empty database beside the session's one (which other tests have migrated)."""
    with temporary_database(postgres_url, "keel_mig") as url:
        yield url


def test_postgres_fresh_database_raced_then_upgraded_again(tmp_path, fresh_postgres_url) -> None:
    results = race(lambda: open_store(fresh_postgres_url, settings(tmp_path)), 2)
    errors = [r for r in results if isinstance(r, BaseException)]
    try:
        assert not errors, errors
        for i, store in enumerate(results):
            assert is_current(store.engine)
            store.create_experiment(f"from-{i}")
        before = schema(results[0].engine)
        assert before[0] >= TABLES
        assert before[1] == [(HEAD_REVISION,)]
        assert upgrade(results[0].engine) == HEAD_REVISION
        assert schema(results[0].engine) == before
    finally:
        for store in results:
            if not isinstance(store, BaseException):
                store.close()
    # The schema SQLAlchemy would create and the migrated one have the same tables.
    engine = create_engine(fresh_postgres_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def _schema_differences(url: str) -> list[object]:
    """What Alembic's autogenerate finds between a database and the table definitions."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # SQLite's reflection skips expression indexes (the value-prefix ones): they
            # are compared by their DDL in test_both_ways_give_the_same_indexes.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expr")
            return list(compare_metadata(MigrationContext.configure(conn), metadata))
    finally:
        engine.dispose()


def _index_definitions(url: str) -> dict[str, str]:
    """The definition of each index on Keel's tables (and on PostgreSQL, each extended
    statistics object), as the database itself spells it."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name != 'alembic_version'"
        )
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename != 'alembic_version' UNION ALL"
            " SELECT stxname, pg_get_statisticsobjdef(oid) FROM pg_statistic_ext"
        )
    try:
        with engine.connect() as conn:
            return {name: sql for name, sql in conn.execute(text(query))}
    finally:
        engine.dispose()


@pytest.mark.parametrize("from_scratch", [True, False], ids=["create-all", "migrations"])
def test_both_ways_to_a_new_schema_match_the_table_definitions(
    tmp_path, fresh_postgres_url: str, from_scratch: bool
) -> None:
    for url in (f"sqlite:///{tmp_path / 'keel.db'}", fresh_postgres_url):
        engine = SqlTrackingStore(url, artifact_root=str(tmp_path)).engine
        assert upgrade(engine, from_scratch=from_scratch) is None
        with engine.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION
        engine.dispose()
        assert _schema_differences(url) == [], url


def test_both_ways_give_the_same_indexes(tmp_path, postgres_url: str) -> None:
    for backend in ("sqlite", "postgresql"):
        found = []
        for from_scratch in (True, False):
            with temporary_database(postgres_url, "keel_ix") as pg_url:
                url = (
                    pg_url if backend == "postgresql" else f"sqlite:///{tmp_path}/{from_scratch}.db"
                )
                engine = SqlTrackingStore(url, artifact_root=str(tmp_path)).engine
                upgrade(engine, from_scratch=from_scratch)
                engine.dispose()
                found.append(_index_definitions(url))
        assert found[0] == found[1], backend
        # The search indexes (search.py) are there, as the searches spell them.
        assert "start_time DESC, run_uuid" in found[0]["ix_runs_experiment_stage_start"]
        for table in ("params", "tags"):
            definition = found[0][f"ix_{table}_key_value"]
            assert "substr(value, 1, 256)" in definition, definition
            if backend == "postgresql":
                assert "text_pattern_ops" in definition
                assert "substr(value, 1, 256)" in found[0][f"st_{table}_key_value"]


def test_a_schema_newer_than_this_keel_is_refused_clearly(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'keel.db'}"
    open_store(url, settings(tmp_path)).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    from keel.errors import StoreUnavailable

    with pytest.raises(StoreUnavailable, match="newer than this Keel"):
        open_store(url, settings(tmp_path))


def _old_run(engine) -> str:
    """An experiment and a run as an older Keel wrote them (today's store also writes the
    audit log of a later revision)."""
    run_id = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO experiments (experiment_id, name, artifact_location, "
                "lifecycle_stage, creation_time, last_update_time) "
                "VALUES (1, 'old', '/tmp/old', 'active', 1, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO runs (run_uuid, experiment_id, name, status, start_time, "
                "lifecycle_stage, artifact_uri) VALUES (:id, 1, 'r', 'RUNNING', 1, 'active', "
                "'/tmp/old/r')"
            ),
            {"id": run_id},
        )
    return run_id


def test_upgrading_to_0004_derives_the_new_rollup_levels_and_analyzes(
    tmp_path, fresh_postgres_url: str
) -> None:
    """A database from before 0004 has metric rollups at levels 6 and 12 only: the
    upgrade derives levels 9, 15 and 18 from them in SQL, equal to what the store writes,
    and gathers statistics on the migrated tables."""
    rollups = text(
        "SELECT series_id, level, bucket, points, min_value, min_step, min_timestamp,"
        " max_value, max_step, max_timestamp FROM metric_rollups"
        " WHERE level IN (9, 15, 18) ORDER BY level, bucket"
    )
    n = 9_000
    steps = [i * 37 - 100_000 for i in range(n)]  # negative buckets too
    values = [math.sin(i * 0.37) * (1 + i % 11) for i in range(n)]
    for url in (f"sqlite:///{tmp_path / 'old.db'}", fresh_postgres_url):
        store = SqlTrackingStore(url, artifact_root=str(tmp_path))
        try:
            upgrade(store.engine, "0003", from_scratch=False)
            run_id = _old_run(store.engine)
            for lo, hi in ((0, 5_000), (5_000, n)):  # summarised, then merged
                cols = MetricColumns(
                    ["m"] * (hi - lo), values[lo:hi], list(range(lo, hi)), steps[lo:hi]
                )
                store.write(WriteBatch(uuid.uuid4().hex, [RunWrite(run_id, metrics=cols)]))
            with store.engine.begin() as conn:
                written = [tuple(row) for row in conn.execute(rollups)]
                conn.execute(text("DELETE FROM metric_rollups WHERE level IN (9, 15, 18)"))
            assert {row[1] for row in written} == {9, 15, 18}
            assert upgrade(store.engine) == "0003"
            with store.engine.connect() as conn:
                assert [tuple(row) for row in conn.execute(rollups)] == written, url
                if store.engine.dialect.name == "sqlite":
                    analyzed = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'runs'"
                else:
                    analyzed = "SELECT count(*) FROM pg_stats WHERE tablename = 'runs'"
                assert conn.execute(text(analyzed)).scalar(), url
        finally:
            store.close()
