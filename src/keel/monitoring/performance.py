"""Realised performance over time: predictions joined with their labels, scored per window.

>>> result = realised_performance(frame, window="1h")                   # doctest: +SKIP
>>> [(w.start, w.status, w.metrics.get("accuracy")) for w in result.windows]  # doctest: +SKIP
[(datetime(2026, 5, 1, 9, 0, tzinfo=UTC), 'ok', 0.93),
 (datetime(2026, 5, 1, 10, 0, tzinfo=UTC), 'no labels', None), ...]

The table holds one row per prediction: ``time``, ``prediction``, ``label`` (null until
feedback arrives) and, for classifiers that give them, ``score.<class>`` columns, the
prediction log's layout. :func:`join_feedback` builds it from a prediction log and its
feedback, however late the labels came. Windows are fixed steps (``"15m"``, ``"1h"``,
``"1d"``, polars' duration strings) from the first prediction's window to the last's; a
window with predictions but no label says ``"no labels"``, one without predictions
``"no data"``, and neither carries a number.

Classifiers get accuracy, precision, recall, F1 (of ``positive_label`` for two classes, or
``average``\\d over the classes for more), and with scores ROC AUC and log-loss;
regressors RMSE, MAE and MAPE. Rows whose label or prediction is null, NaN or infinite
are not scored (counted in ``labelled`` only when they are).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from keel.errors import InvalidArgument
from keel.monitoring import scores
from keel.monitoring.tables import (
    label_codes,
    label_text,
    require_columns,
    sorted_classes,
    to_polars,
    utc_times,
)

if TYPE_CHECKING:
    import polars as pl

ModelType = Literal["classifier", "regressor"]
Status = Literal["ok", "no labels", "no data"]
MODEL_TYPES = ("classifier", "regressor")
CLASSIFIER_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSOR_METRICS = ("rmse", "mae", "mape")
MAX_WINDOWS = 100_000
"""More windows than this is a window too small for the span (a second over a month)."""


@dataclass(frozen=True, slots=True)
class WindowPerformance:
    """One window's scores; ``metrics`` is empty unless ``status`` is ``"ok"``, and a
    metric that cannot be computed there (ROC AUC with one class) is None."""

    start: datetime
    end: datetime
    rows: int
    labelled: int
    status: Status
    metrics: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "labelled": self.labelled,
            "status": self.status,
            "metrics": dict(self.metrics),
        }


@dataclass(frozen=True, slots=True)
class PerformanceResult:
    model_type: ModelType
    window: str
    windows: list[WindowPerformance]
    classes: list[str] = field(default_factory=list)
    positive_label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_type": self.model_type,
            "window": self.window,
            "classes": list(self.classes),
            "positive_label": self.positive_label,
            "windows": [w.to_dict() for w in self.windows],
        }

    def to_polars(self) -> pl.DataFrame:
        """One row per window: start, end, rows, labelled, status and one column per metric."""
        import polars as pl

        names = CLASSIFIER_METRICS if self.model_type == "classifier" else REGRESSOR_METRICS
        return pl.DataFrame(
            {
                "start": [w.start for w in self.windows],
                "end": [w.end for w in self.windows],
                "rows": [w.rows for w in self.windows],
                "labelled": [w.labelled for w in self.windows],
                "status": [w.status for w in self.windows],
                **{m: [w.metrics.get(m) for w in self.windows] for m in names},
            },
            schema_overrides={m: pl.Float64 for m in names},
        )


def join_feedback(
    predictions: Any, feedback: Any, *, id_column: str = "prediction_id"
) -> pl.DataFrame:
    """Each prediction with its label: the latest feedback for its id (by feedback
    ``time``) wins, so a corrected label replaces the first; predictions without feedback
    get a null label."""
    import polars as pl

    left = to_polars(predictions, field="predictions")
    right = to_polars(feedback, field="feedback")
    require_columns(left, [id_column], field="predictions")
    require_columns(right, [id_column, "label"], field="feedback")
    if "time" in right.columns:
        right = right.sort("time")
    latest = right.group_by(id_column, maintain_order=True).agg(pl.col("label").last())
    if "label" in left.columns:
        left = left.drop("label")
    return left.join(latest, on=id_column, how="left")


def realised_performance(
    data: Any,
    *,
    model_type: ModelType = "classifier",
    window: str = "1h",
    time: str = "time",
    prediction: str = "prediction",
    label: str = "label",
    score_prefix: str = "score.",
    positive_label: Any = None,
    average: scores.Average = "macro",
) -> PerformanceResult:
    """Score ``data`` per ``window``; see the module's docstring for the table's columns."""
    import numpy as np

    if model_type not in MODEL_TYPES:
        raise InvalidArgument(f"model_type: must be one of {list(MODEL_TYPES)}, got {model_type!r}")
    if average not in ("macro", "weighted"):
        raise InvalidArgument(f"average: must be 'macro' or 'weighted', got {average!r}")
    frame = to_polars(data)
    require_columns(frame, [time, prediction, label])
    starts, group = window_index(frame, time, window)
    groups = len(starts)
    rows = np.bincount(group, minlength=groups) if groups else np.zeros(0, dtype=np.int64)
    if model_type == "regressor":
        truth = _floats(frame, label)
        predicted = _floats(frame, prediction)
        labelled = np.bincount(group[np.isfinite(truth)], minlength=groups)
        values = scores.regression(group, truth, predicted, groups)
        return PerformanceResult(
            model_type, window, _windows(starts, window, rows, labelled, values)
        )
    score_columns = [c for c in frame.columns if c.startswith(score_prefix)]
    classes = class_list(frame, [prediction, label], score_columns, score_prefix)
    positive = positive_index(classes, positive_label)
    truth = label_codes(frame.get_column(label), classes)
    predicted = label_codes(frame.get_column(prediction), classes)
    labelled = np.bincount(group[truth >= 0], minlength=groups)
    matrices = scores.confusion(group, truth, predicted, groups, len(classes))
    values = scores.from_confusion(matrices, positive=positive, average=average)
    probabilities = score_matrix(frame, classes, score_prefix)
    if probabilities is not None:
        values["log_loss"] = scores.log_loss(group, truth, probabilities, groups)
        values["roc_auc"] = _auc_per_group(group, truth, probabilities, groups, positive)
    return PerformanceResult(
        model_type,
        window,
        _windows(starts, window, rows, labelled, values),
        classes=classes,
        positive_label=None if positive is None else classes[positive],
    )


def window_index(frame: pl.DataFrame, time: str, window: str) -> tuple[list[datetime], Any]:
    """The windows' starts, every step from the first row's window to the last's, and each
    row's window index."""
    import numpy as np
    import polars as pl

    times = utc_times(frame, time)
    if times.null_count():
        raise InvalidArgument(f"{time}: {times.null_count()} row(s) have no time")
    if len(times) == 0:
        return [], np.zeros(0, dtype=np.int64)
    try:
        truncated = times.dt.truncate(window)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError, ValueError) as exc:
        raise InvalidArgument(
            f"window: {window!r} is not a duration such as '15m', '1h' or '1d' ({exc})"
        ) from None
    first: Any = truncated.min()
    last: Any = truncated.max()
    try:
        step = pl.Series([first]).dt.offset_by(window)[0] - first
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError, ValueError):
        step = None
    if step is not None and step.total_seconds() > 0:
        count = (last - first) / step + 1
        if count > MAX_WINDOWS:
            raise InvalidArgument(
                f"window: {window!r} cuts {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} "
                f"into about {count:,.0f} windows (at most {MAX_WINDOWS:,}); use a longer one"
            )
    starts: pl.Series = pl.datetime_range(first, last, window, eager=True, time_zone="UTC")
    group = starts.search_sorted(truncated).to_numpy().astype(np.int64)
    return starts.to_list(), group


