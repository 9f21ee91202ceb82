"""Performance estimated without labels: confidence-based performance estimation (CBPE),
as NannyML's.

A classifier's calibrated probability is the chance that a row belongs to each class, so
a window's confusion matrix can be *expected* before any label arrives: a row predicted
as class ``p`` adds its probability of being class ``t`` to cell ``[t, p]``. Accuracy,
precision, recall and F1 follow from the expected matrix; ROC AUC from the expected
positives and negatives ranked by score.

>>> estimator = CBPE.fit(reference)                   # labelled: prediction, score.*, label
>>> result = estimator.estimate(current, window="1h")            # no labels needed
>>> [(w.start, w.metrics["accuracy"], w.alerts["accuracy"]) for w in result.windows]

Fitting on the labelled reference:

1. **Calibration.** Each class's score (one-vs-rest; for two classes the positive class's)
   is calibrated with isotonic regression when that lowers its calibration error on
   held-out reference rows (``calibration="auto"``), always (``"isotonic"``) or never
   (``"none"``). Multiclass probabilities are then renormalised to sum to 1.
2. **Thresholds.** The reference is cut into ``chunks`` equal parts in time order (10, as
   NannyML's default chunker); each metric's realised value per chunk gives
   ``mean ± 3 std`` (clipped to [0, 1]), NannyML's default. An estimate outside is an alert.

The estimate is only as good as the calibration: it assumes the relation between score and
truth holds (covariate shift, not concept drift), as NannyML documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from keel.errors import InvalidArgument
from keel.monitoring import scores
from keel.monitoring.calibration import Isotonic, fit_isotonic, needs_calibration
from keel.monitoring.performance import (
    class_list,
    next_start,
    optional_number,
    positive_index,
    score_matrix,
    window_index,
)
from keel.monitoring.tables import label_codes, require_columns, to_polars

if TYPE_CHECKING:
    import polars as pl

Calibration = Literal["auto", "isotonic", "none"]
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
DEFAULT_CHUNKS = 10
STD_MULTIPLIER = 3.0


@dataclass(frozen=True, slots=True)
class EstimatedWindow:
    start: datetime
    end: datetime
    rows: int
    status: Literal["ok", "no data"]
    metrics: dict[str, float | None] = field(default_factory=dict)
    alerts: dict[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "status": self.status,
            "metrics": dict(self.metrics),
            "alerts": dict(self.alerts),
        }


@dataclass(frozen=True, slots=True)
class EstimatedPerformance:
    window: str
    windows: list[EstimatedWindow]
    thresholds: dict[str, tuple[float, float]]

    @property
    def alerting(self) -> list[EstimatedWindow]:
        """The windows where any metric's estimate is outside its thresholds."""
        return [w for w in self.windows if any(w.alerts.values())]

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "thresholds": {m: list(bounds) for m, bounds in self.thresholds.items()},
            "windows": [w.to_dict() for w in self.windows],
        }


