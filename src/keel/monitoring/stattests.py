"""The drift tests, each read from a reference's statistics and a window's counts, and the
automatic choice among them.

The choice and thresholds are Evidently's documented defaults, so users get the verdicts
they know: a numeric column (an integer column with at most 5 values in the reference
counts as categorical, as Evidently types it) with more than 5 distinct values (reference and window
together) gets Kolmogorov-Smirnov when the reference has at most 1,000 values and the
Wasserstein distance normed by the reference's std (0.1) above; a categorical or
low-cardinality column gets chi-squared (the z-test for two proportions when there are
two values) at most 1,000, the Jensen-Shannon distance (0.1) above. p-values drift below
0.05 (KS at or below, as Evidently); distances at or above their threshold.

Exact where the statistics allow: KS on a reference of at most 1,000 values, and every
test on counts of categories (up to the caps in ``reference``). The Wasserstein distance,
and KS on a larger reference, are read from the reference's 16,384-bin grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from keel.errors import InvalidArgument
from keel.monitoring.binning import regroup
from keel.monitoring.reference import CategoricalReference, ColumnReference, NumericReference
from keel.monitoring.window import CategoricalWindow, NumericWindow, Window

EXACT_ROWS = 1000
"""Evidently's limit between the p-value tests and the distances."""

FEW_VALUES = 5
"""Numeric columns with at most this many distinct values are tested as categories."""

KS_EXACT_MAX = 10_000
"""scipy's ks_2samp computes the exact p-value up to this many values per sample."""


class _Other:
    """The key of one bucket for categories beyond a cap, or unseen in the reference:
    an object of its own, so that no category's name can collide with it."""

    def __repr__(self) -> str:
        return "(other)"


OTHER: Any = _Other()


@dataclass(frozen=True)
class StatTest:
    """A test: its name, what its score is, its default threshold, how to compute it."""

    name: str
    score: Literal["p_value", "distance"]
    threshold: float
    compute: Callable[[ColumnReference, Window], float]
    kinds: tuple[str, ...] = ("numeric", "categorical")
    inclusive: bool = False  # a p-value equal to the threshold drifts (KS, as Evidently)

    def drifted(self, score: float, threshold: float) -> bool:
        if self.score == "p_value":
            return score <= threshold if self.inclusive else score < threshold
        return score >= threshold


# ---- counts of categories (and of a numeric column's few values) ----------------------


def count_table(ref: ColumnReference, win: Window) -> tuple[list[Any], Any, Any]:
    """(keys, reference counts, window counts) over every value seen on either side;
    values past a cap, or unknown when the reference lumped some, share ``OTHER``."""
    import numpy as np

    ref_counts: dict[Any, int]
    cur_counts: dict[Any, int]
    if isinstance(ref, NumericReference):
        assert isinstance(win, NumericWindow)
        ref_counts = dict(ref.distinct or {})
        cur_counts = dict(win.value_counts() or {})
        if win.distinct is None:  # many values: the reference's exactly, the rest together
            cur_counts = win.reference_value_counts()
            cur_counts[OTHER] = win.count - sum(cur_counts.values())
        ref_other = 0
    else:
        assert isinstance(win, CategoricalWindow)
        ref_counts = dict(ref.counts)
        ref_other = ref.other
        cur_counts = {}
        for value, n in win.counts.items():
            key = value if value in ref_counts or not ref_other else OTHER
            cur_counts[key] = cur_counts.get(key, 0) + n
        if win.new_other:
            cur_counts[OTHER] = cur_counts.get(OTHER, 0) + win.new_other
    if ref_other:
        ref_counts[OTHER] = ref_other
    keys = sorted(set(ref_counts) | set(cur_counts), key=_order)
    keys = [k for k in keys if ref_counts.get(k, 0) or cur_counts.get(k, 0)]
    r = np.array([ref_counts.get(k, 0) for k in keys], dtype=np.float64)
    c = np.array([cur_counts.get(k, 0) for k in keys], dtype=np.float64)
    return keys, r, c


def _order(value: Any) -> tuple[int, Any]:
    if value is OTHER:
        return (2, "")
    return (0, value) if isinstance(value, (int, float)) else (1, str(value))


