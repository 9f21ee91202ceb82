"""Bad and unusual inputs: different schemas, empty windows, all-null and constant
columns, NaN and infinities, a categorical column with 100,000 values; and every kind of
table the function takes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import keel.monitoring as monitoring
from keel.errors import InvalidArgument
from keel.monitoring.reference import CATEGORY_CAP
from keel.monitoring.window import NEW_CATEGORY_CAP
from monitoring.support import assert_same, make_table


def test_different_schemas_raise_one_error_listing_every_difference() -> None:
    ref = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [1, 2]})
    cur = pd.DataFrame({"a": ["1", "2"], "c": [3, 4], "d": [0.5, 0.7]})
    with pytest.raises(monitoring.SchemaMismatch) as caught:
        monitoring.drift(ref, cur)
    assert caught.value.differences == [
        "column 'a' is numeric in the reference but categorical in the current",
        "column 'b' is in the reference but not the current",
        "column 'd' is in the current but not the reference",
    ]
    assert isinstance(caught.value, InvalidArgument)
    # naming the columns compares only those: the extra column no longer matters
    assert monitoring.drift(ref, cur, columns=["c"])["c"].status == "ok"


def test_an_empty_window_is_no_data_and_never_drifts() -> None:
    ref = make_table(2000)
    result = monitoring.drift(ref, ref.iloc[:0])
    assert result.dataset.status == "no data"
    assert result.dataset.drifted is False and result.dataset.share == 0.0
    assert {c.status for c in result.columns} == {"no data"}
    assert not any(c.drifted for c in result.columns)
    assert all(c.score is None for c in result.columns)
    assert result.to_dict()["dataset"]["drifted"] is False


def test_all_null_columns() -> None:
    ref = pd.DataFrame({"x": np.arange(100.0), "y": [None] * 100, "z": ["a", "b"] * 50})
    cur = pd.DataFrame(
        {"x": [np.nan] * 50, "y": [None] * 50, "z": pd.Series([None] * 50, dtype=object)}
    )
    ref["y"] = ref["y"].astype("float64")
    cur["y"] = cur["y"].astype("float64")
    result = monitoring.drift(ref, cur)
    assert result["x"].status == "no data" and not result["x"].drifted
    assert result["x"].quality is not None and result["x"].quality.null_share == 1.0
    assert result["y"].status == "no data in reference" or result["y"].status == "no data"
    assert result["z"].status == "no data"
    assert result.dataset.status == "no data" and not result.dataset.drifted
    # a reference without values: the column cannot be tested, it is said so
    only_ref_null = monitoring.drift(ref[["y"]], pd.DataFrame({"y": [1.0, 2.0]}))
    assert only_ref_null["y"].status == "no data in reference"
    assert not only_ref_null["y"].drifted


def test_constant_columns_do_not_alarm() -> None:
    ref = pd.DataFrame({"x": np.full(5000, 3.0), "c": ["same"] * 5000})
    cur = pd.DataFrame({"x": np.full(4000, 3.0), "c": ["same"] * 4000})
    result = monitoring.drift(ref, cur)
    for name in ("x", "c"):
        assert result[name].status == "ok"
        assert not result[name].drifted
        assert result[name].score is not None and np.isfinite(result[name].score)
    small = monitoring.drift(ref.iloc[:500], cur.iloc[:500])
    assert small["x"].test == "z" and small["x"].score == 1.0
    forced = monitoring.drift(ref, cur, tests={"x": "ks", "c": "chisquare"})
    assert not forced["x"].drifted and not forced["c"].drifted


def test_nan_and_infinities_are_counted_and_left_out_of_the_test() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 3000)
    cur = rng.normal(0, 1, 3000)
    cur[:100] = np.nan
    cur[100:110] = np.inf
    cur[110:115] = -np.inf
    result = monitoring.drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}))
    quality = result["x"].quality
    assert quality is not None
    assert (quality.nulls, quality.posinf, quality.neginf) == (100, 10, 5)
    finite = cur[115:]
    assert quality.mean == pytest.approx(finite.mean(), rel=1e-9, abs=1e-12)
    assert quality.std == pytest.approx(finite.std(), rel=1e-9)
    assert (quality.min, quality.max) == (finite.min(), finite.max())
    assert quality.null_share == pytest.approx(100 / 3000)
    assert result["x"].status == "ok" and not result["x"].drifted
    assert result.to_json()  # finite numbers only: strict JSON


def test_out_of_range_values_are_counted() -> None:
    ref = pd.DataFrame({"x": np.linspace(0, 10, 2000)})
    cur = pd.DataFrame({"x": np.r_[np.linspace(0, 10, 1990), [-5.0] * 4, [50.0] * 6]})
    quality = monitoring.drift(ref, cur)["x"].quality
    assert quality is not None
    assert (quality.below_min, quality.above_max) == (4, 6)


def test_a_categorical_column_with_100_000_values_stays_bounded() -> None:
    ref = pd.DataFrame({"id": [f"r{i}" for i in range(100_000)]})
    cur = pd.DataFrame({"id": [f"c{i}" for i in range(100_000)]})
    profile = monitoring.ReferenceProfile.of(ref)
    column = profile.columns["id"]
    assert len(column.counts) == CATEGORY_CAP  # type: ignore[union-attr]
    assert column.other == 100_000 - CATEGORY_CAP  # type: ignore[union-attr]
    result = monitoring.drift(profile, cur)
    assert result["id"].status == "ok"
    assert result["id"].test == "jensenshannon"
    window = result._sketches["id"][1]
    assert len(window.counts) <= CATEGORY_CAP + NEW_CATEGORY_CAP  # type: ignore[union-attr]
    # every known category vanished from the window: that is drift
    assert result["id"].drifted


def test_new_categories_past_the_cap_are_counted_together() -> None:
    ref = pd.DataFrame({"c": ["a", "b"] * 1000})
    cur = pd.DataFrame({"c": ["a"] * 500 + [f"n{i}" for i in range(NEW_CATEGORY_CAP + 500)]})
    result = monitoring.drift(ref, cur)
    quality = result["c"].quality
    assert quality is not None
    assert quality.new_category_rows == NEW_CATEGORY_CAP + 500
    assert quality.new_categories >= NEW_CATEGORY_CAP
    assert result["c"].drifted


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "parquet", "lazy"])
def test_every_table_kind_gives_the_same_result(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ref, cur = make_table(3000, seed=1), make_table(2500, shift=0.5, seed=2)
    expected = monitoring.drift(ref, cur).to_dict()

    def convert(frame: pd.DataFrame, name: str) -> object:
        if kind == "pandas":
            return frame
        if kind == "polars":
            return pl.from_pandas(frame)
        if kind == "lazy":
            return pl.from_pandas(frame).lazy()
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if kind == "arrow":
            return table
        path = tmp_path / f"{name}.parquet"
        pq.write_table(table, path, row_group_size=700)
        return path

    got = monitoring.drift(convert(ref, "ref"), convert(cur, "cur")).to_dict()
    assert_same(got, expected)
    assert sum(c["drifted"] for c in got["columns"]) >= 3


def test_bad_column_lists_are_refused() -> None:
    frame = make_table(50)
    with pytest.raises(InvalidArgument, match="name at least one column"):
        monitoring.drift(frame, frame, columns=[])
    with pytest.raises(InvalidArgument, match="repeated 'age'"):
        monitoring.drift(frame, frame, columns=["age", "age"])
    with pytest.raises(InvalidArgument, match="must be a list of column names"):
        monitoring.drift(frame, frame, columns="age")
    with pytest.raises(InvalidArgument, match="reference: no column 'nope'"):
        monitoring.drift(frame, frame, columns=["nope"])


def test_importing_the_package_loads_no_table_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, keel.monitoring, keel.monitoring.compare; "
        "print(sorted(m for m in ('numpy', 'pandas', 'polars', 'pyarrow', 'scipy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unreadable_inputs_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="no such Parquet file"):
        monitoring.drift("/nonexistent/ref.parquet", make_table(10))
    with pytest.raises(InvalidArgument, match="expected a pandas, polars or Arrow table"):
        monitoring.drift([1, 2, 3], make_table(10))


def test_signature_violations_of_served_inputs() -> None:
    from keel.models.signature import ColumnSpec, Signature

    signature = Signature(
        inputs=(
            ColumnSpec("age", "float64"),
            ColumnSpec("colour", "int64"),
            ColumnSpec("tenure", "float64"),
            ColumnSpec("note", "string", optional=True),
        )
    )
    ref = make_table(500, seed=1)
    cur = make_table(500, seed=2)
    cur.loc[:9, "age"] = np.nan
    result = monitoring.drift(ref, cur, signature=signature)
    assert result.violations == [
        "column 'age': 10 null values where the signature requires one",
        "column 'colour': the signature says int64, got categorical",
        "column 'tenure': required by the signature, missing",
    ]
    assert result.to_dict()["violations"] == result.violations
    assert "required by the signature" in result.to_html()
    with pytest.raises(InvalidArgument, match="signature: must be"):
        monitoring.drift(ref, cur, signature={"inputs": []})
