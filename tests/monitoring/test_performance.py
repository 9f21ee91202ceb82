"""Realised performance per window, checked against scikit-learn's metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from keel.errors import InvalidArgument
from keel.monitoring.performance import join_feedback, realised_performance

START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _times(rng: np.random.Generator, n: int, hours: list[int]) -> list[datetime]:
    picked = rng.choice(hours, size=n)
    minutes = rng.integers(0, 60, size=n)
    pairs = zip(picked, minutes, strict=True)
    return [START + timedelta(hours=int(h), minutes=int(m)) for h, m in pairs]


def _binary_frame(n: int = 3000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.uniform(size=n)
    label = (rng.uniform(size=n) < score).astype(np.int64)
    return pl.DataFrame(
        {
            "time": _times(rng, n, [0, 1, 3]),
            "prediction": (score > 0.5).astype(np.int64),
            "score.1": score,
            "score.0": 1 - score,
            "label": label.astype(float),  # feedback labels are float64
        }
    )


def test_binary_metrics_match_scikit_learn_in_every_window() -> None:
    frame = _binary_frame()
    result = realised_performance(frame, window="1h")
    assert [w.status for w in result.windows] == ["ok", "ok", "no data", "ok"]
    assert result.positive_label == "1"
    for window in result.windows:
        if window.status != "ok":
            assert window.metrics == {}
            continue
        part = frame.filter((pl.col("time") >= window.start) & (pl.col("time") < window.end))
        y, p = part["label"].to_numpy(), part["prediction"].to_numpy()
        s = part["score.1"].to_numpy()
        m = window.metrics
        assert window.rows == len(part)
        assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
        assert m["precision"] == pytest.approx(skm.precision_score(y, p))
        assert m["recall"] == pytest.approx(skm.recall_score(y, p))
        assert m["f1"] == pytest.approx(skm.f1_score(y, p))
        assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s))
        assert m["log_loss"] == pytest.approx(skm.log_loss(y, s))


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_multiclass_averages_match_scikit_learn(average: str) -> None:
    rng = np.random.default_rng(1)
    n = 2000
    raw = rng.dirichlet([1.0, 1.0, 1.0], size=n)
    label = np.array([rng.choice(3, p=row) for row in raw])
    names = np.array(["cat", "dog", "eel"])
    frame = pl.DataFrame(
        {
            "time": _times(rng, n, [0, 2]),
            "prediction": names[raw.argmax(axis=1)],
            "label": names[label],
            **{f"score.{c}": raw[:, i] for i, c in enumerate(names)},
        }
    )
    result = realised_performance(frame, window="1h", average=average)  # type: ignore[arg-type]
    assert result.classes == ["cat", "dog", "eel"]
    assert result.positive_label is None
    ok = [w for w in result.windows if w.status == "ok"]
    assert len(ok) == 2
    for window in ok:
        part = frame.filter((pl.col("time") >= window.start) & (pl.col("time") < window.end))
        y, p = part["label"].to_numpy(), part["prediction"].to_numpy()
        probs = part.select([f"score.{c}" for c in names]).to_numpy()
        m = window.metrics
        assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
        assert m["precision"] == pytest.approx(skm.precision_score(y, p, average=average))
        assert m["recall"] == pytest.approx(skm.recall_score(y, p, average=average))
        assert m["f1"] == pytest.approx(skm.f1_score(y, p, average=average))
        assert m["roc_auc"] == pytest.approx(
            skm.roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=names)
        )
        assert m["log_loss"] == pytest.approx(skm.log_loss(y, probs, labels=names))


def test_regression_metrics_match_scikit_learn_and_skip_nan() -> None:
    rng = np.random.default_rng(2)
    n = 1500
    truth = rng.normal(10, 3, size=n)
    predicted = truth + rng.normal(0, 1, size=n)
    truth[::50] = np.nan  # unlabelled rows
    predicted[7::97] = np.inf
    frame = pl.DataFrame({"time": _times(rng, n, [0, 1]), "prediction": predicted, "label": truth})
    result = realised_performance(frame, model_type="regressor", window="30m")
    assert result.windows
    for window in result.windows:
        part = frame.filter((pl.col("time") >= window.start) & (pl.col("time") < window.end))
        y, p = part["label"].to_numpy(), part["prediction"].to_numpy()
        ok = np.isfinite(y) & np.isfinite(p)
        m = window.metrics
        assert window.labelled == int(np.isfinite(y).sum())
        assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y[ok], p[ok])))
        assert m["mae"] == pytest.approx(skm.mean_absolute_error(y[ok], p[ok]))
        assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y[ok], p[ok]))


def test_a_window_without_labels_says_so_and_gives_no_number() -> None:
    frame = _binary_frame(600).with_columns(
        pl.when(pl.col("time") >= START + timedelta(hours=1))
        .then(None)
        .otherwise(pl.col("label"))
        .alias("label")
    )
    windows = realised_performance(frame, window="1h").windows
    assert [w.status for w in windows] == ["ok", "no labels", "no data", "no labels"]
    assert windows[1].metrics == {} and windows[1].labelled == 0 and windows[1].rows > 0


def test_one_class_in_a_window_gives_no_auc_but_still_accuracy() -> None:
    frame = pl.DataFrame(
        {
            "time": [START, START + timedelta(minutes=5)],
            "prediction": [1, 0],
            "label": [1.0, 1.0],
            "score.1": [0.9, 0.2],
        }
    )
    window = realised_performance(frame).windows[0]
    assert window.metrics["accuracy"] == 0.5
    assert window.metrics["roc_auc"] is None


def test_feedback_joins_by_id_and_the_latest_label_wins() -> None:
    predictions = pl.DataFrame(
        {
            "prediction_id": ["a", "b", "c"],
            "time": [1_777_000_000_000 + i for i in range(3)],  # epoch ms, as the log writes
            "prediction": [1, 0, 1],
        }
    )
    feedback = pl.DataFrame(
        {"prediction_id": ["a", "b", "a"], "time": [5, 6, 9], "label": [0.0, 0.0, 1.0]}
    )
    joined = join_feedback(predictions, feedback)
    assert joined.sort("prediction_id")["label"].to_list() == [1.0, 0.0, None]
    window = realised_performance(joined.to_pandas(), window="1d").windows[0]
    assert (window.rows, window.labelled, window.metrics["accuracy"]) == (3, 2, 1.0)


def test_bad_input_names_the_field() -> None:
    frame = _binary_frame(50)
    with pytest.raises(InvalidArgument, match="missing column"):
        realised_performance(frame.drop("label"))
    with pytest.raises(InvalidArgument, match="window"):
        realised_performance(frame, window="soon")
    with pytest.raises(InvalidArgument, match="windows"):
        realised_performance(frame, window="1ms")
    with pytest.raises(InvalidArgument, match="model_type"):
        realised_performance(frame, model_type="ranker")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="positive_label"):
        realised_performance(frame, positive_label=7)
    with pytest.raises(InvalidArgument, match="data"):
        realised_performance([1, 2, 3])


def test_empty_data_has_no_windows() -> None:
    frame = _binary_frame(10).clear()
    result = realised_performance(frame)
    assert result.windows == []
    assert result.to_polars().height == 0