def distinct_values(ref: ColumnReference, win: Window) -> int:
    """Distinct values in the reference and window together (2**30 standing for "many"
    where a numeric column has too many to count)."""
    if isinstance(ref, NumericReference):
        assert isinstance(win, NumericWindow)
        current = win.value_counts()
        if ref.distinct is None or current is None:
            return 1 << 30
        return len({v for v, n in ref.distinct.items() if n} | {v for v, n in current.items() if n})
    assert isinstance(ref, CategoricalReference)
    keys, _, _ = count_table(ref, win)
    return len(keys) + max(ref.other_distinct - 1, 0)


def _chi_squared(ref: ColumnReference, win: Window) -> float:
    from scipy.stats import chi2

    _, r, c = count_table(ref, win)
    if r.size < 2:
        return 1.0
    expected = r * (c.sum() / r.sum())
    if (c[expected == 0] > 0).any():
        return 0.0  # a value the reference never had: infinitely unlikely under it
    statistic = float((((c - expected) ** 2)[expected > 0] / expected[expected > 0]).sum())
    return float(chi2.sf(statistic, r.size - 1))


def _z_test(ref: ColumnReference, win: Window) -> float:
    from scipy.stats import norm

    _, r, c = count_table(ref, win)
    if r.size > 2:
        raise InvalidArgument(
            f"the z-test compares two values; this column has {r.size}: use chisquare"
        )
    if r.size < 2:
        return 1.0  # one value on both sides
    n1, n2 = r.sum(), c.sum()
    p1, p2 = r[1] / n1, c[1] / n2  # the share of the second value, as Evidently's 0/1 coding
    pooled = (r[1] + c[1]) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0
    return float(2 * norm.sf(abs((p1 - p2) / spread)))


def _shares(ref: ColumnReference, win: Window) -> tuple[Any, Any]:
    """Shares per category, or per bin for a many-valued numeric column (Sturges' number
    of bins over the reference's range; the window's values beyond it in the end bins)."""
    import numpy as np

    if isinstance(ref, NumericReference) and (ref.distinct is None or len(ref.distinct) > 20):
        assert isinstance(win, NumericWindow)
        bins = math.ceil(math.log2(ref.count + win.count)) + 1
        r = regroup(ref.hist, bins).astype(np.float64)
        c = regroup(win.hist, bins).astype(np.float64)
        c[0] += win.below
        c[-1] += win.above
    else:
        _, r, c = count_table(ref, win)
    return r / r.sum(), c / c.sum()


def _jensen_shannon(ref: ColumnReference, win: Window) -> float:
    import numpy as np

    p, q = _shares(ref, win)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(math.sqrt(max((kl_p + kl_q) / 2, 0.0)))


def _psi(ref: ColumnReference, win: Window) -> float:
    import numpy as np

    p, q = (_fill_zeros(s) for s in _shares(ref, win))
    return float(((p - q) * np.log(p / q)).sum())


