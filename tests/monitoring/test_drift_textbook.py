"""Drift on the cases a textbook shows, each against the verdict a reader expects and the
note that explains what the verdict alone does not say."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from keel.monitoring import drift
from keel.monitoring.notes import drift_rule

N = 5000


def _table(rows: int, seed: int, **columns: object) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = {
        "x": rng.normal(0, 1, rows),
        "plan": rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2]),
        "const": np.full(rows, 3.0),
    }
    return pd.DataFrame({**base, **columns})


REFERENCE = _table(N, seed=0)


def _verdicts(current: pd.DataFrame) -> dict[str, bool]:
    return {c.column: c.drifted for c in drift(REFERENCE, current).columns}


def test_the_same_distribution_does_not_drift_and_has_nothing_to_note() -> None:
    result = drift(REFERENCE, _table(N, seed=1))
    assert result.drifted_columns == [] and result.notes == []


@pytest.mark.parametrize(
    ("case", "column", "values"),
    [
        ("a mean shift of half a std", "x", lambda r: r.normal(0.5, 1, N)),
        ("the variance doubled, the mean unchanged", "x", lambda r: r.normal(0, 2, N)),
        ("category shares moved", "plan", lambda r: r.choice(list("abc"), N, p=[0.3, 0.4, 0.3])),
        ("a constant column took another value", "const", lambda r: np.full(N, 4.0)),
    ],
)  # fmt: skip
def test_a_changed_column_drifts_alone(case: str, column: str, values: object) -> None:
    changed = values(np.random.default_rng(2))  # type: ignore[operator]
    verdicts = _verdicts(_table(N, seed=1, **{column: changed}))
    assert verdicts == {c: c == column for c in verdicts}, case


def test_a_new_category_drifts_and_is_named() -> None:
    rng = np.random.default_rng(3)
    plan = rng.choice(["a", "b", "c", "d"], N, p=[0.45, 0.3, 0.2, 0.05])
    result = drift(REFERENCE, _table(N, seed=1, plan=plan))
    assert result.drifted_columns == ["plan"]
    (note,) = result.notes
    assert note.startswith("plan: 1 value(s) the reference never had") and "'d'" in note


def test_a_column_gone_null_is_not_tested_but_is_noted() -> None:
    result = drift(REFERENCE, _table(N, seed=1, x=np.full(N, np.nan)))
    assert result["x"].status == "no data" and not result["x"].drifted
    assert result.to_dict()["notes"] == [
        "x: every value in the current window is null (0% in the reference); a column "
        "without values is not tested, so it never drifts: watch its null_share"
    ]
    half = np.where(np.arange(N) % 2 == 0, np.nan, np.random.default_rng(4).normal(0, 1, N))
    assert drift(REFERENCE, _table(N, seed=1, x=half)).notes == [
        "x: 50% of values are null (0% in the reference)"
    ]


def test_a_five_row_window_says_its_distance_tests_measure_noise() -> None:
    small = _table(5, seed=1)
    result = drift(REFERENCE, small)
    assert result["x"].test == "wasserstein" and result["x"].drifted  # noise, as Evidently
    assert result.notes[0].startswith("the current window has only 5 rows: distance tests")
    tests = {"x": "ks", "plan": "chisquare"}
    chosen = drift(REFERENCE, small, columns=["x", "plan"], tests=tests)
    assert not chosen["x"].drifted and chosen.notes == []


def test_the_rule_reads_the_way_the_test_decides() -> None:
    assert drift_rule("ks", 0.05) == "p ≤ 0.05"
    assert drift_rule("chisquare", 0.05) == "p < 0.05"
    assert drift_rule("wasserstein", 0.1) == "≥ 0.1"
    assert drift_rule(None, None) == "-"


def test_the_report_shows_the_rule_the_spread_and_the_notes() -> None:
    rng = np.random.default_rng(5)
    plan = rng.choice(["a", "b", "c", "<new>"], N, p=[0.45, 0.3, 0.2, 0.05])
    current = _table(N, seed=1, x=rng.normal(0, 2, N), plan=plan)
    html = drift(REFERENCE, current).to_html()
    assert "<th>drifts when</th>" in html and "<td>≥ 0.1</td>" in html
    std = float(current["x"].std(ddof=0))
    assert re.search(rf"mean -?0\.0\d+ \(ref -?0\.0\d+\)<br>std {std:.4g} \(ref 0\.99\d*\)", html)
    assert "To read with the verdicts:" in html
    assert "plan: 1 value(s) the reference never had" in html and "&#x27;&lt;new&gt;&#x27;" in html
