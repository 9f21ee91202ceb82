"""What ``keel.evaluate`` computes from truth, predictions and class probabilities: MLflow's
metric names over the same code as performance monitoring, with the confusion matrix and
curves its artifacts draw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keel.monitoring import scores
from keel.monitoring.curves import Curve, precision_recall_curve, roc_curve
from keel.monitoring.performance import class_list, positive_index, score_matrix
from keel.monitoring.tables import label_codes, label_text

SCORE = "score."
LOWER_IS_BETTER = frozenset(
    {
        "log_loss",
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
        "mean_absolute_percentage_error",
        "max_error",
    }
)
CLASSIFIER_METRICS = (
    "example_count",
    "accuracy_score",
    "precision_score",
    "recall_score",
    "f1_score",
    "roc_auc",
    "log_loss",
    "true_negatives",
    "false_positives",
    "false_negatives",
    "true_positives",
)
REGRESSOR_METRICS = (
    "example_count",
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_percentage_error",
    "r2_score",
    "max_error",
    "mean_on_target",
    "sum_on_target",
)


@dataclass(frozen=True, slots=True)
class Scored:
    """Metrics (None where not computable) and what the artifacts are drawn from."""

    metrics: dict[str, float | None]
    classes: list[str] = field(default_factory=list)
    confusion: Any = None
    roc: dict[str, Curve] = field(default_factory=dict)
    precision_recall: dict[str, Curve] = field(default_factory=dict)
    predicted: Any = None  # a regressor's predictions, for the residual plot


def classifier(
    truth: Any,
    predicted: Any,
    probabilities: tuple[list[Any], Any] | None,
    *,
    positive_label: Any,
    average: scores.Average,
) -> Scored:
    """``probabilities``: the model's classes in column order and a (rows, classes) array."""
    import numpy as np
    import polars as pl

    columns: dict[str, Any] = {
        "prediction": label_text(pl.Series(_plain(predicted))),
        "label": label_text(pl.Series(_plain(truth))),
    }
    if probabilities is not None:
        names = label_text(pl.Series(_plain(probabilities[0]))).to_list()
        for index, name in enumerate(names):
            columns[f"{SCORE}{name}"] = np.asarray(probabilities[1], dtype=float)[:, index]
    frame = pl.DataFrame(columns)
    score_columns = [c for c in frame.columns if c.startswith(SCORE)]
    classes = class_list(frame, ["prediction", "label"], score_columns, SCORE)
    positive = positive_index(classes, positive_label)
    y = label_codes(frame.get_column("label"), classes)
    p = label_codes(frame.get_column("prediction"), classes)
    group = np.zeros(len(y), dtype=np.int64)
    matrix = scores.confusion(group, y, p, 1, len(classes))
    values = scores.from_confusion(matrix, positive=positive, average=average)
    metrics: dict[str, float | None] = {
        "example_count": float(len(y)),
        "accuracy_score": _value(values["accuracy"][0]),
        "precision_score": _value(values["precision"][0]),
        "recall_score": _value(values["recall"][0]),
        "f1_score": _value(values["f1"][0]),
    }
    if len(classes) == 2 and positive is not None:
        negative = 1 - positive
        cells = matrix[0]
        metrics["true_negatives"] = float(cells[negative, negative])
        metrics["false_positives"] = float(cells[negative, positive])
        metrics["false_negatives"] = float(cells[positive, negative])
        metrics["true_positives"] = float(cells[positive, positive])
    result = Scored(metrics, classes, matrix[0])
    proba = score_matrix(frame, classes, SCORE) if score_columns else None
    if proba is not None:
        labelled = y >= 0
        metrics["roc_auc"] = _value(
            scores.roc_auc_ovr(y[labelled], proba[labelled], positive=positive)
        )
        metrics["log_loss"] = _value(scores.log_loss(group, y, proba, 1)[0])
        shown = [positive] if positive is not None else range(len(classes))
        for k in shown:
            truth_k, score_k = (y[labelled] == k), proba[labelled, k]
            if 0 < truth_k.sum() < len(truth_k):
                result.roc[classes[k]] = roc_curve(truth_k, score_k)
                result.precision_recall[classes[k]] = precision_recall_curve(truth_k, score_k)
    return result


def regressor(truth: Any, predicted: Any) -> Scored:
    import numpy as np

    y = np.asarray(truth, dtype=float).reshape(-1)
    p = np.asarray(predicted, dtype=float).reshape(-1)
    keep = np.isfinite(y) & np.isfinite(p)
    y, p = y[keep], p[keep]
    group = np.zeros(len(y), dtype=np.int64)
    values = scores.regression(group, y, p, 1)
    rmse = _value(values["rmse"][0])
    total = float(np.sum((y - y.mean()) ** 2)) if len(y) else 0.0
    residual = float(np.sum((y - p) ** 2))
    metrics: dict[str, float | None] = {
        "example_count": float(len(y)),
        "mean_absolute_error": _value(values["mae"][0]),
        "mean_squared_error": None if rmse is None else rmse**2,
        "root_mean_squared_error": rmse,
        "mean_absolute_percentage_error": _value(values["mape"][0]),
        "r2_score": None if total == 0 else 1.0 - residual / total,
        "max_error": float(np.max(np.abs(y - p))) if len(y) else None,
        "mean_on_target": float(y.mean()) if len(y) else None,
        "sum_on_target": float(y.sum()),
    }
    return Scored(metrics, predicted=predicted)


def _plain(values: Any) -> Any:
    """A list polars can take whatever the source: numpy arrays of objects, pandas."""
    import numpy as np

    array = np.asarray(values)
    return array.tolist() if array.dtype == object else array


def _value(number: Any) -> float | None:
    value = float(number)
    return None if value != value else value  # NaN: not computable
