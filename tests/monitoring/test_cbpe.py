"""Confidence-based performance estimation on synthetic data whose labels are known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

from keel.errors import InvalidArgument
from keel.monitoring.calibration import fit_isotonic
from keel.monitoring.cbpe import CBPE, expected_auc
from keel.monitoring.performance import realised_performance

START = datetime(2026, 5, 1, tzinfo=UTC)


def _frame(rng: np.random.Generator, spreads: list[float], rows: int = 2000) -> pl.DataFrame:
    """One hour per spread: x ~ N(0, spread), truth ~ Bernoulli(sigmoid(2x)); the model's
    score is sigmoid(4x), overconfident, so calibration matters. A small spread puts rows
    near the boundary, where the model is often wrong."""
    parts = []
    for hour, spread in enumerate(spreads):
        x = rng.normal(0, spread, size=rows)
        truth = (rng.uniform(size=rows) < 1 / (1 + np.exp(-2 * x))).astype(np.int64)
        score = 1 / (1 + np.exp(-4 * x))
        minutes = rng.uniform(0, 60, size=rows)
        parts.append(
            pl.DataFrame(
                {
                    "time": [START + timedelta(hours=hour, minutes=m) for m in minutes],
                    "prediction": (score > 0.5).astype(np.int64),
                    "score.1": score,
                    "label": truth,
                }
            )
        )
    return pl.concat(parts)


@pytest.fixture(scope="module")
def fitted() -> tuple[CBPE, pl.DataFrame]:
    rng = np.random.default_rng(7)
    reference = _frame(rng, [1.5] * 10)
    current = _frame(rng, [1.5, 1.5, 1.5, 0.3, 0.3])
    return CBPE.fit(reference), current


def test_the_estimate_tracks_realised_performance(fitted: tuple[CBPE, pl.DataFrame]) -> None:
    estimator, current = fitted
    assert estimator.calibrated == {"1": True}  # sigmoid(4x) is overconfident
    estimated = estimator.estimate(current.drop("label"), window="1h")
    realised = realised_performance(current, window="1h")
    assert len(estimated.windows) == len(realised.windows) == 5
    for guess, truth in zip(estimated.windows, realised.windows, strict=True):
        for metric in ("accuracy", "f1", "roc_auc"):
            assert guess.metrics[metric] == pytest.approx(truth.metrics[metric], abs=0.04)


def test_a_shifted_window_falls_outside_the_thresholds(fitted: tuple[CBPE, pl.DataFrame]) -> None:
    estimator, current = fitted
    result = estimator.estimate(current, window="1h")
    low, high = result.thresholds["accuracy"]
    assert 0 < low < high < 1 and high - low < 0.1
    flags = [w.alerts["accuracy"] for w in result.windows]
    assert flags == [False, False, False, True, True]
    assert [w.start for w in result.alerting] == [w.start for w in result.windows[3:]]
    assert result.windows[3].metrics["accuracy"] < low  # type: ignore[operator]


def test_multiclass_estimate_is_close_to_realised() -> None:
    rng = np.random.default_rng(3)

    def frame(hours: int, sharpness: float) -> pl.DataFrame:
        n = 1500 * hours
        logits = rng.normal(0, sharpness, size=(n, 3))
        true_p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        truth = (rng.uniform(size=(n, 1)) > true_p.cumsum(axis=1)).sum(axis=1)
        model = np.exp(1.5 * logits) / np.exp(1.5 * logits).sum(axis=1, keepdims=True)
        return pl.DataFrame(
            {
                "time": [
                    START + timedelta(minutes=float(m)) for m in rng.uniform(0, 60 * hours, n)
                ],
                "prediction": np.array(["a", "b", "c"])[model.argmax(axis=1)],
                "label": np.array(["a", "b", "c"])[truth],
                **{f"score.{c}": model[:, i] for i, c in enumerate("abc")},
            }
        )

    estimator = CBPE.fit(frame(10, 2.0))
    current = frame(2, 2.0)
    estimated = estimator.estimate(current, window="1h").windows
    realised = realised_performance(current, window="1h").windows
    for guess, truth in zip(estimated, realised, strict=True):
        for metric in ("accuracy", "f1"):
            assert guess.metrics[metric] == pytest.approx(truth.metrics[metric], abs=0.04)


def test_isotonic_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.uniform(size=4000), 3)
    truth = (rng.uniform(size=4000) < scores**2).astype(np.int64)
    ours = fit_isotonic(scores, truth)
    theirs = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, truth)
    probe = rng.uniform(-0.2, 1.2, size=500)
    np.testing.assert_allclose(ours(probe), theirs.predict(probe), atol=1e-12)


def test_expected_auc_of_certain_labels_is_the_realised_auc() -> None:
    score = np.array([0.1, 0.4, 0.35, 0.8, 0.8])
    truth = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    # with probabilities of 0 or 1 the expectation is the plain ROC AUC (ties count a half)
    assert expected_auc(score, truth) == pytest.approx(roc_auc_score(truth, score))
    assert expected_auc(score, truth) == pytest.approx(3.5 / 6)


def test_bad_reference_is_refused_with_the_reason() -> None:
    rng = np.random.default_rng(1)
    reference = _frame(rng, [1.0], rows=500)
    with pytest.raises(InvalidArgument, match="score columns"):
        CBPE.fit(reference.drop("score.1"))
    with pytest.raises(InvalidArgument, match="two classes"):
        CBPE.fit(reference.with_columns(pl.lit(1).alias("label")))
    with pytest.raises(InvalidArgument, match="too few"):
        CBPE.fit(reference.head(50))
    with pytest.raises(InvalidArgument, match="calibration"):
        CBPE.fit(reference, calibration="platt")  # type: ignore[arg-type]
    estimator = CBPE.fit(reference, calibration="none")
    assert estimator.calibrated == {"1": False}
    with pytest.raises(InvalidArgument, match="score columns"):
        estimator.estimate(reference.drop("score.1"))


def test_a_six_row_window_against_hand_computation() -> None:
    """Without calibration each row is positive with its score: the expected confusion
    matrix is a sum of scores, and every metric follows from it by hand."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 400)
    reference = pl.DataFrame(
        {
            "time": [START + timedelta(minutes=i) for i in range(400)],
            "prediction": (p > 0.5).astype(np.int64),
            "score.1": p,
            "label": (rng.uniform(size=400) < p).astype(np.int64),
        }
    )
    q = [0.9, 0.8, 0.3, 0.6, 0.1, 0.45]
    current = pl.DataFrame(
        {
            "time": [START + timedelta(days=1, minutes=i) for i in range(6)],
            "prediction": [1, 1, 0, 1, 0, 0],
            "score.1": q,
        }
    )
    (window,) = CBPE.fit(reference, calibration="none").estimate(current, window="1h").windows
    tp, fp = 0.9 + 0.8 + 0.6, 0.1 + 0.2 + 0.4  # predicted 1: scores, and 1 - scores
    fn, tn = 0.3 + 0.1 + 0.45, 0.7 + 0.9 + 0.55  # predicted 0
    # ROC AUC: expected concordant pairs over expected positive-negative pairs.
    concordant = sum(a * (1 - b) for a in q for b in q if a > b)
    pairs = sum(q) * sum(1 - a for a in q) - sum(a * (1 - a) for a in q)
    assert window.metrics == pytest.approx(
        {
            "accuracy": (tp + tn) / 6,  # 0.7417
            "precision": tp / (tp + fp),  # 0.7667
            "recall": tp / (tp + fn),  # 0.7302
            "f1": 2 * tp / (2 * tp + fp + fn),  # 0.7480
            "roc_auc": concordant / pairs,  # 0.8558
        }
    )


def test_the_realised_metrics_of_three_rows_by_hand() -> None:
    frame = pl.DataFrame(
        {
            "time": [START + timedelta(minutes=m) for m in (1, 20, 50)],
            "prediction": [1, 0, 1],
            "score.1": [0.9, 0.2, 0.6],
            "label": [1.0, 0.0, 0.0],
        }
    )
    (window,) = realised_performance(frame, window="1h").windows
    assert window.metrics == pytest.approx(
        {
            "accuracy": 2 / 3,
            "precision": 1 / 2,
            "recall": 1.0,
            "f1": 2 / 3,
            "roc_auc": 1.0,  # 0.9 ranks above both negatives
            "log_loss": -(np.log(0.9) + np.log(0.8) + np.log(0.4)) / 3,
        }
    )
