"""Each test's score against scipy's, and Evidently's automatic choice of test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

import keel.monitoring as monitoring
from keel.errors import InvalidArgument
from monitoring.support import make_table


def _frame(**columns: object) -> pd.DataFrame:
    return pd.DataFrame(columns)


@pytest.mark.parametrize(("n_ref", "n_cur"), [(300, 300), (500, 800), (1000, 20_000)])
def test_ks_matches_scipy_exactly(n_ref: int, n_cur: int) -> None:
    rng = np.random.default_rng(n_ref)
    ref = rng.normal(0, 1, n_ref)
    cur = rng.normal(0.15, 1.1, n_cur)
    result = monitoring.drift(_frame(x=ref), _frame(x=cur))
    expected = stats.ks_2samp(ref, cur)
    assert result["x"].test == "ks"
    assert result["x"].threshold == 0.05
    assert result["x"].score == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert result["x"].drifted == (expected.pvalue <= 0.05)


def test_ks_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 12, 700).astype(float)
    cur = rng.integers(1, 13, 900).astype(float)
    result = monitoring.drift(_frame(x=ref), _frame(x=cur))
    assert result["x"].test == "ks"
    assert result["x"].score == pytest.approx(stats.ks_2samp(ref, cur).pvalue, rel=1e-9)


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.3, 2.0])
def test_normed_wasserstein_matches_scipy(shift: float) -> None:
    rng = np.random.default_rng(7)
    ref = rng.normal(0, 2, 5000)
    cur = np.concatenate([rng.normal(shift, 2, 5900), [40.0, -35.0]])  # beyond the range
    result = monitoring.drift(_frame(x=ref), _frame(x=cur))
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert result["x"].test == "wasserstein"
    assert result["x"].threshold == 0.1
    assert result["x"].score == pytest.approx(expected, abs=2e-3)
    assert result["x"].drifted == (expected >= 0.1)


def test_wasserstein_of_a_constant_reference_uses_the_floor() -> None:
    # Evidently norms by max(std, 0.001): a constant reference is not a division by zero
    ref = np.full(2000, 5.0)
    cur = np.r_[np.full(1990, 5.0), np.full(10, 6.0)]
    result = monitoring.drift(_frame(x=ref), _frame(x=cur), tests={"x": "wasserstein"})
    expected = stats.wasserstein_distance(ref, cur) / 0.001
    assert result["x"].score == pytest.approx(expected, rel=1e-9)
    assert result["x"].drifted
    same = monitoring.drift(_frame(x=ref), _frame(x=ref[:100]), tests={"x": "wasserstein"})
    assert same["x"].score == 0.0 and not same["x"].drifted


def test_chi_squared_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    values = ["a", "b", "c", "d"]
    ref = rng.choice(values, 800, p=[0.4, 0.3, 0.2, 0.1])
    cur = rng.choice(values, 600, p=[0.3, 0.3, 0.25, 0.15])
    result = monitoring.drift(_frame(x=ref), _frame(x=cur))
    r = np.array([(ref == v).sum() for v in values], dtype=float)
    c = np.array([(cur == v).sum() for v in values], dtype=float)
    expected = stats.chisquare(c, r * c.sum() / r.sum()).pvalue
    assert result["x"].test == "chisquare"
    assert result["x"].score == pytest.approx(expected, rel=1e-9)


def test_chi_squared_new_category_is_drift() -> None:
    ref = np.array(["a", "b", "c"] * 100)
    cur = np.array(["a", "b", "c"] * 100 + ["zebra"])
    result = monitoring.drift(_frame(x=ref), _frame(x=cur))
    assert result["x"].test == "chisquare"
    assert result["x"].score == 0.0 and result["x"].drifted
    assert result["x"].quality is not None
    assert result["x"].quality.new_categories == 1
    assert result["x"].quality.new_examples == ["zebra"]


def test_z_test_for_two_values() -> None:
    ref = np.array(["yes"] * 300 + ["no"] * 700)
    cur = np.array(["yes"] * 380 + ["no"] * 620)
    result = monitoring.drift(_frame(x=ref), _frame(x=cur))
    p1, p2, n = 0.3, 0.38, 1000
    pooled = (p1 + p2) / 2
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (2 / n))
    assert result["x"].test == "z"
    assert result["x"].score == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert result["x"].drifted


def test_jensen_shannon_matches_scipy_on_categories() -> None:
    rng = np.random.default_rng(2)
    values = ["a", "b", "c", "d", "e"]
    ref = rng.choice(values, 5000, p=[0.3, 0.3, 0.2, 0.1, 0.1])
    cur = rng.choice(values[:4], 4000, p=[0.1, 0.3, 0.3, 0.3])  # "e" gone
    result = monitoring.drift(_frame(x=ref), _frame(x=cur))
    p = np.array([(ref == v).mean() for v in values])
    q = np.array([(cur == v).mean() for v in values])
    assert result["x"].test == "jensenshannon"
    assert result["x"].score == pytest.approx(jensenshannon(p, q), rel=1e-9)
    assert result["x"].drifted == (jensenshannon(p, q) >= 0.1)


def test_psi_override_on_categories() -> None:
    rng = np.random.default_rng(4)
    values = ["a", "b", "c"]
    ref = rng.choice(values, 3000, p=[0.5, 0.3, 0.2])
    cur = rng.choice(values, 3000, p=[0.2, 0.3, 0.5])
    result = monitoring.drift(_frame(x=ref), _frame(x=cur), tests={"x": "psi"})
    p = np.array([(ref == v).mean() for v in values])
    q = np.array([(cur == v).mean() for v in values])
    assert result["x"].test == "psi"
    assert result["x"].score == pytest.approx(float(((p - q) * np.log(p / q)).sum()), rel=1e-9)
    assert result["x"].drifted


def test_psi_and_jensen_shannon_on_a_numeric_column() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(0, 1, 4000), rng.normal(1, 1, 4000)
    result = monitoring.drift(
        _frame(a=ref, b=ref), _frame(a=cur, b=cur), tests={"a": "psi", "b": "jensenshannon"}
    )
    assert result["a"].drifted and result["a"].score > 0.5
    assert result["b"].drifted and 0.1 < result["b"].score <= np.sqrt(np.log(2))
    same = monitoring.drift(_frame(a=ref), _frame(a=rng.normal(0, 1, 4000)), tests={"a": "psi"})
    assert not same["a"].drifted


def test_threshold_override() -> None:
    rng = np.random.default_rng(6)
    ref, cur = rng.normal(0, 1, 3000), rng.normal(0.2, 1, 3000)
    default = monitoring.drift(_frame(x=ref), _frame(x=cur))
    loose = monitoring.drift(_frame(x=ref), _frame(x=cur), thresholds={"x": 0.5})
    assert default["x"].drifted and not loose["x"].drifted
    assert loose["x"].threshold == 0.5


@pytest.mark.parametrize(
    ("n", "values", "kind", "expected"),
    [
        (1000, 6, "numeric", "ks"),
        (1001, 6, "numeric", "wasserstein"),
        (1000, 5, "numeric", "chisquare"),
        (1000, 2, "numeric", "z"),
        (1001, 5, "numeric", "jensenshannon"),
        (1000, 3, "categorical", "chisquare"),
        (1000, 2, "categorical", "z"),
        (1001, 40, "categorical", "jensenshannon"),
    ],
)
def test_automatic_choice_follows_evidently(n: int, values: int, kind: str, expected: str) -> None:
    codes = np.arange(n) % values
    column = codes.astype(float) if kind == "numeric" else np.array([f"v{c}" for c in codes])
    result = monitoring.drift(_frame(x=column), _frame(x=column[::-1]))
    assert result["x"].test == expected
    assert not result["x"].drifted


def test_distinct_values_count_both_sides() -> None:
    # Evidently counts values over reference and current together: 4 + 3 new > 5 -> KS
    ref = np.arange(400) % 4
    cur = np.arange(400) % 4 + 3
    result = monitoring.drift(_frame(x=ref.astype(float)), _frame(x=cur.astype(float)))
    assert result["x"].test == "ks"


def test_unknown_test_and_bad_threshold_are_refused() -> None:
    frame = make_table(100)
    with pytest.raises(InvalidArgument, match="unknown test 't'"):
        monitoring.drift(frame, frame, tests={"age": "t"})
    with pytest.raises(InvalidArgument, match="numeric columns"):
        monitoring.drift(frame, frame, tests={"colour": "wasserstein"})
    with pytest.raises(InvalidArgument, match=r"thresholds\['age'\] must be a number"):
        monitoring.drift(frame, frame, thresholds={"age": -1})
    with pytest.raises(InvalidArgument, match="'nope'"):
        monitoring.drift(frame, frame, tests={"nope": "ks"})


def test_an_integer_column_with_few_values_is_categorical_as_in_evidently() -> None:
    # 4 integer values in the reference, 3 new ones in the window: 7 values together,
    # but Evidently types the column categorical from its dtype and reference values
    ref = (np.arange(400) % 4).astype(np.int64)
    cur = (np.arange(400) % 4 + 3).astype(np.int64)
    result = monitoring.drift(_frame(x=ref), _frame(x=cur))
    assert result["x"].test == "chisquare" and result["x"].drifted
    big = monitoring.drift(_frame(x=np.tile(ref, 5)), _frame(x=np.tile(cur, 5)))
    assert big["x"].test == "jensenshannon" and big["x"].drifted


def test_jensen_shannon_on_few_reference_values_and_a_many_valued_window() -> None:
    # Evidently's keys are every value of both sides; a window with more than 64 values
    # lumps those the reference never had, which leaves the distance unchanged
    rng = np.random.default_rng(9)
    ref = rng.integers(0, 4, 3000).astype(float)
    cur = np.r_[rng.integers(0, 4, 2500).astype(float), rng.normal(10, 1, 500)]
    result = monitoring.drift(_frame(x=ref), _frame(x=cur), tests={"x": "jensenshannon"})
    keys = np.union1d(ref, cur)
    p = np.array([(ref == k).mean() for k in keys])
    q = np.array([(cur == k).mean() for k in keys])
    assert result["x"].score == pytest.approx(jensenshannon(p, q), rel=1e-9)
    assert result["x"].drifted
