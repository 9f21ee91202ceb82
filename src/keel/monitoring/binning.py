"""The fixed fine grid a reference's numeric column is binned on, shared by the reference
and every window compared with it, so their histograms line up bin for bin."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

FINE_BINS = 1 << 14
"""Equal-width bins between the reference's min and max: the normed Wasserstein distance
read from them is within (max - min) / (16,384 · std) of the exact one."""

FEW_VALUES = 64
"""Distinct values counted exactly per numeric column (enough for Evidently's ≤ 5 and
≤ 20 rules); past this a column is "many-valued"."""


def bin_indices(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    """The fine bin of each value in [low, high] (values outside must be removed first)."""
    import numpy as np

    if high <= low:
        return np.zeros(values.size, dtype=np.intp)
    index = ((values - low) * (bins / (high - low))).astype(np.intp)
    np.minimum(index, bins - 1, out=index)
    np.maximum(index, 0, out=index)
    return index


def histogram(values: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    """Counts of ``values`` (all within [low, high]) in the equal-width grid."""
    import numpy as np

    return np.bincount(bin_indices(values, low, high, bins), minlength=bins).astype(np.int64)


def regroup(counts: np.ndarray, groups: int) -> np.ndarray:
    """Fine counts summed into ``groups`` contiguous, nearly equal runs of bins."""
    import numpy as np

    bounds = np.linspace(0, counts.size, groups + 1).round().astype(np.intp)
    cumulative = np.concatenate([[0], np.cumsum(counts)])
    return np.diff(cumulative[bounds])
