"""A reference profile stored as JSON gives the verdicts the raw reference gives; a
Parquet window streamed in batches gives those of the same rows in memory; the HTML
report is self-contained and escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

import keel.monitoring as monitoring
from keel.errors import InvalidArgument
from keel.monitoring import sources
from keel.monitoring.reference import FORMAT
from monitoring.support import assert_same, make_table


@pytest.mark.parametrize("rows", [800, 20_000])
def test_a_saved_profile_agrees_with_the_raw_reference(rows: int, tmp_path: Path) -> None:
    ref, cur = make_table(rows, seed=3), make_table(rows // 2, shift=0.2, seed=4)
    path = monitoring.ReferenceProfile.of(ref).save(tmp_path / "profile.json")
    stored = json.loads(path.read_text())
    assert stored["format"] == FORMAT
    assert [c["name"] for c in stored["columns"]] == list(ref.columns)
    from_raw = monitoring.drift(ref, cur).to_dict()
    assert monitoring.drift(monitoring.ReferenceProfile.load(path), cur).to_dict() == from_raw
    assert monitoring.drift(str(path), cur).to_dict() == from_raw  # a profile's path
    # and the raw reference's verdicts are scipy's
    for column in ("age", "income"):
        entry = monitoring.drift(ref, cur)[column]
        if entry.test == "ks":
            expected = stats.ks_2samp(ref[column], cur[column]).pvalue
            assert entry.score == pytest.approx(expected, rel=1e-9)
        else:
            expected = stats.wasserstein_distance(ref[column], cur[column]) / ref[column].std(
                ddof=0
            )
            assert entry.score == pytest.approx(expected, abs=2e-3)


def test_a_profile_keeps_the_documented_statistics() -> None:
    ref = make_table(5000, seed=5)
    profile = monitoring.ReferenceProfile.of(ref, columns=["age", "colour"])
    age = profile.columns["age"]
    assert age.kind == "numeric"
    assert age.count == 5000 and age.min == ref["age"].min() and age.max == ref["age"].max()
    assert age.quantiles["0.5"] == pytest.approx(ref["age"].median(), abs=0.05)  # type: ignore[union-attr]
    assert age.std == pytest.approx(ref["age"].std(ddof=0))  # type: ignore[union-attr]
    colour = profile.columns["colour"]
    assert colour.counts == ref["colour"].value_counts().to_dict()  # type: ignore[union-attr]


def test_a_malformed_profile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": "keel.monitoring.reference/0", "columns": []}))
    with pytest.raises(InvalidArgument, match="format must be"):
        monitoring.ReferenceProfile.load(path)
    path.write_text(json.dumps({"format": FORMAT, "columns": [{"name": "x"}]}))
    with pytest.raises(InvalidArgument, match="malformed column entry"):
        monitoring.ReferenceProfile.load(path)
    path.write_text("{not json")
    with pytest.raises(InvalidArgument, match="cannot read it"):
        monitoring.ReferenceProfile.load(path)


def test_streaming_a_large_parquet_window_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 2_000_000
    rng = np.random.default_rng(8)
    ref = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 50_000),
            "y": rng.exponential(1, 50_000),
            "c": rng.choice(["a", "b", "c"], 50_000),
        }
    )
    current = pa.table(
        {
            "x": rng.normal(0.3, 1, rows),
            "y": rng.exponential(1, rows),
            "c": pa.array(rng.choice(["a", "b", "c"], rows)).to_pylist()[:-1000] + [None] * 1000,
        }
    )
    path = tmp_path / "window.parquet"
    pq.write_table(current, path, row_group_size=250_000)
    profile = monitoring.ReferenceProfile.of(ref)
    monkeypatch.setattr(sources, "BATCH_ROWS", 300_000)  # several uneven batches
    streamed = monitoring.drift(profile, path)
    in_memory = monitoring.drift(profile, current)
    assert_same(streamed.to_dict(), in_memory.to_dict())
    assert streamed.dataset.current_rows == rows
    assert streamed.drifted_columns == ["x"]
    assert streamed["c"].quality is not None and streamed["c"].quality.nulls == 1000
    x = current.column("x").to_numpy()
    expected = stats.wasserstein_distance(ref["x"], x) / ref["x"].std(ddof=0)
    assert streamed["x"].score == pytest.approx(expected, abs=2e-3)


def test_html_report_is_self_contained_and_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    ref = pd.DataFrame(
        {hostile: np.arange(2000.0), "c": ["<img src=x onerror=alert(2)>", "ok"] * 1000}
    )
    cur = pd.DataFrame({hostile: np.arange(2000.0) + 500, "c": ["\"'><b>new</b>", "ok"] * 1000})
    html = monitoring.drift(ref, cur).to_html()
    assert "<script" not in html.lower()
    assert "<img" not in html.lower() and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    tags = re.findall(r"<[a-z][^>]*>", html)
    assert not [t for t in tags if re.search(r"\s(src|href|on\w+)\s*=", t)]  # nothing fetched
    assert "://" not in html  # no CDN, no fonts, no links
    assert html.count("<svg") == 2 and html.count("<rect") > 10
    assert "Content-Security-Policy" in html


def test_to_dict_has_the_documented_shape() -> None:
    result = monitoring.drift(make_table(1500, seed=1), make_table(1500, shift=1.0, seed=2))
    data = result.to_dict()
    assert {"dataset", "columns"} <= set(data)
    assert {"share", "drifted"} <= set(data["dataset"])
    for entry in data["columns"]:
        assert {"column", "test", "score", "threshold", "drifted"} <= set(entry)
    assert data["dataset"]["share"] == pytest.approx(
        sum(c["drifted"] for c in data["columns"]) / len(data["columns"])
    )
    assert data["dataset"]["drifted"] == (data["dataset"]["share"] >= 0.5)
    assert json.loads(result.to_json()) == json.loads(json.dumps(data, default=str))
