"""The log lands under the artifact root of each kind of SQL store (an embedded folder,
SQLite, PostgreSQL) and reads back from a root that is not a local folder (fsspec)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from keel.artifacts.prediction_files import StoredPredictionFiles
from keel.config import Settings
from keel.predictions.reader import find_prediction, read_predictions
from keel.predictions.writer import PredictionLog, open_prediction_log
from keel.store import open_backend
from predictions.support import HOUR, T0, batch


@pytest.mark.parametrize("kind", ["folder", "sqlite", "postgres"])
def test_the_log_goes_under_the_artifact_root_of_a_sql_store(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    uri = {
        "folder": str(tmp_path / "store"),
        "sqlite": f"sqlite:///{tmp_path / 'keel.db'}",
    }.get(kind) or request.getfixturevalue("postgres_url")
    root = tmp_path / "artifacts"
    conf = Settings(home=tmp_path / "home", artifacts_uri=str(root), spool_dir=tmp_path / "s")
    deployment = f"d-{uuid.uuid4().hex[:8]}"
    with open_backend(uri, conf) as backend:
        log = open_prediction_log(backend, conf)
        made = batch(3, deployment=deployment)
        log.record(made)
        log.close(30)
        frame = read_predictions(backend.prediction_files, deployment).collect()
    assert frame["prediction_id"].to_list() == list(made.ids)
    if kind != "folder":  # a folder store keeps its artifacts inside it
        assert len(list((root / "predictions" / deployment).rglob("*.parquet"))) == 1


def test_a_root_that_is_not_a_local_folder_reads_through_fsspec(tmp_path: Path) -> None:
    files = StoredPredictionFiles.at(f"memory://keel-{uuid.uuid4().hex[:8]}")
    log = PredictionLog(files, spool=tmp_path / "s")
    first, later = batch(3), batch(2, time_ms=T0 + 2 * HOUR)
    log.record(first)
    log.record(later)
    log.close(30)
    assert log.spooled_files == 0
    rows = read_predictions(files, "fraud-api").collect()
    assert rows["prediction_id"].to_list() == [*first.ids, *later.ids]
    window = read_predictions(files, "fraud-api", T0 + HOUR, T0 + 3 * HOUR).collect()
    assert window["prediction_id"].to_list() == list(later.ids)
    found = find_prediction(files, later.ids[1])
    assert found is not None and found["time"] == T0 + 2 * HOUR
