"""The evaluation's PNGs, drawn with matplotlib (the ``plots`` extra) on figures of their
own: no pyplot, no global state, no display needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keel.monitoring.curves import Curve

DPI = 100


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _figure(width: float = 6.0, height: float = 5.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def confusion_matrix(matrix: Any, labels: Sequence[str], path: Path) -> Path:
    figure = _figure()
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = range(len(labels))
    axes.set_xticks(ticks, labels=list(labels), rotation=45, ha="right")
    axes.set_yticks(ticks, labels=list(labels))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("Confusion matrix")
    if len(labels) <= 20:
        middle = matrix.max() / 2 if matrix.size else 0
        for (row, column), count in _cells(matrix):
            colour = "white" if count > middle else "black"
            axes.text(column, row, f"{count:g}", ha="center", va="center", color=colour)
    return _save(figure, path)


def _cells(matrix: Any) -> list[tuple[tuple[int, int], float]]:
    rows, columns = matrix.shape
    return [((r, c), float(matrix[r, c])) for r in range(rows) for c in range(columns)]


def curves(
    named: dict[str, Curve], path: Path, *, title: str, x_label: str, y_label: str, diagonal: bool
) -> Path:
    """One line per curve (a class, one-vs-rest, or the positive class)."""
    figure = _figure()
    axes = figure.add_subplot()
    for name, curve in named.items():
        axes.plot(curve.x, curve.y, label=f"class {name}")
    if diagonal:
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title)
    axes.legend(loc="lower right" if diagonal else "lower left")
    return _save(figure, path)


def residuals(truth: Any, predicted: Any, path: Path) -> Path:
    """Residual (truth - prediction) against prediction."""
    figure = _figure(7.0, 5.0)
    axes = figure.add_subplot()
    axes.scatter(predicted, truth - predicted, s=4, alpha=0.4)
    axes.axhline(0, color="grey", linestyle="--", linewidth=1)
    axes.set_xlabel("prediction")
    axes.set_ylabel("residual (truth - prediction)")
    axes.set_title("Residuals")
    return _save(figure, path)
