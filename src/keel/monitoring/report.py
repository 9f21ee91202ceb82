"""The HTML report of a drift result: one self-contained page, reference and current
histograms drawn as inline SVG, no script, no stylesheet or font fetched from anywhere,
every name and value escaped."""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

from keel.monitoring.notes import drift_rule
from keel.monitoring.reference import NumericReference
from keel.monitoring.window import CategoricalWindow, NumericWindow

if TYPE_CHECKING:
    from keel.monitoring.result import ColumnDrift, DriftResult

BARS = 30
"""Bins drawn for a numeric column."""

CATEGORIES_DRAWN = 20

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}
.drift{color:#b00020;font-weight:600}.ok{color:#1b5e20}.none{color:#777}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}
"""


def render(result: DriftResult) -> str:
    dataset = result.dataset
    verdict = (
        "no data" if dataset.status != "ok" else ("drifted" if dataset.drifted else "no drift")
    )
    rows = "".join(_row(entry, result) for entry in result.columns)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>Drift report</title><style>{_STYLE}</style></head><body>"
        f"<h1>Drift report: {escape(verdict)}</h1>"
        f"<p>{dataset.drifted_columns} of {dataset.columns} columns drifted "
        f"(share {dataset.share:.2f}; the dataset drifts at {dataset.threshold:.2f}). "
        f"Reference {dataset.reference_rows:,} rows, current {dataset.current_rows:,} rows.</p>"
        f"{_violations(result.violations)}{_notes(result.notes)}"
        "<p class='legend'><span style='background:#4c78a8'></span>reference"
        "<span style='background:#f58518'></span>current</p>"
        "<table><tr><th>column</th><th>kind</th><th>test</th><th>score</th>"
        "<th>drifts when</th><th>verdict</th><th>quality</th><th>distribution</th></tr>"
        f"{rows}</table></body></html>"
    )


def _violations(violations: list[str]) -> str:
    if not violations:
        return ""
    items = "".join(f"<li>{escape(v)}</li>" for v in violations)
    return f"<p class='drift'>The window breaks the model's signature:</p><ul>{items}</ul>"


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return f"<p>To read with the verdicts:</p><ul>{items}</ul>"


def _row(entry: ColumnDrift, result: DriftResult) -> str:
    if entry.status != "ok":
        verdict = f"<span class='none'>{escape(entry.status)}</span>"
    elif entry.drifted:
        verdict = "<span class='drift'>drifted</span>"
    else:
        verdict = "<span class='ok'>no drift</span>"
    sketch = result._sketches.get(entry.column)
    chart = _chart(*sketch) if sketch else ""
    cells = [
        escape(entry.column),
        escape(entry.kind),
        escape(entry.test or "-"),
        "-" if entry.score is None else f"{entry.score:.4g}",
        escape(drift_rule(entry.test, entry.threshold)),
        verdict,
        _quality(entry, sketch[0] if sketch else None),
        chart,
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _quality(entry: ColumnDrift, ref: Any) -> str:
    """The window's counts beside the reference's: nulls, and for a numeric column its
    mean and std (a change of spread alone shows here)."""
    q = entry.quality
    if q is None:
        return ""
    parts = [f"nulls {q.null_share:.1%} (ref {q.reference_null_share:.1%})"]
    if isinstance(ref, NumericReference) and ref.count and q.mean is not None:
        parts.append(f"mean {q.mean:.4g} (ref {ref.mean:.4g})")
        if q.std is not None:
            parts.append(f"std {q.std:.4g} (ref {ref.std:.4g})")
    if q.posinf or q.neginf:
        parts.append(f"+inf {q.posinf:,}, -inf {q.neginf:,}")
    if q.below_min or q.above_max:
        parts.append(f"below min {q.below_min:,}, above max {q.above_max:,}")
    if q.new_categories:
        examples = ", ".join(escape(str(v)) for v in q.new_examples[:5])
        parts.append(f"{q.new_categories:,} new categories ({examples})")
    return "<br>".join(parts)


def _chart(ref: Any, win: Any) -> str:
    """Side-by-side bars of the reference's and the current window's shares."""
    import numpy as np

    if isinstance(ref, NumericReference):
        assert isinstance(win, NumericWindow)
        if not ref.count:
            return ""
        from keel.monitoring.binning import regroup

        r = regroup(ref.hist, BARS).astype(float)
        c = regroup(win.hist, BARS).astype(float)
        labels = [f"{ref.min:.4g}", f"{ref.max:.4g}"]
        if win.below or win.above:  # the window's values beyond the reference's range
            r, c = np.concatenate([[0], r, [0]]), np.concatenate([[win.below], c, [win.above]])
            labels = [f"< {ref.min:.4g}", f"> {ref.max:.4g}"]
        names = None
    else:
        assert isinstance(win, CategoricalWindow)
        top = sorted(ref.counts, key=lambda v: -ref.counts[v])[:CATEGORIES_DRAWN]
        new = sorted(win.new_categories(), key=lambda v: -win.counts[v])
        keys = top + new[: max(CATEGORIES_DRAWN - len(top), 3)]
        r = np.array([ref.counts.get(k, 0) for k in keys], dtype=float)
        c = np.array([win.counts.get(k, 0) for k in keys], dtype=float)
        names = [str(k) for k in keys]
        labels = []
    return _svg(r, c, names, labels)


def _svg(r: Any, c: Any, names: list[str] | None, labels: list[str]) -> str:
    r = r / r.sum() if r.sum() else r
    c = c / c.sum() if c.sum() else c
    n = len(r)
    if n == 0:
        return ""
    width, height = 320, 90
    step = width / n
    top = max(float(r.max(initial=0)), float(c.max(initial=0))) or 1.0
    bars = []
    for i in range(n):
        for j, (share, color) in enumerate(((r[i], "#4c78a8"), (c[i], "#f58518"))):
            h = height * float(share) / top
            if not math.isfinite(h) or h <= 0:
                continue
            x = i * step + j * step / 2
            title = f"{names[i]}: " if names else ""
            side = "reference" if j == 0 else "current"
            bars.append(
                f"<rect x='{x:.1f}' y='{height - h:.1f}' width='{max(step / 2 - 0.5, 0.5):.1f}' "
                f"height='{h:.1f}' fill='{color}'><title>{escape(title)}{side} "
                f"{float(share):.1%}</title></rect>"
            )
    text = ""
    if labels:
        text = (
            f"<text x='0' y='{height + 12}' font-size='10'>{escape(labels[0])}</text>"
            f"<text x='{width}' y='{height + 12}' font-size='10' text-anchor='end'>"
            f"{escape(labels[1])}</text>"
        )
    return f"<svg width='{width}' height='{height + 16}' role='img'>{''.join(bars)}{text}</svg>"
