"""A database made by the tracking-only Keel (revision 0001) upgrades to the registry
schema and keeps its data; the registry then works on it."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    run_id = tracking.create_run(tracking.create_experiment("before"), run_name="r").run_id
    # As the Keel of revision 0001 stored it: the bytes, then their record (today's
    # RunArtifacts also asks the registry's tables whether the path is a model's).
    root = tracking.get_run(run_id).info.artifact_uri
    info = ArtifactStore(root).write_bytes("model/keel-model.json", MANIFEST)
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
