"""Isotonic calibration of class scores, in numpy, and the test of whether it is needed.

:func:`fit_isotonic` is the pool-adjacent-violators algorithm: the non-decreasing step
function closest (least squares) to the labels in score order; scores between its steps
are interpolated linearly and those outside clipped, as scikit-learn's
``IsotonicRegression(out_of_bounds="clip")``. :func:`needs_calibration` follows NannyML:
over repeated 90/10 splits, calibrate on the 90 and compare the expected calibration error
(10 equal-width bins) of the 10 before and after; calibrate when it goes down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SPLITS = 10
TEST_SHARE = 0.1
BINS = 10
SEED = 42


@dataclass(frozen=True, slots=True)
class Isotonic:
    """A fitted step function: ``x`` increasing, ``y`` non-decreasing in [0, 1]."""

    x: Any
    y: Any

    def __call__(self, scores: Any) -> Any:
        import numpy as np

        if len(self.x) == 1:
            return np.full(len(scores), float(self.y[0]))
        return np.interp(scores, self.x, self.y)


def fit_isotonic(scores: Any, truth: Any) -> Isotonic:
    """Fit on ``scores`` and 0/1 ``truth`` (same length, finite, at least one row)."""
    import numpy as np

    order = np.argsort(scores, kind="mergesort")
    x, y = scores[order], truth[order].astype(float)
    unique, inverse = np.unique(x, return_inverse=True)
    weight = np.bincount(inverse).astype(float)
    mean = np.bincount(inverse, weights=y) / weight
    # pool adjacent violators over the distinct scores: a stack of blocks
    values: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for value, w in zip(mean.tolist(), weight.tolist(), strict=True):
        values.append(value)
        weights.append(w)
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            w_top, w_below = weights.pop(), weights[-1]
            v_top = values.pop()
            values[-1] = (values[-1] * w_below + v_top * w_top) / (w_below + w_top)
            weights[-1] = w_below + w_top
            size = sizes.pop()
            sizes[-1] += size
    fitted = np.repeat(np.asarray(values), np.asarray(sizes))
    return Isotonic(unique, np.clip(fitted, 0.0, 1.0))


def expected_calibration_error(probabilities: Any, truth: Any, bins: int = BINS) -> float:
    import numpy as np

    index = np.minimum((probabilities * bins).astype(np.int64), bins - 1)
    mean_p = np.bincount(index, weights=probabilities, minlength=bins)
    mean_y = np.bincount(index, weights=truth.astype(float), minlength=bins)
    return float(np.abs(mean_p - mean_y).sum() / max(len(probabilities), 1))


def needs_calibration(scores: Any, truth: Any) -> bool:
    """Whether isotonic calibration lowers the calibration error on held-out rows."""
    import numpy as np

    if len(scores) < 2 * SPLITS or np.array_equal(scores, truth.astype(float)):
        return False
    rng = np.random.default_rng(SEED)
    before, after = 0.0, 0.0
    test_size = max(1, int(len(scores) * TEST_SHARE))
    for _ in range(SPLITS):
        order = rng.permutation(len(scores))
        test, train = order[:test_size], order[test_size:]
        calibrator = fit_isotonic(scores[train], truth[train])
        before += expected_calibration_error(scores[test], truth[test])
        after += expected_calibration_error(calibrator(scores[test]), truth[test])
    return after < before