def class_list(
    frame: pl.DataFrame, columns: Sequence[str], score_columns: Sequence[str], prefix: str
) -> list[str]:
    values: set[str] = {c[len(prefix) :] for c in score_columns}
    for column in columns:
        values.update(v for v in label_text(frame.get_column(column)).unique() if v is not None)
    return sorted_classes(list(values))


def positive_index(classes: list[str], positive_label: Any) -> int | None:
    """The positive class for binary scores: ``positive_label``, else ``"1"`` or the last
    class in order; None (averaged scores) for more than two classes."""
    if positive_label is not None:
        import polars as pl

        wanted = label_text(pl.Series([positive_label]))[0]
        if wanted not in classes:
            raise InvalidArgument(
                f"positive_label: {positive_label!r} is not among the classes {classes[:20]}"
            )
        return classes.index(wanted) if len(classes) <= 2 else None
    if len(classes) > 2:
        return None
    if "1" in classes:
        return classes.index("1")
    return len(classes) - 1


def score_matrix(frame: pl.DataFrame, classes: list[str], prefix: str) -> Any:
    """``(rows, classes)`` probabilities from the ``score.<class>`` columns; with two
    classes one column is enough (the other is its complement). None without scores."""
    import numpy as np

    present = {c: f"{prefix}{c}" in frame.columns for c in classes}
    if not any(present.values()):
        return None
    if len(classes) == 2 and not all(present.values()):
        known = 0 if present[classes[0]] else 1
        column = frame.get_column(f"{prefix}{classes[known]}").cast(float).to_numpy()
        out = np.empty((len(column), 2))
        out[:, known], out[:, 1 - known] = column, 1.0 - column
        return out
    missing = [f"{prefix}{c}" for c, ok in present.items() if not ok]
    if missing:
        raise InvalidArgument(
            f"scores: a column per class is needed for more than two classes; missing {missing}"
        )
    return np.column_stack(
        [frame.get_column(f"{prefix}{c}").cast(float).to_numpy() for c in classes]
    )