@dataclass(frozen=True, slots=True)
class CBPE:
    """A fitted estimator; build it with :meth:`CBPE.fit`."""

    classes: list[str]
    positive: int | None
    average: scores.Average
    calibrators: dict[int, Isotonic | None]
    thresholds: dict[str, tuple[float, float]]
    prediction: str = "prediction"
    score_prefix: str = "score."
    time: str = "time"

    @property
    def calibrated(self) -> dict[str, bool]:
        """Per class, whether its scores are calibrated (isotonic) or used as given."""
        return {self.classes[k]: c is not None for k, c in self.calibrators.items()}

    @classmethod
    def fit(
        cls,
        reference: Any,
        *,
        label: str = "label",
        prediction: str = "prediction",
        score_prefix: str = "score.",
        time: str = "time",
        positive_label: Any = None,
        average: scores.Average = "macro",
        calibration: Calibration = "auto",
        chunks: int = DEFAULT_CHUNKS,
    ) -> CBPE:
        """Calibrate on ``reference`` (every row labelled) and set each metric's thresholds
        from its variation across ``chunks`` parts of the reference."""
        import numpy as np

        if calibration not in ("auto", "isotonic", "none"):
            raise InvalidArgument(
                f"calibration: must be 'auto', 'isotonic' or 'none', got {calibration!r}"
            )
        if average not in ("macro", "weighted"):
            raise InvalidArgument(f"average: must be 'macro' or 'weighted', got {average!r}")
        if not isinstance(chunks, int) or chunks < 2:
            raise InvalidArgument(f"chunks: must be an integer of at least 2, got {chunks!r}")
        frame = to_polars(reference, field="reference")
        require_columns(frame, [prediction, label], field="reference")
        if time in frame.columns:
            frame = frame.sort(time)
        frame = frame.filter(~_missing(frame, label))
        score_columns = [c for c in frame.columns if c.startswith(score_prefix)]
        if not score_columns:
            raise InvalidArgument(
                f"reference: no score columns ({score_prefix}<class>); "
                "estimation needs the classifier's probabilities"
            )
        classes = class_list(frame, [prediction, label], score_columns, score_prefix)
        truth = label_codes(frame.get_column(label), classes)
        if len(np.unique(truth)) < 2:
            raise InvalidArgument("reference: the labels must hold at least two classes")
        if frame.height < chunks * 10:
            raise InvalidArgument(
                f"reference: {frame.height} labelled rows is too few for {chunks} chunks "
                "(at least 10 rows a chunk)"
            )
        positive = positive_index(classes, positive_label)
        raw = score_matrix(frame, classes, score_prefix)
        if not np.isfinite(raw).all():
            raise InvalidArgument("reference: scores must be finite numbers")
        calibrated_columns = [positive] if len(classes) == 2 else list(range(len(classes)))
        calibrators: dict[int, Isotonic | None] = {}
        for k in calibrated_columns:
            assert k is not None
            ovr = (truth == k).astype(np.int64)
            wanted = calibration == "isotonic" or (
                calibration == "auto" and needs_calibration(raw[:, k], ovr)
            )
            calibrators[k] = fit_isotonic(raw[:, k], ovr) if wanted else None
        predicted = label_codes(frame.get_column(prediction), classes)
        group = (np.arange(frame.height) * chunks) // frame.height
        matrices = scores.confusion(group, truth, predicted, chunks, len(classes))
        per_chunk = scores.from_confusion(matrices, positive=positive, average=average)
        per_chunk["roc_auc"] = np.array(
            [
                scores.roc_auc_ovr(truth[group == g], raw[group == g], positive=positive)
                for g in range(chunks)
            ]
        )
        thresholds = {m: _bounds(per_chunk[m]) for m in METRICS}
        return cls(
            classes, positive, average, calibrators, thresholds, prediction, score_prefix, time
        )

    def calibrate(self, raw: Any) -> Any:
        """Calibrated ``(rows, classes)`` probabilities from raw scores."""
        import numpy as np

        out = np.clip(raw.astype(float), 0.0, 1.0)
        for k, calibrator in self.calibrators.items():
            if calibrator is not None:
                out[:, k] = calibrator(raw[:, k])
        if len(self.classes) == 2:
            assert self.positive is not None
            out[:, 1 - self.positive] = 1.0 - out[:, self.positive]
            return out
        sums = out.sum(axis=1, keepdims=True)
        return np.where(sums > 0, out / np.where(sums > 0, sums, 1), 1.0 / len(self.classes))

    def estimate(self, data: Any, *, window: str = "1h") -> EstimatedPerformance:
        """Estimated metrics per ``window`` of ``data`` (time, prediction, scores; labels,
        if any, are not read), each flagged when outside its reference thresholds."""
        import numpy as np

        frame = to_polars(data)
        require_columns(frame, [self.time, self.prediction])
        starts, group = window_index(frame, self.time, window)
        groups, k = len(starts), len(self.classes)
        raw = score_matrix(frame, self.classes, self.score_prefix)
        if raw is None:
            raise InvalidArgument(f"data: no score columns ({self.score_prefix}<class>)")
        predicted = label_codes(frame.get_column(self.prediction), self.classes)
        valid = (predicted >= 0) & np.isfinite(raw).all(axis=1)
        probabilities = self.calibrate(np.where(np.isfinite(raw), raw, 0.0))
        expected = np.zeros((groups, k, k))
        cell = group[valid] * k + predicted[valid]
        for t in range(k):
            weights = probabilities[valid, t]
            expected[:, t, :] = np.bincount(cell, weights=weights, minlength=groups * k).reshape(
                groups, k
            )
        values = scores.from_confusion(expected, positive=self.positive, average=self.average)
        values["roc_auc"] = self._auc(group[valid], raw[valid], probabilities[valid], groups)
        rows = np.bincount(group, minlength=groups)
        windows = []
        for index, start in enumerate(starts):
            end = starts[index + 1] if index + 1 < groups else next_start(start, window)
            if rows[index] == 0:
                windows.append(EstimatedWindow(start, end, 0, "no data"))
                continue
            metrics = {m: optional_number(values[m][index]) for m in METRICS}
            alerts = {m: _outside(metrics[m], self.thresholds[m]) for m in METRICS}
            windows.append(EstimatedWindow(start, end, int(rows[index]), "ok", metrics, alerts))
        return EstimatedPerformance(window, windows, dict(self.thresholds))

    def _auc(self, group: Any, raw: Any, probabilities: Any, groups: int) -> Any:
        import numpy as np

        columns = [self.positive] if self.positive is not None else range(len(self.classes))
        out = np.full(groups, np.nan)
        for g in range(groups):
            rows = group == g
            if rows.any():
                aucs = [expected_auc(raw[rows, c], probabilities[rows, c]) for c in columns]
                out[g] = np.nanmean(aucs) if not np.isnan(aucs).all() else np.nan
        return out


def expected_auc(score: Any, probability: Any) -> float:
    """ROC AUC expected when each row is positive with ``probability``, ranked by ``score``
    (ties count a half): expected concordant pairs over expected positive-negative pairs."""
    import numpy as np

    order = np.argsort(score, kind="mergesort")
    s, p = score[order], probability[order]
    negative = 1.0 - p
    _, inverse = np.unique(s, return_inverse=True)
    group_negative = np.bincount(inverse, weights=negative)
    below = np.cumsum(group_negative) - group_negative
    tied = group_negative[inverse] - negative
    concordant = float(np.sum(p * (below[inverse] + 0.5 * tied)))
    pairs = float(p.sum() * negative.sum() - np.sum(p * negative))
    return concordant / pairs if pairs > 0 else float("nan")


def _missing(frame: pl.DataFrame, column: str) -> pl.Series:
    series = frame.get_column(column)
    missing = series.is_null()
    if series.dtype.is_float():
        missing = missing | series.is_nan()
    return missing


def _bounds(values: Any) -> tuple[float, float]:
    import numpy as np

    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return (0.0, 1.0)
    mean, std = float(finite.mean()), float(finite.std())
    return (max(0.0, mean - STD_MULTIPLIER * std), min(1.0, mean + STD_MULTIPLIER * std))


def _outside(value: float | None, bounds: tuple[float, float]) -> bool:
    return value is not None and not bounds[0] <= value <= bounds[1]
