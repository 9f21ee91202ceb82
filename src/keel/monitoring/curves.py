"""ROC and precision-recall curves of one binary problem, in numpy (scikit-learn's
``roc_curve`` and ``precision_recall_curve`` points, at every distinct score)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_POINTS = 1000


@dataclass(frozen=True, slots=True)
class Curve:
    """``x`` and ``y`` of a curve (false positive rate and true positive rate for ROC;
    recall and precision for precision-recall) and the score thresholds between them."""

    x: list[float]
    y: list[float]
    thresholds: list[float | None]  # None for the first ROC point's infinite threshold

    def to_dict(self, x: str, y: str) -> dict[str, list[Any]]:
        return {x: self.x, y: self.y, "thresholds": self.thresholds}


def _counts(positive: Any, score: Any) -> tuple[Any, Any, Any]:
    """True and false positives when every score >= each distinct threshold is called
    positive, thresholds from high to low."""
    import numpy as np

    order = np.argsort(-score, kind="mergesort")
    s, y = score[order], positive[order].astype(float)
    last_of_each = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[last_of_each]
    fp = (last_of_each + 1) - tp
    return tp, fp, s[last_of_each]


def roc_curve(positive: Any, score: Any) -> Curve:
    import numpy as np

    tp, fp, thresholds = _counts(positive, score)
    tp, fp = np.r_[0.0, tp], np.r_[0.0, fp]
    tpr = tp / tp[-1] if tp[-1] > 0 else np.zeros_like(tp)
    fpr = fp / fp[-1] if fp[-1] > 0 else np.zeros_like(fp)
    return _thin(fpr, tpr, np.r_[np.inf, thresholds])


def precision_recall_curve(positive: Any, score: Any) -> Curve:
    import numpy as np

    tp, fp, thresholds = _counts(positive, score)
    precision = tp / (tp + fp)
    recall = tp / tp[-1] if tp[-1] > 0 else np.zeros_like(tp)
    # from the lowest threshold up, ending at recall 0 and precision 1, as scikit-learn
    return _thin(np.r_[recall[::-1], 0.0], np.r_[precision[::-1], 1.0], thresholds[::-1])


def _thin(x: Any, y: Any, thresholds: Any) -> Curve:
    """At most MAX_POINTS points, evenly spaced along the curve, ends kept (for the
    artifact and the plot; the metrics use every point)."""
    import numpy as np

    if len(x) > MAX_POINTS:
        keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int))
        x, y = x[keep], y[keep]
        thresholds = thresholds[keep[keep < len(thresholds)]]
    finite = [float(t) if np.isfinite(t) else None for t in thresholds]
    return Curve([float(v) for v in x], [float(v) for v in y], finite)
