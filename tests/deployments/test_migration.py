"""Migration 0009_deployments on a store at 0008 that holds data: the deployment tables
appear, nothing else changes, and downgrading removes them again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import temporary_database
from keel.config import Settings
from keel.entities.deployment import TrafficPolicy
from keel.store import open_backend
from keel.store.sql.migrate import upgrade
from keel.store.sql.store import SqlTrackingStore
from registry.test_migrate_registry import _downgrade


def test_upgrade_and_downgrade_on_sqlite(tmp_path: Path) -> None:
    check(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path)


def test_upgrade_and_downgrade_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    with temporary_database(postgres_url, "keel_deploy_mig") as url:
        check(url, tmp_path)


def check(url: str, tmp_path: Path) -> None:
    engine = SqlTrackingStore(url, artifact_root=str(tmp_path)).engine
    upgrade(engine, "0008_project_quota", from_scratch=False)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO registered_models (name, description, created, updated, "
                "last_version, name_key) VALUES ('m', '', 1, 1, 0, 'm')"
            )
        )
    assert upgrade(engine) == "0008_project_quota"
    with open_backend(url, Settings(home=tmp_path)) as backend:
        store = backend.deployment_store
        made = store.create_deployment("api", TrafficPolicy.single("models:/m/1"), actor="o")
        assert store.get_deployment("api") == made
        assert backend.registry.get_registered_model("m").name == "m"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT project_id FROM deployments")).all() == [(1,)]
    _downgrade(engine, "0008_project_quota")
    with engine.connect() as conn, pytest.raises(Exception, match="deployments"):
        conn.execute(text("SELECT 1 FROM deployments"))
    engine.dispose()
