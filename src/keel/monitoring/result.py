"""What a drift comparison returns: a verdict per column and for the dataset, as objects,
as a dict in the documented shape, as JSON and as a self-contained HTML report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.monitoring.quality import ColumnQuality
    from keel.monitoring.reference import ColumnReference
    from keel.monitoring.window import Window


@dataclass(frozen=True)
class ColumnDrift:
    """One column's verdict. ``status`` is "ok" when it was tested, "no data" when the
    window (or the reference) has no values for it: then ``score`` is None and it never
    drifts."""

    column: str
    kind: str
    test: str | None
    score: float | None
    threshold: float | None
    drifted: bool
    status: str = "ok"
    quality: ColumnQuality | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "column": self.column,
            "kind": self.kind,
            "test": self.test,
            "score": self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "status": self.status,
        }
        if self.quality is not None:
            data["quality"] = asdict(self.quality)
        return data


@dataclass(frozen=True)
class DatasetDrift:
    """The dataset's verdict: ``share`` of the tested columns that drifted; ``drifted``
    when the share reaches ``threshold`` (0.5, Evidently's default). ``status`` is
    "no data" when no column could be tested."""

    share: float
    drifted: bool
    columns: int
    drifted_columns: int
    threshold: float = 0.5
    status: str = "ok"
    reference_rows: int = 0
    current_rows: int = 0


@dataclass(frozen=True)
class DriftResult:
    """Per-column verdicts (``columns``), the dataset's (``dataset``), and what in the
    window breaks the model's signature when one was given (``violations``)."""

    columns: list[ColumnDrift]
    dataset: DatasetDrift
    violations: list[str] = field(default_factory=list)
    _sketches: dict[str, tuple[ColumnReference, Window]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __getitem__(self, column: str) -> ColumnDrift:
        for entry in self.columns:
            if entry.column == column:
                return entry
        raise KeyError(column)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def notes(self) -> list[str]:
        """Sentences on what the verdicts alone do not say: a window too small for its
        tests, a column gone null, new categories."""
        from keel.monitoring.notes import drift_notes

        return drift_notes(self)

    def to_dict(self) -> dict[str, Any]:
        """``{"dataset": {"share", "drifted", ...}, "columns": [{"column", "test",
        "score", "threshold", "drifted", ...}, ...]}``."""
        return {
            "dataset": asdict(self.dataset),
            "columns": [c.to_dict() for c in self.columns],
            "violations": self.violations,
            "notes": self.notes,
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, default=str)

    def to_html(self) -> str:
        """A self-contained page: no scripts, no external requests; every name and value
        escaped."""
        from keel.monitoring.report import render

        return render(self)