def _auc_per_group(group: Any, truth: Any, probabilities: Any, groups: int, positive: Any) -> Any:
    import numpy as np

    keep = (truth >= 0) & np.isfinite(probabilities).all(axis=1)
    order = np.argsort(group[keep], kind="stable")
    g, y, p = group[keep][order], truth[keep][order], probabilities[keep][order]
    bounds = np.searchsorted(g, np.arange(groups + 1))
    out = np.full(groups, np.nan)
    for index in range(groups):
        lo, hi = bounds[index], bounds[index + 1]
        if hi > lo:
            out[index] = scores.roc_auc_ovr(y[lo:hi], p[lo:hi], positive=positive)
    return out


def _floats(frame: pl.DataFrame, column: str) -> Any:
    import numpy as np
    import polars as pl

    series = frame.get_column(column)
    if not series.dtype.is_numeric():
        raise InvalidArgument(f"{column}: a regressor's values must be numbers, got {series.dtype}")
    return series.cast(pl.Float64).fill_null(float("nan")).to_numpy().astype(np.float64)


def _windows(
    starts: list[datetime],
    window: str,
    rows: Any,
    labelled: Any,
    values: dict[str, Any],
) -> list[WindowPerformance]:
    out = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else next_start(start, window)
        count, known = int(rows[index]), int(labelled[index])
        status: Status = "no data" if count == 0 else "no labels" if known == 0 else "ok"
        metrics: dict[str, float | None] = {}
        if status == "ok":
            metrics = {name: optional_number(v[index]) for name, v in values.items()}
        out.append(WindowPerformance(start, end, count, known, status, metrics))
    return out


def next_start(start: datetime, window: str) -> datetime:
    """The start of the window after the one starting at ``start``."""
    import polars as pl

    return pl.Series([start]).dt.offset_by(window)[0]


def optional_number(value: Any) -> float | None:
    """A float, or None for NaN (a metric that could not be computed)."""
    number = float(value)
    return None if math.isnan(number) else number