def _fill_zeros(shares: Any) -> Any:
    """Empty bins get a small share (Evidently's rule), so the logarithms stay finite."""
    positive = shares[shares > 0]
    smallest = float(positive.min())
    shares = shares.copy()
    shares[shares == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return shares


# ---- many-valued numeric columns ------------------------------------------------------


def _cdf_gaps(ref: NumericReference, win: NumericWindow) -> Any:
    """Reference CDF minus window CDF at each edge of the reference's grid."""
    import numpy as np

    f_ref = np.concatenate([[0], np.cumsum(ref.hist)]) / ref.count
    f_cur = (win.below + np.concatenate([[0], np.cumsum(win.hist)])) / win.count
    return f_ref - f_cur


def _wasserstein(ref: ColumnReference, win: Window) -> float:
    """The first Wasserstein distance over the reference's std (at least 0.001): the area
    between the CDFs, linear within each fine bin, exact beyond the reference's range."""
    import numpy as np

    assert isinstance(ref, NumericReference) and isinstance(win, NumericWindow)
    gaps = _cdf_gaps(ref, win)
    width = (ref.max - ref.min) / ref.hist.size
    a, b = np.abs(gaps[:-1]), np.abs(gaps[1:])
    same_side = np.sign(gaps[:-1]) * np.sign(gaps[1:]) >= 0
    total = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(total > 0, (a * a + b * b) / (2 * total), 0.0)
    inside = width * float(np.where(same_side, total / 2, crossing).sum())
    outside = (win.below_distance + win.above_distance) / win.count
    return (inside + outside) / max(ref.std, 0.001)


def _kolmogorov_smirnov(ref: ColumnReference, win: Window) -> float:
    assert isinstance(ref, NumericReference) and isinstance(win, NumericWindow)
    return ks_p_value(ks_statistic(ref, win), ref.count, win.count)


def ks_statistic(ref: NumericReference, win: NumericWindow) -> float:
    """The largest gap between the two empirical CDFs: exact when the reference kept its
    values (the gap can only peak at, or just before, a reference value), else read at
    the fine grid's edges."""
    import numpy as np

    if ref.values is None:
        return float(np.abs(_cdf_gaps(ref, win)).max(initial=0.0))
    _, ref_at = np.unique(ref.values, return_counts=True)
    ref_upto = np.cumsum(ref_at) / ref.count
    cur_upto = np.cumsum(win.before_reference[:-1] + win.at_reference)
    cur_before = (cur_upto - win.at_reference) / win.count
    at = np.abs(ref_upto - cur_upto / win.count)
    before = np.abs(ref_upto - ref_at / ref.count - cur_before)
    return float(max(at.max(initial=0.0), before.max(initial=0.0)))


def ks_p_value(d: float, n1: int, n2: int) -> float:
    """The two-sided p-value of ``d`` as scipy's ks_2samp gives it (method "auto"): exact
    up to 10,000 values per sample, the Kolmogorov distribution's tail above."""
    import numpy as np
    from scipy.stats import kstwo

    if max(n1, n2) <= KS_EXACT_MAX:
        try:
            from scipy.stats._stats_py import _attempt_exact_2kssamp

            with np.errstate(all="ignore"):
                ok, _, p = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
            if ok:
                return float(np.clip(p, 0, 1))
        except ImportError:  # a scipy without it: the asymptotic value below
            pass
    m, n = max(n1, n2), min(n1, n2)
    return float(np.clip(kstwo.sf(d, round(m * n / (m + n))), 0, 1))


# ---- the registry and the automatic choice --------------------------------------------

TESTS: dict[str, StatTest] = {
    test.name: test
    for test in (
        StatTest("ks", "p_value", 0.05, _kolmogorov_smirnov, ("numeric",), inclusive=True),
        StatTest("chisquare", "p_value", 0.05, _chi_squared),
        StatTest("z", "p_value", 0.05, _z_test),
        StatTest("psi", "distance", 0.1, _psi),
        StatTest("wasserstein", "distance", 0.1, _wasserstein, ("numeric",)),
        StatTest("jensenshannon", "distance", 0.1, _jensen_shannon),
    )
}
"""Tests by name, as ``tests={"column": "psi"}`` names them."""


def lookup(name: str, column: str, kind: str) -> StatTest:
    test = TESTS.get(name)
    if test is None:
        raise InvalidArgument(
            f"tests[{column!r}]: unknown test {name!r}; choose one of {', '.join(TESTS)}"
        )
    if kind not in test.kinds:
        raise InvalidArgument(f"tests[{column!r}]: {name} compares numeric columns only")
    return test


def _integer_categories(ref: ColumnReference) -> bool:
    """An integer column with at most 5 values in the reference: Evidently types it as
    categorical, whatever the window holds."""
    return (
        isinstance(ref, NumericReference)
        and ref.integer
        and ref.distinct is not None
        and len(ref.distinct) <= FEW_VALUES
    )


def default_test(ref: ColumnReference, win: Window) -> StatTest:
    """Evidently's automatic choice (see the module docstring)."""
    values = distinct_values(ref, win)
    small = ref.count <= EXACT_ROWS
    if ref.kind == "numeric" and values > FEW_VALUES and not _integer_categories(ref):
        return TESTS["ks" if small else "wasserstein"]
    if small:
        return TESTS["chisquare" if values > 2 else "z"]
    return TESTS["jensenshannon"]
