"""Plain sentences on what a drift verdict does not say by itself: a window too small for
the test chosen, a column that went null, categories the reference never had.

The verdicts stay Evidently's; these notes explain them to whoever reads the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keel.monitoring.result import ColumnDrift, DriftResult

SMALL_WINDOW_ROWS = 1000
"""Below this many rows, distance tests on a window mostly measure sampling noise: for a
normal column and a same-distribution window, the Wasserstein distance / std passes 0.1
in about 12% of windows of 300 rows, 70% of 100 rows and every window of 5 rows."""

DISTANCE_TESTS = ("wasserstein", "jensenshannon", "psi")
NULL_SHARE_RISE = 0.1


def drift_notes(result: DriftResult) -> list[str]:
    """What a reader should know beside the verdicts, most important first."""
    notes: list[str] = []
    rows = result.dataset.current_rows
    noisy = [c.column for c in result.columns if c.test in DISTANCE_TESTS and c.status == "ok"]
    if 0 < rows < SMALL_WINDOW_ROWS and noisy:
        notes.append(
            f"the current window has only {rows} rows: distance tests "
            f"({', '.join(sorted({c.test or '' for c in result.columns if c.column in noisy}))}"
            "; Evidently's choice for a reference of more than 1,000 rows) report sampling "
            f"noise as drift on windows under {SMALL_WINDOW_ROWS:,} rows; compare longer windows, "
            "or choose ks (numeric) or chisquare (categorical) per column (tests= in "
            "Python, --test on the command line)"
        )
    for entry in result.columns:
        notes.extend(_column_notes(entry))
    return notes


def _column_notes(entry: ColumnDrift) -> list[str]:
    quality = entry.quality
    if quality is None or quality.rows == 0:
        return []
    found: list[str] = []
    before = f"{quality.reference_null_share:.0%} in the reference"
    if quality.nulls == quality.rows:
        found.append(
            f"{entry.column}: every value in the current window is null ({before}); a column "
            "without values is not tested, so it never drifts: watch its null_share"
        )
    elif quality.null_share - quality.reference_null_share >= NULL_SHARE_RISE:
        found.append(f"{entry.column}: {quality.null_share:.0%} of values are null ({before})")
    if quality.new_categories:
        examples = ", ".join(repr(v) for v in quality.new_examples[:3])
        found.append(
            f"{entry.column}: {quality.new_categories} value(s) the reference never had, in "
            f"{quality.new_category_rows} rows (e.g. {examples})"
        )
    return found


def drift_rule(test: str | None, threshold: float | None) -> str:
    """When a column drifts, as a reader checks it: ``p ≤ 0.05`` for a test whose score
    is a p-value (small means different), ``≥ 0.1`` for a distance."""
    if test is None or threshold is None:
        return "-"
    from keel.monitoring.stattests import TESTS

    known = TESTS.get(test)
    if known is None or known.score == "distance":
        return f"≥ {threshold:g}"
    return f"p {'≤' if known.inclusive else '<'} {threshold:g}"
