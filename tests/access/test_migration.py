"""Migration 0005_access on a store that already holds experiments, models and datasets:
everything lands in the default project, and nothing else changes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from conftest import temporary_database
from keel.access.service import AccessService
from keel.config import Settings
from keel.store import open_backend
from keel.store.sql.migrate import HEAD_REVISION, upgrade
from keel.store.sql.store import SqlTrackingStore


def test_existing_resources_are_backfilled_into_the_default_project(tmp_path: Path) -> None:
    check_backfill(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path)


def test_the_backfill_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    with temporary_database(postgres_url, "keel_access_mig") as url:
        check_backfill(url, tmp_path)
        with open_backend(url, Settings(home=tmp_path)) as backend:  # the sequence moved on
            assert AccessService(backend.access).create_project("next").id == 2


def check_backfill(url: str, tmp_path: Path) -> None:
    engine = SqlTrackingStore(url, artifact_root=str(tmp_path)).engine
    upgrade(engine, "0004", from_scratch=False)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                "creation_time, last_update_time) VALUES ('old', '/a', 'active', 1, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO registered_models (name, description, created, updated, "
                "last_version) VALUES ('m', '', 1, 1, 0)"
            )
        )
    assert upgrade(engine) == "0004"
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
        )
        assert conn.execute(text("SELECT id, name FROM projects")).all() == [(1, "default")]
        assert conn.execute(text("SELECT project_id FROM experiments")).all() == [(1,)]
        assert conn.execute(text("SELECT project_id FROM registered_models")).all() == [(1,)]
    engine.dispose()
    with open_backend(url, Settings(home=tmp_path)) as backend:
        assert backend.access.has_principals() is False  # an upgraded store stays open
        assert backend.tracking.get_experiment_by_name("old") is not None
