"""A database made by the tracking-only Keel (revision 0001) upgrades to the registry
schema and keeps its data; the registry then works on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from conftest import temporary_database
from keel.artifacts.store import ArtifactStore
from keel.config import Settings
from keel.store import open_registry, open_store
from keel.store.sql.migrate import HEAD_REVISION, current_revision, upgrade
from keel.store.sql.store import SqlTrackingStore
from keel.store.sql.tables import artifacts
from registry.support import HASH, MANIFEST, OWNER


def check_upgrade(url: str, tmp_path: Path) -> None:
    tracking = SqlTrackingStore(url, artifact_root=str(tmp_path / "a"))
    assert upgrade(tracking.engine, "0001") is None
    # Rows as the Keel of 0001 wrote them: today's store also writes the audit log, and
    # today's RunArtifacts also asks the registry's tables whether a path is a model's.
    run_id = "0" * 31 + "1"
    root = tmp_path / "a" / "1" / run_id / "artifacts"
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
            {"id": run_id, "uri": str(root)},
        )
    info = ArtifactStore(str(root)).write_bytes("model/keel-model.json", MANIFEST)
    with tracking.engine.begin() as conn:
        conn.execute(
            artifacts.insert().values(
                run_uuid=run_id, path=info.path, size=info.file_size, digest=info.digest,
                created=0,
            )
        )  # fmt: skip
    tracking.close()

    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "a"))
    registry = open_registry(url, settings)  # upgrades 0001 -> head
    store = open_store(url, settings)
    try:
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            assert current_revision(conn) == HEAD_REVISION
        assert store.get_run(run_id).info.run_name == "r"
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            used = conn.execute(text("SELECT used_bytes FROM projects")).scalar_one()
        assert used == len(MANIFEST)  # 0007 counted what was stored
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


def _downgrade(engine: Any, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from keel.store.sql import migrate

    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(migrate._MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def check_audit_upgrade(url: str, tmp_path: Path) -> None:
    """0004 -> 0006_audit: the registry's records become ``model`` records of the shared
    log, new ids follow theirs, and the triggers guard the migrated table too."""
    tracking = SqlTrackingStore(url, artifact_root=str(tmp_path / "a"))
    upgrade(tracking.engine, "0004", from_scratch=False)
    with tracking.engine.begin() as conn:
        for i in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO audit_log (id, at, actor, action, model_name, version, alias, "
                    "before, after) VALUES (:id, :at, 'olive', 'model.create', 'fraud', NULL, "
                    'NULL, NULL, \'{"description": ""}\')'
                ),
                {"id": i, "at": 1000 + i},
            )
    tracking.close()

    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "a"))
    registry = open_registry(url, settings)  # upgrades to the head
    try:
        old = registry.list_audit("fraud").records
        assert [(r.id, r.at, r.resource_type.value, r.name, r.after) for r in old] == [
            (1, 1001, "model", "fraud", {"description": ""}),
            (2, 1002, "model", "fraud", {"description": ""}),
        ]
        registry.create_registered_model("risk", actor=OWNER)
        (made,) = registry.list_audit("risk").records
        assert made.id == 3
        engine = registry.engine  # type: ignore[attr-defined]
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        assert len(registry.list_audit().records) == 3
        _downgrade(engine, "0004")  # and back: the model records stay
        with engine.begin() as conn:
            kept = conn.execute(text("SELECT id, model_name FROM audit_log ORDER BY id")).all()
            assert [tuple(row) for row in kept] == [(1, "fraud"), (2, "fraud"), (3, "risk")]
            conn.execute(text("DELETE FROM audit_log WHERE id = 3"))  # no trigger at 0004
    finally:
        registry.close()


def test_sqlite_audit_upgrade(tmp_path: Path) -> None:
    check_audit_upgrade(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path)


def test_postgres_audit_upgrade(tmp_path: Path, postgres_url: str) -> None:
    with temporary_database(postgres_url, "keel_audit") as url:
        check_audit_upgrade(url, tmp_path)


def test_upgrade_to_name_keys_keeps_names_that_already_collide(tmp_path: Path) -> None:
    """Models made before 0007 as 'Fraud' and 'fraud' both stay; a third spelling is
    refused from then on."""
    from sqlalchemy import text

    from keel.errors import AlreadyExists

    url = f"sqlite:///{tmp_path / 'keel.db'}"
    tracking = SqlTrackingStore(url, artifact_root=str(tmp_path / "a"))
    assert upgrade(tracking.engine, "0004") is None
    with tracking.engine.begin() as conn:
        for created, name in ((1, "Fraud"), (2, "fraud")):
            conn.execute(
                text(
                    "INSERT INTO registered_models (name, description, created, updated, "
                    "last_version) VALUES (:n, '', :c, :c, 0)"
                ),
                {"n": name, "c": created},
            )
    tracking.close()
    registry = open_registry(url, Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path)))
    try:
        assert registry.get_registered_model("Fraud").name == "Fraud"
        assert registry.get_registered_model("fraud").name == "fraud"
        with pytest.raises(AlreadyExists, match="'Fraud' exists"):
            registry.create_registered_model("FRAUD", actor=OWNER)
    finally:
        registry.close()
