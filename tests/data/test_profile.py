"""Table profiles: the numbers match numpy's and polars' own, edge columns do not crash, the
JSON form round-trips, and a diff sees what changed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from keel.data.profile import (
    Histogram,
    TableProfile,
    diff_profiles,
    profile_table,
    render_diff,
    render_profile,
)
from keel.errors import InvalidArgument

PERCENTILES = [1, 5, 25, 50, 75, 95, 99]


def numbers(rows: int = 2_000, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(10, 3, rows)
    x[rng.random(rows) < 0.05] = np.nan
    n = rng.integers(-40, 60, rows)
    return pl.DataFrame({"x": x, "n": n}, nan_to_null=True).with_columns(
        pl.when(pl.int_range(pl.len()) % 10 == 0).then(None).otherwise(pl.col("n")).alias("n")
    )


def test_numeric_statistics_match_numpy() -> None:
    frame = numbers()
    profile = profile_table(frame)
    assert (profile.row_count, profile.column_count) == (2_000, 2)
    for name in ("x", "n"):
        column = profile.column(name)
        values = frame[name].drop_nulls().to_numpy().astype(float)
        assert column.kind == "numeric"
        assert column.null_count == frame[name].null_count()
        assert column.null_share == pytest.approx(frame[name].null_count() / 2_000)
        assert column.distinct_count == len(np.unique(values))
        assert column.min == values.min()
        assert column.max == values.max()
        assert column.mean == pytest.approx(values.mean(), rel=1e-12)
        assert column.std == pytest.approx(values.std(ddof=1), rel=1e-12)
        assert column.quantiles is not None
        expected = np.percentile(values, PERCENTILES)
        assert list(column.quantiles.to_dict().values()) == pytest.approx(expected, rel=1e-12)
        counts, edges = np.histogram(values, bins=20)
        assert column.histogram == Histogram(tuple(edges.tolist()), tuple(counts.tolist()))
        assert sum(column.histogram.counts) == len(values)


def test_integer_columns_keep_integer_bounds() -> None:
    column = profile_table(numbers()).column("n")
    assert isinstance(column.min, int)
    assert isinstance(column.max, int)


def test_nan_and_infinities_are_counted_apart_and_left_out() -> None:
    frame = pl.DataFrame({"x": [1.0, 2.0, float("nan"), float("inf"), None, 3.0]})
    column = profile_table(frame).column("x")
    assert (column.null_count, column.non_finite_count) == (1, 2)
    assert (column.min, column.max, column.mean) == (1.0, 3.0, 2.0)
    assert column.distinct_count == 5  # 1, 2, 3, NaN and inf
    assert column.histogram is not None
    assert sum(column.histogram.counts) == 3


def test_a_constant_column_gets_a_unit_range_like_numpy() -> None:
    column = profile_table(pl.DataFrame({"c": [7] * 50})).column("c")
    counts, edges = np.histogram(np.full(50, 7), bins=20)
    assert column.histogram == Histogram(tuple(edges.tolist()), tuple(counts.tolist()))
    assert (column.min, column.max, column.std, column.distinct_count) == (7, 7, 0.0, 1)


@pytest.mark.parametrize("dtype", [pl.Float64, pl.Int32, pl.String, pl.Boolean, pl.Date, pl.Null])
def test_an_all_null_column_has_counts_and_no_statistics(dtype: pl.DataType) -> None:
    column = profile_table(pl.DataFrame({"a": pl.Series([None] * 4, dtype=dtype)})).column("a")
    assert (column.null_count, column.null_share, column.distinct_count) == (4, 1.0, 0)
    assert column.min is None
    assert column.mean is None
    assert column.quantiles is None
    assert column.histogram is None
    assert column.top_values in (None, ())


def test_an_empty_table() -> None:
    profile = profile_table(pl.DataFrame({"a": pl.Series([], dtype=pl.Int64)}))
    assert profile.row_count == 0
    assert profile.column("a").null_share == 0.0
    assert profile_table(pl.DataFrame()).columns == ()


def test_top_values_are_the_most_frequent_ties_by_value() -> None:
    words = ["b", "a", "c", "a", "b", "d", None, "a"] + [f"w{i:02d}" for i in range(20)]
    frame = pl.DataFrame(
        {
            "s": words,
            "cat": pl.Series(words, dtype=pl.Categorical),
            "flag": [i % 3 == 0 for i in range(len(words))],
        }
    )
    profile = profile_table(frame)
    top = profile.column("s").top_values
    assert top is not None
    assert [(v.value, v.count) for v in top[:4]] == [("a", 3), ("b", 2), ("c", 1), ("d", 1)]
    assert len(top) == 10
    assert profile.column("s").distinct_count == 24
    assert profile.column("cat").top_values == top
    flags = profile.column("flag").top_values
    assert flags is not None
    assert [(v.value, v.count) for v in flags] == [(False, 18), (True, 10)]


def test_temporal_columns_have_their_range_as_iso_text() -> None:
    frame = pl.DataFrame(
        {
            "day": [date(2024, 3, 1), date(2024, 1, 31), None],
            "at": [datetime(2024, 1, 1, 12, tzinfo=UTC), None, datetime(2023, 5, 1, tzinfo=UTC)],
        }
    )
    profile = profile_table(frame)
    assert (profile.column("day").min, profile.column("day").max) == ("2024-01-31", "2024-03-01")
    assert profile.column("at").min == "2023-05-01T00:00:00+00:00"
    assert profile.column("at").kind == "temporal"


def test_other_columns_get_counts_only() -> None:
    frame = pl.DataFrame({"l": [[1], [1], [2]], "s": [{"a": 1}, {"a": 2}, None]})
    profile = profile_table(frame)
    assert profile.column("l").kind == "other"
    assert profile.column("l").distinct_count == 2
    assert profile.column("s").null_count == 1


def test_large_integers_are_counted_exactly() -> None:
    frame = pl.DataFrame({"id": [2**62 + k for k in range(100)]})
    column = profile_table(frame).column("id")
    assert column.distinct_count == 100
    assert column.max == 2**62 + 99
    assert column.histogram is not None
    assert sum(column.histogram.counts) == 100


def test_a_pandas_frame_is_profiled_too() -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    profile = profile_table(pd.DataFrame({"x": [1.0, None, 3.0]}))
    assert profile.column("x").null_count == 1


def test_the_json_form_round_trips() -> None:
    frame = numbers().with_columns(
        s=pl.lit("k"), day=pl.lit(date(2024, 1, 1)), inf=pl.lit(float("inf"))
    )
    profile = profile_table(frame)
    text = json.dumps(profile.to_dict(), allow_nan=False)
    assert TableProfile.from_dict(json.loads(text)) == profile


def test_a_mapping_that_is_not_a_profile_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="profile: not a table profile"):
        TableProfile.from_dict({"row_count": 3})


def test_render_lists_every_column() -> None:
    text = render_profile(profile_table(numbers().with_columns(city=pl.lit("Oslo"))))
    lines = text.splitlines()
    assert lines[0] == "2,000 rows x 3 columns"
    header = "column dtype nulls distinct min max mean std top"
    assert lines[1].split() == header.split()
    assert [line.split()[0] for line in lines[2:]] == ["x", "n", "city"]
    assert "Oslo (2,000)" in lines[4]


# diff --------------------------------------------------------------------------------------


def test_a_diff_sees_columns_dtypes_rows_and_a_mean_shift() -> None:
    old = numbers()
    new = (
        numbers(2_500, seed=8)
        .with_columns((pl.col("x") + 5).alias("x"), pl.col("n").cast(pl.Float64))
        .with_columns(city=pl.lit("Oslo"))
    )
    diff = diff_profiles(profile_table(old), profile_table(new))
    assert (diff.old_row_count, diff.new_row_count, diff.row_count_change) == (2_000, 2_500, 500)
    assert diff.columns_added == ("city",)
    assert diff.columns_removed == ()
    assert [(c.column, c.old, c.new) for c in diff.dtype_changes] == [("n", "Int64", "Float64")]
    mean = next(c for c in diff.statistic_changes if (c.column, c.statistic) == ("x", "mean"))
    assert isinstance(mean.old, float)
    assert isinstance(mean.new, float)
    assert mean.new - mean.old == pytest.approx(5, abs=0.5)
    assert not diff.unchanged
    data = json.loads(json.dumps(diff.to_dict(), allow_nan=False))
    assert data["columns_added"] == ["city"]
    assert data["row_count"] == {"old": 2_000, "new": 2_500, "change": 500}
    text = render_diff(diff)
    assert "+ column city" in text
    assert "~ n: dtype Int64 -> Float64" in text


def test_a_removed_column_and_no_change() -> None:
    profile = profile_table(numbers())
    assert diff_profiles(profile, profile).unchanged
    smaller = profile_table(numbers().drop("n"))
    diff = diff_profiles(profile, smaller)
    assert diff.columns_removed == ("n",)
    assert diff.statistic_changes == ()
