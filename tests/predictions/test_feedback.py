"""Feedback: labels checked before anything is written, arriving any time later and
joined to their predictions by id (the latest label winning), and the public
``keel.predictions`` functions through the tracking URI in use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import keel
import keel.predictions
from keel.artifacts.prediction_files import StoredPredictionFiles
from keel.errors import InvalidArgument
from keel.predictions.feedback import FeedbackLog
from keel.predictions.reader import read_feedback, read_predictions, with_feedback
from keel.predictions.writer import PredictionLog
from predictions.support import HOUR, T0, batch

GOOD = "0" * 31 + "1"


@pytest.mark.parametrize(
    ("deployment", "ids", "labels", "message"),
    [
        ("fraud-api", ["nope"], [1], "prediction_ids[0] 'nope': must be 32 lowercase hex"),
        ("fraud-api", [GOOD, GOOD[:-1] + "F"], [1, 0], "prediction_ids[1]"),
        ("fraud-api", [GOOD], [1, 0], "one per prediction id (1 ids, 2 labels)"),
        ("fraud-api", [GOOD], ["fraud"], "unused"),
        ("fraud-api", [GOOD, GOOD], ["fraud", 1], "all numbers or all strings"),
        ("fraud-api", [GOOD], [True], "all numbers or all strings"),
        ("fraud-api", [GOOD], [float("nan")], "labels[0]: must be a number, not NaN"),
        ("fraud-api", [], [], "give at least one"),
        ("fraud-api", GOOD, [1], "must be lists"),
        ("../etc", [GOOD], [1], "deployment '../etc'"),
    ],
)
def test_bad_feedback_is_refused_and_nothing_is_queued(
    tmp_path: Path, deployment: str, ids: list[str], labels: list[object], message: str
) -> None:
    log = FeedbackLog(StoredPredictionFiles.at(str(tmp_path / "a")), spool=tmp_path / "s")
    if message == "unused":  # a valid call, as a control
        assert log.log_feedback(deployment, ids, labels) == 1
        log.close(10)
        return
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        log.log_feedback(deployment, ids, labels)
    assert log.queued_rows == 0
    log.close(10)
    assert not (tmp_path / "a").exists()


def test_labels_arriving_hours_later_join_by_id_and_the_latest_wins(tmp_path: Path) -> None:
    files = StoredPredictionFiles.at(str(tmp_path / "a"))
    predictions = PredictionLog(files, spool=tmp_path / "s")
    made = batch(4)
    predictions.record(made)
    predictions.close(30)
    feedback = FeedbackLog(files, spool=tmp_path / "s")
    a, b, c, _ = made.ids
    feedback.log_feedback("fraud-api", [a, b], ["fraud", "ok"], time_ms=T0 + 5 * HOUR)
    feedback.log_feedback("fraud-api", [b], ["fraud"], time_ms=T0 + 30 * 24 * HOUR)
    feedback.log_feedback("fraud-api", [c], ["ok"], time_ms=T0 + 2 * HOUR)
    feedback.close(30)
    joined = with_feedback(read_predictions(files, "fraud-api"), read_feedback(files, "fraud-api"))
    rows = joined.collect()
    assert rows["prediction_id"].to_list() == list(made.ids)
    assert rows["label"].to_list() == ["fraud", "fraud", "ok", None]
    assert rows["feedback_time"].null_count() == 1
    # Labels for a window's predictions come from any time after it.
    early = read_feedback(files, "fraud-api", T0, T0 + 3 * HOUR).collect()
    assert early["prediction_id"].to_list() == [c]


def test_public_functions_go_through_the_tracking_uri_in_use(tmp_path: Path) -> None:
    uri = str(tmp_path / "store")
    with keel.Client(uri) as client:
        log = PredictionLog(client.backend.prediction_files, spool=tmp_path / "s")
        made = batch(3)
        log.record(made)
        log.close(30)
    keel.set_tracking_uri(uri)
    try:
        assert keel.predictions.log_feedback("fraud-api", [made.ids[0]], [1]) == 1
        frame = keel.predictions.load_predictions("fraud-api", feedback=True)
    finally:
        keel.set_tracking_uri(None)
    assert frame["prediction_id"].to_list() == list(made.ids)
    assert frame["label"].to_list() == [1.0, None, None]
    with pytest.raises(InvalidArgument, match="labels"):
        keel.predictions.log_feedback("fraud-api", [made.ids[0]], [], tracking_uri=uri)


def test_a_batch_job_logs_its_predictions_in_one_call(tmp_path: Path) -> None:
    import pandas as pd
    import polars as pl

    uri = str(tmp_path / "store")
    frame = pd.DataFrame({"amount": [12.0, 250.0, 31.5], "country": ["fr", "de", "fr"]})
    ids = keel.predictions.log_predictions(
        "fraud-api", frame, [0, 1, 0], model_name="fraud", model_version=2,
        scores=[[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]], score_labels=[0, 1],
        time_ms=T0, latency_ms=0.4, tracking_uri=uri,
    )  # fmt: skip
    assert len(ids) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    keel.predictions.log_feedback("fraud-api", ids[1:2], [1], tracking_uri=uri)
    rows = keel.predictions.load_predictions("fraud-api", feedback=True, tracking_uri=uri)
    assert rows["prediction_id"].to_list() == ids
    assert rows["input.country"].to_list() == ["fr", "de", "fr"]
    assert rows["score.1"].to_list() == [0.1, 0.8, 0.3]
    assert rows["model_version"].unique().to_list() == [2]
    assert rows["label"].to_list() == [None, 1.0, None]
    from keel.predictions.reader import json_rows

    assert rows["latency_ms"].dtype == pl.Float32  # what the log keeps
    assert [r["latency_ms"] for r in json_rows(rows)] == [0.4, 0.4, 0.4]  # as given


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"deployment": "Fraud API"}, "deployment 'Fraud API'"),
        ({"predictions": [0, 1]}, r"inputs\['amount'\]: 3 rows, but predictions has 2"),
        ({"inputs": [1, 2, 3]}, "inputs: must be a pandas or polars DataFrame, or a mapping"),
        ({"model_version": 0}, "model_version 0: must be a whole number from 1"),
        ({"scores": [[0.5, 0.5]]}, "scores: must be 3 rows"),
        ({"scores": [[0.5, 0.5]] * 3}, "score_labels: must name each of the 2 classes"),
    ],
)
def test_a_bad_batch_is_refused_before_anything_is_written(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    uri = str(tmp_path / "store")
    args: dict[str, object] = {
        "deployment": "fraud-api",
        "inputs": {"amount": [1.0, 2.0, 3.0]},
        "predictions": [0, 1, 0],
        "model_name": "fraud",
        "model_version": 1,
        **change,
    }
    with pytest.raises(InvalidArgument, match=message):
        keel.predictions.log_predictions(tracking_uri=uri, **args)  # type: ignore[arg-type]
    assert not (tmp_path / "store").exists() or not list((tmp_path / "store").rglob("*.parquet"))
