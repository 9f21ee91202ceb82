"""Metrics: one point, and a whole series stored by column."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True, slots=True)
class Metric:
    """One measured point. Argument order matches MLflow's ``Metric``."""

    key: str
    value: float
    timestamp: int
    step: int = 0


class MetricHistory(Sequence[Metric]):
    """A metric's series for one run, held as three columns.

    Keeping columns (not a list of objects) makes a 100,000-step history cheap to move and
    to plot: ``history.steps``, ``history.values`` and ``history.timestamps`` are plain
    lists; indexing or iterating yields :class:`Metric` objects on demand.

    >>> h = MetricHistory("loss", [0, 1], [0.5, 0.25], [1000, 2000])
    >>> h[1]
    Metric(key='loss', value=0.25, timestamp=2000, step=1)
    """

    __slots__ = ("key", "steps", "timestamps", "total", "values")

    def __init__(
        self,
        key: str,
        steps: list[int],
        values: list[float],
        timestamps: list[int],
        *,
        total: int | None = None,
    ) -> None:
        if not len(steps) == len(values) == len(timestamps):
            raise ValueError("steps, values and timestamps must have the same length")
        self.key = key
        self.steps = steps
        self.values = values
        self.timestamps = timestamps
        # How many points the full series has; larger than len(self) when downsampled.
        self.total = len(steps) if total is None else total

    @classmethod
    def join(cls, chunks: Iterable[MetricHistory]) -> MetricHistory:
        """One history from the consecutive chunks of one series, as a store's
        ``iter_metric_history`` gives them (at least one)."""
        steps: list[int] = []
        values: list[float] = []
        timestamps: list[int] = []
        last: MetricHistory | None = None
        for last in chunks:
            steps += last.steps
            values += last.values
            timestamps += last.timestamps
        if last is None:
            raise ValueError("MetricHistory.join: no chunks")
        return cls(last.key, steps, values, timestamps, total=last.total)

    def __len__(self) -> int:
        return len(self.steps)

    @overload
    def __getitem__(self, index: int) -> Metric: ...
    @overload
    def __getitem__(self, index: slice) -> MetricHistory: ...
    def __getitem__(self, index: int | slice) -> Metric | MetricHistory:
        if isinstance(index, slice):
            return MetricHistory(
                self.key, self.steps[index], self.values[index], self.timestamps[index]
            )
        return Metric(self.key, self.values[index], self.timestamps[index], self.steps[index])

    def __iter__(self) -> Iterator[Metric]:
        key = self.key
        for step, value, ts in zip(self.steps, self.values, self.timestamps, strict=True):
            yield Metric(key, value, ts, step)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricHistory):
            return NotImplemented
        return (
            self.key == other.key
            and self.steps == other.steps
            and self.timestamps == other.timestamps
            and all(_same_float(a, b) for a, b in zip(self.values, other.values, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = f"{len(self)} of {self.total}" if self.total != len(self) else f"{len(self)}"
        return f"MetricHistory(key={self.key!r}, points={shown})"

    @property
    def is_downsampled(self) -> bool:
        return self.total > len(self)

    def to_columns(self) -> dict[str, Any]:
        return {"step": self.steps, "value": self.values, "timestamp": self.timestamps}

    def to_pandas(self) -> pandas.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.to_columns())


def _same_float(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))
