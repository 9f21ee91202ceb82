"""Classification and regression metrics over many groups at once, in numpy.

Each function takes a group index per row (``group``, 0..groups-1) so one pass scores
every time window: confusion matrices come from one ``bincount`` over (group, truth,
prediction), regression errors from weighted ``bincount`` sums. A group with nothing to
score gets NaN, never 0; callers turn that into "no labels".

The numbers follow scikit-learn's definitions (checked against it in the tests):
precision, recall and F1 of the positive class for two classes, ``macro`` or
``weighted`` averages over the classes present in the group (in its truth or its
predictions) for more; a class never predicted has precision 0, as scikit-learn's
``zero_division=0``. ROC AUC is one-vs-rest, macro-averaged, with tied scores sharing
their rank; log-loss normalises each row's probabilities and clips them to [1e-15, 1].
"""

from __future__ import annotations

from typing import Any, Literal

Average = Literal["macro", "weighted"]
EPSILON = 1e-15


def confusion(group: Any, truth: Any, predicted: Any, groups: int, classes: int) -> Any:
    """``(groups, classes, classes)`` counts: ``[g, t, p]`` rows of group g with truth t
    predicted as p. Rows with a negative index (unlabelled, unknown) are left out."""
    import numpy as np

    keep = (group >= 0) & (truth >= 0) & (predicted >= 0)
    flat = (group[keep] * classes + truth[keep]) * classes + predicted[keep]
    counts = np.bincount(flat, minlength=groups * classes * classes)
    return counts.reshape(groups, classes, classes).astype(float)


def from_confusion(
    matrices: Any, *, positive: int | None, average: Average = "macro"
) -> dict[str, Any]:
    """Accuracy, precision, recall and F1 per group from confusion matrices, which may hold
    expected (fractional) counts as confidence-based estimation gives. ``positive``: the
    positive class's index for binary scores; None averages over classes."""
    import numpy as np

    total = matrices.sum(axis=(1, 2))
    tp = np.diagonal(matrices, axis1=1, axis2=2)
    predicted = matrices.sum(axis=1)  # per class, rows predicted as it
    actual = matrices.sum(axis=2)  # per class, rows that truly are it
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = tp.sum(axis=1) / total
        precision = np.where(predicted > 0, tp / np.where(predicted > 0, predicted, 1), 0.0)
        recall = np.where(actual > 0, tp / np.where(actual > 0, actual, 1), 0.0)
        denominator = predicted + actual
        f1 = np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)
    if positive is not None:
        picked = [precision[:, positive], recall[:, positive], f1[:, positive]]
    else:
        present = (predicted + actual) > 0
        weights = present.astype(float) if average == "macro" else actual * present
        with np.errstate(invalid="ignore", divide="ignore"):
            norm = weights.sum(axis=1)
            picked = [(m * weights).sum(axis=1) / norm for m in (precision, recall, f1)]
    empty = total <= 0
    out = {"accuracy": accuracy}
    out.update(zip(("precision", "recall", "f1"), picked, strict=True))
    return {name: np.where(empty, np.nan, values) for name, values in out.items()}


def log_loss(group: Any, truth: Any, probabilities: Any, groups: int) -> Any:
    """Mean of -log(probability given to the true class) per group."""
    import numpy as np

    keep = (group >= 0) & (truth >= 0)
    rows = probabilities[keep]
    sums = rows.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = rows / np.where(sums > 0, sums, 1)[:, None]
    true_p = normalised[np.arange(len(rows)), truth[keep]]
    loss = -np.log(np.clip(true_p, EPSILON, 1.0))
    valid = np.isfinite(loss)
    counts = np.bincount(group[keep][valid], minlength=groups)
    sums_loss = np.bincount(group[keep][valid], weights=loss[valid], minlength=groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums_loss / np.where(counts > 0, counts, 1), np.nan)


def roc_auc(truth_positive: Any, score: Any) -> float:
    """ROC AUC of one binary problem by the rank statistic (ties share their mean rank);
    NaN when either class is absent."""
    from scipy.stats import rankdata

    positives = int(truth_positive.sum())
    negatives = len(truth_positive) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(score)
    statistic = ranks[truth_positive].sum() - positives * (positives + 1) / 2
    return float(statistic / (positives * negatives))


def roc_auc_ovr(truth: Any, probabilities: Any, *, positive: int | None) -> float:
    """Binary: the positive class's score; more classes: the macro mean of one-vs-rest
    AUCs over the classes present in ``truth`` (NaN when fewer than two are)."""
    import numpy as np

    if positive is not None:
        return roc_auc(truth == positive, probabilities[:, positive])
    present = np.unique(truth)
    if len(present) < 2:
        return float("nan")
    return float(np.mean([roc_auc(truth == k, probabilities[:, k]) for k in present]))


def regression(group: Any, truth: Any, predicted: Any, groups: int) -> dict[str, Any]:
    """RMSE, MAE and MAPE per group over the rows where both values are finite. MAPE
    leaves out rows whose truth is 0 (scikit-learn would divide by 2.2e-16 instead)."""
    import numpy as np

    keep = (group >= 0) & np.isfinite(truth) & np.isfinite(predicted)
    g, y, p = group[keep], truth[keep], predicted[keep]
    error = p - y
    counts = np.bincount(g, minlength=groups)
    nonzero = y != 0
    pct_counts = np.bincount(g[nonzero], minlength=groups)
    squared = np.bincount(g, weights=error**2, minlength=groups)
    absolute = np.bincount(g, weights=np.abs(error), minlength=groups)
    pct = np.bincount(
        g[nonzero], weights=np.abs(error[nonzero]) / np.abs(y[nonzero]), minlength=groups
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.where(counts > 0, counts, 1)
        return {
            "rmse": np.where(counts > 0, np.sqrt(squared / n), np.nan),
            "mae": np.where(counts > 0, absolute / n, np.nan),
            "mape": np.where(pct_counts > 0, pct / np.where(pct_counts > 0, pct_counts, 1), np.nan),
        }
