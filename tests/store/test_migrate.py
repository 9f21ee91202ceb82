"""Schema migrations: applied on open, idempotent, safe when two openers race."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from conftest import temporary_database
from keel.config import Settings
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
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata))
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
