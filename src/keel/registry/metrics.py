"""Scores for held-out data, computed with numpy alone (scikit-learn may be absent where
models are validated): accuracy and macro F1, ROC AUC one-vs-rest with ties averaged,
RMSE, MAE and R²."""

from __future__ import annotations

from typing import Any


def classification_metrics(truth: Any, predicted: Any) -> dict[str, float]:
    """Accuracy and macro F1 (the unweighted mean of each class's F1).

    >>> classification_metrics([0, 1, 1, 0], [0, 1, 0, 0])
    {'accuracy': 0.75, 'f1': 0.7333333333333334}
    """
    import numpy as np

    y = np.asarray(truth)
    p = np.asarray(predicted)
    if p.dtype != y.dtype:
        p = p.astype(y.dtype, copy=False)
    f1s = []
    for label in np.unique(np.concatenate([y, p])):
        tp = float(np.sum((p == label) & (y == label)))
        fp = float(np.sum((p == label) & (y != label)))
        fn = float(np.sum((p != label) & (y == label)))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return {"accuracy": float(np.mean(p == y)), "f1": float(np.mean(f1s))}


def roc_auc(truth: Any, probabilities: tuple[Any, Any]) -> float | None:
    """ROC AUC from class probabilities (one-vs-rest, macro-averaged for more than two
    classes), by the rank statistic; None when a class has no positives or negatives."""
    import numpy as np

    classes, scores = probabilities
    y = np.asarray(truth)
    scores = np.asarray(scores, dtype=float)
    columns = [1] if len(classes) == 2 else range(len(classes))
    aucs = []
    for index in columns:
        positive = y == classes[index]
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:
            return None
        ranks = _average_ranks(scores[:, index])
        aucs.append((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return float(np.mean(aucs))


def _average_ranks(values: Any) -> Any:
    import numpy as np

    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.arange(1, len(values) + 1)
    # ties share the mean of their ranks, as the Mann-Whitney statistic needs
    unique, inverse = np.unique(values, return_inverse=True)
    if len(unique) < len(values):
        sums = np.bincount(inverse, weights=ranks)
        counts = np.bincount(inverse)
        ranks = (sums / counts)[inverse]
    return ranks


def regression_metrics(truth: Any, predicted: Any) -> dict[str, float]:
    """RMSE, MAE and R² (1 - residual / total sum of squares; 0 for constant truth).

    >>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    {'rmse': 0.5773502691896257, 'mae': 0.3333333333333333, 'r2': 0.5}
    """
    import numpy as np

    y = np.asarray(truth, dtype=float)
    p = np.asarray(predicted, dtype=float)
    error = p - y
    total = float(np.sum((y - y.mean()) ** 2))
    residual = float(np.sum(error**2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": 0.0 if total == 0 else 1.0 - residual / total,
    }
