"""A current window folded, batch by batch, against a reference's statistics: counts on
the reference's own bins and categories, so memory depends on the reference, never on
how many rows the window has."""

from __future__ import annotations

import math
from typing import Any

from keel.monitoring.binning import FEW_VALUES
from keel.monitoring.columns import category_counts, numeric_values
from keel.monitoring.reference import CategoricalReference, NumericReference

NEW_CATEGORY_CAP = 10_000
"""Categories absent from the reference counted by name per window; more share a bucket."""


class NumericWindow:
    """A numeric column of the current window: counts, moments, the reference-grid
    histogram, the mass and distance beyond the reference's min and max, exact counts of
    few values, and, when the reference kept its values, counts below and at each."""

    def __init__(self, reference: NumericReference) -> None:
        import numpy as np

        self.reference = reference
        self.rows = self.nulls = self.posinf = self.neginf = self.count = 0
        self.min, self.max = float("inf"), float("-inf")
        self._shifted_mean = self.m2 = 0.0
        self.below = self.above = 0
        self.below_distance = self.above_distance = 0.0
        bins = 0 if reference.hist is None else reference.hist.size
        self.hist = np.zeros(bins, dtype=np.int64)
        # values other than the reference's few, counted while they are few themselves
        self.distinct: dict[float, int] | None = None
        if reference.distinct is not None:
            self.distinct = {}
            self._known = np.asarray(sorted(reference.distinct), dtype=np.float64)
            self.at_known = np.zeros(self._known.size, dtype=np.int64)
        self.at_reference: Any = None  # counts of values equal to each reference value
        self.before_reference: Any = None  # counts of values in each gap between them
        if reference.values is not None:
            points = np.unique(reference.values)
            self._points = points
            self.at_reference = np.zeros(points.size, dtype=np.int64)
            self.before_reference = np.zeros(points.size + 1, dtype=np.int64)

    def add(self, column: Any) -> None:
        import numpy as np

        x = numeric_values(column)
        self.rows += x.size
        ref = self.reference
        # shifted by the reference's min: the grid's offset, and a stable origin for moments
        shifted = x - ref.min
        total = float(shifted.sum())
        if not math.isfinite(total):  # NaN or infinities: count them, keep the rest
            finite = np.isfinite(shifted)
            self.nulls += int(np.isnan(x).sum())
            self.posinf += int(np.isposinf(x).sum())
            self.neginf += int(np.isneginf(x).sum())
            x, shifted = x[finite], shifted[finite]
            total = float(shifted.sum())
        if x.size == 0:
            return
        low, high = float(x.min()), float(x.max())
        self.min, self.max = min(self.min, low), max(self.max, high)
        self._moments(shifted, total)
        if ref.count:
            self._bin(x, shifted, outside=low < ref.min or high > ref.max)
        if self.at_reference is not None:
            self._against_points(x)
        if ref.distinct is not None:
            self._count_values(x)

    def _moments(self, shifted: Any, total: float) -> None:
        """Chan's parallel update of count, mean and sum of squared deviations (kept
        relative to the reference's min, added back when read)."""
        import numpy as np

        n = shifted.size
        mean = total / n
        # einsum, not BLAS: a BLAS dot wakes its threads, slow on a busy machine
        m2 = max(float(np.einsum("i,i->", shifted, shifted)) - n * mean * mean, 0.0)
        combined = self.count + n
        delta = mean - self._shifted_mean
        self.m2 += m2 + delta * delta * self.count * n / combined
        self._shifted_mean += delta * n / combined
        self.count = combined

    def _bin(self, x: Any, shifted: Any, *, outside: bool) -> None:
        """Fine-grid counts; the count and distance of values beyond either end."""
        import numpy as np

        ref = self.reference
        span = ref.max - ref.min
        bins = self.hist.size
        if outside:
            below, above = x < ref.min, x > ref.max
            self.below += int(below.sum())
            self.above += int(above.sum())
            self.below_distance += float((ref.min - x[below]).sum())
            self.above_distance += float((x[above] - ref.max).sum())
            shifted = shifted[~(below | above)]
        if span <= 0:
            self.hist[0] += shifted.size
            return
        shifted *= bins / span
        index = shifted.astype(np.intp)
        np.minimum(index, bins - 1, out=index)
        self.hist += np.bincount(index, minlength=bins)

    @property
    def mean(self) -> float:
        return self._shifted_mean + self.reference.min if self.count else 0.0

    def _against_points(self, x: Any) -> None:
        import numpy as np

        points = self._points
        right = np.searchsorted(points, x, side="right")  # points <= value
        hit = right > 0
        hit[hit] = points[right[hit] - 1] == x[hit]
        at = np.bincount(right[hit] - 1, minlength=points.size)
        self.at_reference += at
        self.before_reference += np.bincount(right[~hit], minlength=points.size + 1)

    def _count_values(self, x: Any) -> None:
        """Counts at each of the reference's few values (always), and of every value
        while the window holds at most FEW_VALUES distinct ones (``distinct`` then
        becomes None)."""
        import numpy as np

        known = self._known
        position = np.searchsorted(known, x)
        matched = position < known.size
        matched[matched] = known[position[matched]] == x[matched]
        self.at_known += np.bincount(position[matched], minlength=known.size)
        if self.distinct is None:
            return
        if not matched.all():
            values, counts = np.unique(x[~matched], return_counts=True)
            if len(self.distinct.keys() | set(values.tolist())) > FEW_VALUES:
                self.distinct = None
                return
            for value, n in zip(values.tolist(), counts.tolist(), strict=True):
                self.distinct[value] = self.distinct.get(value, 0) + n

    def reference_value_counts(self) -> dict[float, int]:
        """How often each of the reference's few values occurs in the window (exact
        however many other values the window holds)."""
        return dict(zip(self._known.tolist(), self.at_known.tolist(), strict=True))

    def value_counts(self) -> dict[float, int] | None:
        """Every value's count, when the window has at most FEW_VALUES distinct values."""
        if self.distinct is None:
            return None
        counts = {v: n for v, n in self.reference_value_counts().items() if n}
        return counts | self.distinct

    @property
    def std(self) -> float:
        return (self.m2 / self.count) ** 0.5 if self.count else 0.0


class CategoricalWindow:
    """A categorical column of the current window: counts of the reference's categories,
    of up to NEW_CATEGORY_CAP new ones by name, and of the rest in one bucket."""

    def __init__(self, reference: CategoricalReference) -> None:
        self.reference = reference
        self.rows = self.nulls = 0
        self.counts: dict[Any, int] = {}
        self.new_other = 0  # rows of new categories past the cap

    @property
    def count(self) -> int:
        return sum(self.counts.values()) + self.new_other

    def add(self, column: Any) -> None:
        values, counts, nulls = category_counts(column)
        self.nulls += nulls
        self.rows += int(counts.sum()) + nulls
        known = self.reference.counts
        mine = self.counts
        new_allowed = NEW_CATEGORY_CAP - sum(1 for v in mine if v not in known)
        for value, n in zip(values, counts.tolist(), strict=True):
            if value in mine:
                mine[value] += n
            elif value in known or new_allowed > 0:
                mine[value] = n
                if value not in known:
                    new_allowed -= 1
            else:
                self.new_other += n

    def new_categories(self) -> dict[Any, int]:
        known = self.reference.counts
        return {v: n for v, n in self.counts.items() if v not in known}


Window = NumericWindow | CategoricalWindow


def window_for(reference: NumericReference | CategoricalReference) -> Window:
    if isinstance(reference, NumericReference):
        return NumericWindow(reference)
    return CategoricalWindow(reference)
