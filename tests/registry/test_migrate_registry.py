"""A database made by the tracking-only Keel (revision 0001) upgrades to the registry
schema and keeps its data; the registry then works on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import temporary_database
from keel.artifacts.repository import RunArtifacts
from keel.config import Settings
from keel.store import open_registry, open_store
from keel.store.sql.migrate import HEAD_REVISION, current_revision, upgrade
from keel.store.sql.store import SqlTrackingStore
from registry.support import HASH, MANIFEST, OWNER


def check_upgrade(url: str, tmp_path: Path) -> None:
    tracking = SqlTrackingStore(url, artifact_root=str(tmp_path / "a"))
    assert upgrade(tracking.engine, "0001") is None
    # Rows as the Keel of 0001 wrote them: today's store also writes the audit log.
    run_id = "0" * 31 + "1"
    with tracking.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO experiments (experiment_id, name, artifact_location, "
                "lifecycle_stage, creation_time, last_update_time) "
                "VALUES (1, 'before', :loc, 'active', 1, 1)"
            ),
            {"loc": str(tmp_path / "a" / "1")},
        )
        conn.execute(
            text(
                "INSERT INTO runs (run_uuid, experiment_id, name, status, start_time, "
                "lifecycle_stage, artifact_uri) VALUES (:id, 1, 'r', 'RUNNING', 1, 'active', :uri)"
            ),
            {"id": run_id, "uri": str(tmp_path / "a" / "1" / run_id / "artifacts")},
        )
    RunArtifacts(tracking).upload_stream(run_id, "model/keel-model.json", [MANIFEST])
    tracking.close()

    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "a"))
    registry = open_registry(url, settings)  # upgrades 0001 -> head
    store = open_store(url, settings)
    try:
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            assert current_revision(conn) == HEAD_REVISION
        assert store.get_run(run_id).info.run_name == "r"
        registry.create_registered_model("fraud", actor=OWNER)
        made = registry.create_model_version("fraud", f"runs:/{run_id}/model", actor=OWNER)
        assert (made.version, made.content_hash) == (1, HASH)
    finally:
        registry.close()
        store.close()


def test_sqlite_upgrade_from_0001(tmp_path: Path) -> None:
    check_upgrade(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path)


def test_postgres_upgrade_from_0001(tmp_path: Path, postgres_url: str) -> None:
    with temporary_database(postgres_url, "keel_reg") as url:
        check_upgrade(url, tmp_path)


@pytest.mark.parametrize("revision", ["0001", "0002"])
def test_revisions_are_known(revision: str) -> None:
    from keel.store.sql.migrate import REVISIONS

    assert revision in REVISIONS
