"""The files ``keel.evaluate`` writes: data as JSON always, PNGs when matplotlib is there.

Names (MLflow's where it has one): ``confusion_matrix`` (the PNG; its counts are
``confusion_matrix_data``), ``roc_curve_plot``/``roc_curve_data``,
``precision_recall_curve_plot``/``precision_recall_curve_data``, ``residuals_plot``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from keel.monitoring import plots
from keel.monitoring.evaluation_scores import Scored

log = logging.getLogger("keel.monitoring")
RESIDUAL_POINTS = 10_000


def write_artifacts(scored: Scored, truth: Any, model_type: str, folder: Path) -> dict[str, Path]:
    """Write the artifacts into ``folder``; their names to their paths."""
    files: dict[str, Path] = {}
    drawing = plots.available()
    if not drawing:
        log.warning("keel.evaluate: matplotlib is not installed (keel-mlops[plots]); no PNGs")
    if model_type == "classifier":
        files["confusion_matrix_data"] = _json(
            folder / "confusion_matrix.json",
            {"labels": scored.classes, "matrix": scored.confusion.astype(int).tolist()},
        )
        if scored.roc:
            files["roc_curve_data"] = _json(
                folder / "roc_curve.json",
                {k: c.to_dict("fpr", "tpr") for k, c in scored.roc.items()},
            )
            files["precision_recall_curve_data"] = _json(
                folder / "precision_recall_curve.json",
                {k: c.to_dict("recall", "precision") for k, c in scored.precision_recall.items()},
            )
        if drawing:
            files["confusion_matrix"] = plots.confusion_matrix(
                scored.confusion, scored.classes, folder / "confusion_matrix.png"
            )
            if scored.roc:
                files["roc_curve_plot"] = plots.curves(
                    scored.roc,
                    folder / "roc_curve_plot.png",
                    title="ROC curve",
                    x_label="false positive rate",
                    y_label="true positive rate",
                    diagonal=True,
                )
                files["precision_recall_curve_plot"] = plots.curves(
                    scored.precision_recall,
                    folder / "precision_recall_curve_plot.png",
                    title="Precision-recall curve",
                    x_label="recall",
                    y_label="precision",
                    diagonal=False,
                )
    elif drawing and scored.predicted is not None:
        y, p = _sample(truth, scored.predicted)
        files["residuals_plot"] = plots.residuals(y, p, folder / "residuals_plot.png")
    return files


def _json(path: Path, content: Any) -> Path:
    path.write_text(json.dumps(content, indent=1), encoding="utf-8")
    return path


def _sample(truth: Any, predicted: Any) -> tuple[Any, Any]:
    """At most RESIDUAL_POINTS finite pairs, picked evenly (a plot, not a statistic)."""
    import numpy as np

    y = np.asarray(truth, dtype=float).reshape(-1)
    p = np.asarray(predicted, dtype=float).reshape(-1)
    keep = np.isfinite(y) & np.isfinite(p)
    y, p = y[keep], p[keep]
    if len(y) > RESIDUAL_POINTS:
        index = np.linspace(0, len(y) - 1, RESIDUAL_POINTS).astype(int)
        y, p = y[index], p[index]
    return y, p
