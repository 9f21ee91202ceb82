"""A table's profile: per-column counts and statistics, what changed between two, as text.

>>> profile = profile_table(pl.read_parquet("train.parquet"))  # doctest: +SKIP
>>> profile.column("income").mean                              # doctest: +SKIP
>>> print(render_profile(profile))                             # doctest: +SKIP

Every column has its null count and share and its number of distinct non-null values.
Numeric columns add min, max, mean, std, quantiles and a 20-bin histogram; text,
categorical and boolean columns their ten most frequent values; temporal columns their
earliest and latest value. In float columns NaN and infinities are counted apart
(``non_finite_count``) and left out of the statistics, so every number is finite and the
profile is plain JSON (:meth:`TableProfile.to_dict`).

Three polars passes, none with Python per row: each numeric column is sorted once; one
query computes every statistic of every column; a last one places the histogram edges
(which need each column's range) in the sorted columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from keel.errors import InvalidArgument

if TYPE_CHECKING:
    import polars as pl

Kind = Literal["numeric", "text", "boolean", "temporal", "other"]
Value = int | float | str | bool | None
"""A JSON-safe value: temporal values as ISO 8601 text."""

HISTOGRAM_BINS = 20
TOP_VALUES = 10
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
DIFF_STATISTICS = ("null_share", "mean", "std", "min", "max", "distinct_count")


@dataclass(frozen=True, slots=True)
class Quantiles:
    p1: float
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float
    p99: float

    def to_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Histogram:
    """``len(edges) == len(counts) + 1``; bin ``i`` holds ``edges[i] <= x < edges[i+1]``,
    the last bin its right edge too (as numpy's). A column of one value gets a unit range
    around it."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]

    def to_dict(self) -> dict[str, list[Any]]:
        return {"edges": list(self.edges), "counts": list(self.counts)}


@dataclass(frozen=True, slots=True)
class ValueCount:
    value: Value
    count: int


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    name: str
    dtype: str
    kind: Kind
    null_count: int
    null_share: float
    distinct_count: int | None
    """Distinct non-null values; None for a type that has no equality (Object)."""
    non_finite_count: int | None = None
    """Float columns: NaN and infinities, which the statistics leave out."""
    min: Value = None
    max: Value = None
    mean: float | None = None
    std: float | None = None
    quantiles: Quantiles | None = None
    histogram: Histogram | None = None
    top_values: tuple[ValueCount, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "kind": self.kind,
            "null_count": self.null_count,
            "null_share": self.null_share,
            "distinct_count": self.distinct_count,
        }
        for key in ("non_finite_count", "min", "max", "mean", "std"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.quantiles is not None:
            out["quantiles"] = self.quantiles.to_dict()
        if self.histogram is not None:
            out["histogram"] = self.histogram.to_dict()
        if self.top_values is not None:
            out["top_values"] = [{"value": v.value, "count": v.count} for v in self.top_values]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnProfile:
        quantiles = data.get("quantiles")
        histogram = data.get("histogram")
        top = data.get("top_values")
        return cls(
            name=str(data["name"]),
            dtype=str(data["dtype"]),
            kind=data["kind"],
            null_count=int(data["null_count"]),
            null_share=float(data["null_share"]),
            distinct_count=data.get("distinct_count"),
            non_finite_count=data.get("non_finite_count"),
            min=data.get("min"),
            max=data.get("max"),
            mean=data.get("mean"),
            std=data.get("std"),
            quantiles=None if quantiles is None else Quantiles(**quantiles),
            histogram=None
            if histogram is None
            else Histogram(tuple(histogram["edges"]), tuple(histogram["counts"])),
            top_values=None
            if top is None
            else tuple(ValueCount(v["value"], int(v["count"])) for v in top),
        )


@dataclass(frozen=True, slots=True)
class TableProfile:
    row_count: int
    column_count: int
    columns: tuple[ColumnProfile, ...]

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "row_count": self.row_count,
            "column_count": self.column_count,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableProfile:
        """The profile :meth:`to_dict` gave; InvalidArgument for anything else."""
        try:
            return cls(
                row_count=int(data["row_count"]),
                column_count=int(data["column_count"]),
                columns=tuple(ColumnProfile.from_dict(c) for c in data["columns"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(f"profile: not a table profile ({exc!r})") from exc


# profiling ---------------------------------------------------------------------------------


def profile_table(df: pl.DataFrame) -> TableProfile:
    """The profile of ``df`` (a polars DataFrame; a pandas one is converted first)."""
    from keel.data.tables import to_polars

    df = to_polars(df)
    kinds = [_kind(dtype) for dtype in df.dtypes]
    numeric = [i for i, kind in enumerate(kinds) if kind == "numeric"]
    # Pass 1 sorts each numeric column once (its finite values, nulls last). Pass 2, every
    # statistic of every column in one query, reads min, max, the quantiles and the
    # distinct count (runs of equal neighbours: cheaper than hashing a million floats) off
    # the sorted copy; pass 3 counts each histogram bin by a binary search per edge in it.
    sorted_names = _sorted_names(df, numeric)
    frame = df.with_columns(_sorted(df, i, sorted_names[i]) for i in numeric) if numeric else df
    exprs = [
        e
        for i, name in enumerate(df.columns)
        for e in _aggregates(df, i, name, kinds[i], sorted_names.get(i, ""))
    ]
    stats = frame.lazy().select(exprs).collect().row(0, named=True) if exprs else {}
    histograms = _histograms(frame, sorted_names, stats)

    rows = df.height
    columns = []
    for i, (name, dtype) in enumerate(df.schema.items()):
        kind = kinds[i]
        nulls = int(stats[f"{i}:nulls"])
        column = ColumnProfile(
            name=name,
            dtype=str(dtype),
            kind=kind,
            null_count=nulls,
            null_share=nulls / rows if rows else 0.0,
            distinct_count=stats.get(f"{i}:distinct"),
            non_finite_count=stats.get(f"{i}:non_finite"),
        )
        if kind == "numeric":
            quantiles = stats[f"{i}:quantiles"]
            column = replace(
                column,
                min=_number(stats[f"{i}:min"]),
                max=_number(stats[f"{i}:max"]),
                mean=_number(stats[f"{i}:mean"]),
                std=_number(stats[f"{i}:std"]),
                quantiles=None
                if quantiles is None or quantiles[0] is None
                else Quantiles(*(float(q) for q in quantiles)),
                histogram=histograms.get(i),
            )
        elif kind == "temporal":
            column = replace(
                column, min=json_value(stats[f"{i}:min"]), max=json_value(stats[f"{i}:max"])
            )
        elif kind in ("text", "boolean"):
            top = tuple(
                ValueCount(json_value(v["value"]), int(v["count"])) for v in stats[f"{i}:top"]
            )
            column = replace(column, top_values=top)
        columns.append(column)
    return TableProfile(row_count=rows, column_count=df.width, columns=tuple(columns))


def _kind(dtype: pl.DataType) -> Kind:
    import polars as pl

    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.String or isinstance(dtype, pl.Enum | pl.Categorical):
        return "text"
    if dtype.is_temporal():
        return "temporal"
    return "other"


def _sorted_names(df: pl.DataFrame, numeric: Sequence[int]) -> dict[int, str]:
    """For each numeric column, a name for its sorted copy that no column of df has."""
    prefix = "\x00sorted"
    while any(name.startswith(prefix) for name in df.columns):
        prefix += "\x00"
    return {i: f"{prefix}:{i}" for i in numeric}


def _sorted(df: pl.DataFrame, i: int, alias: str) -> pl.Expr:
    import polars as pl

    name = df.columns[i]
    dtype = df.schema[name]
    col = pl.col(name)
    values = col.cast(pl.Float64) if dtype.is_decimal() else col
    if dtype.is_float():
        values = pl.when(col.is_finite()).then(col)
    return values.sort(nulls_last=True).alias(alias)


def _aggregates(df: pl.DataFrame, i: int, name: str, kind: Kind, sorted_name: str) -> list[pl.Expr]:
    import polars as pl

    dtype = df.schema[name]
    col = pl.col(name)
    out = [col.null_count().alias(f"{i}:nulls")]
    if kind == "numeric":
        ordered = pl.col(sorted_name)
        # Sorted with nulls last, every change between neighbours starts a new value.
        runs = (ordered != ordered.shift(1)).sum() + 1
        distinct = pl.when(ordered.is_not_null().any()).then(runs).otherwise(0)
        if dtype.is_float():
            non_finite = ~col.is_finite()
            out.append(non_finite.sum().alias(f"{i}:non_finite"))
            distinct = distinct + col.filter(non_finite).n_unique()
        as_float = ordered.cast(pl.Float64)
        return [
            *out,
            distinct.cast(pl.Int64).alias(f"{i}:distinct"),
            ordered.min().alias(f"{i}:min"),
            ordered.max().alias(f"{i}:max"),
            as_float.mean().alias(f"{i}:mean"),
            as_float.std().alias(f"{i}:std"),
            ordered.quantile(list(QUANTILES), interpolation="linear").alias(f"{i}:quantiles"),
        ]
    if kind in ("text", "boolean"):
        values = col.cast(pl.String) if kind == "text" else col
        counts = values.drop_nulls().alias("value").value_counts(name="count").implode()
        # Sorted inside the list, where both keys are fields of the same value counts (two
        # evaluations of value_counts may list them in different orders); ties broken by
        # value, so the same table always gives the same list.
        entry = pl.element()
        top = counts.list.eval(
            entry.sort_by(
                [entry.struct.field("count"), entry.struct.field("value")],
                descending=[True, False],
            ).head(TOP_VALUES)
        )
        return [*out, top.alias(f"{i}:top"), counts.list.len().alias(f"{i}:distinct")]
    if kind == "temporal":
        out += [col.min().alias(f"{i}:min"), col.max().alias(f"{i}:max")]
    if dtype != pl.Object:
        out.append(col.drop_nulls().n_unique().alias(f"{i}:distinct"))
    return out


def _histograms(
    frame: pl.DataFrame, sorted_names: Mapping[int, str], stats: Mapping[str, Any]
) -> dict[int, Histogram]:
    """Equal-width histograms of the numeric columns over their finite range: the count
    below each edge is a binary search in the column's sorted values."""
    import polars as pl

    edges: dict[int, list[float]] = {}
    exprs = []
    for i, sorted_name in sorted_names.items():
        low, high = stats[f"{i}:min"], stats[f"{i}:max"]
        if low is None:
            continue
        lo, hi = float(low), float(high)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        # As numpy's linspace, so the bins are numpy.histogram's.
        step = (hi - lo) / HISTOGRAM_BINS
        edges[i] = [k * step + lo for k in range(HISTOGRAM_BINS)] + [hi]
        ordered = pl.col(sorted_name)
        dtype = frame.schema[frame.columns[i]]
        inner: pl.Series = pl.Series(edges[i][1:-1], dtype=pl.Float64)
        if dtype.is_integer():
            # x >= edge exactly when x >= ceil(edge), for an integer x.
            inner = pl.Series([math.ceil(e) for e in edges[i][1:-1]]).cast(dtype, strict=False)
        exprs.append(ordered.search_sorted(inner).implode().alias(str(i)))
    if not exprs:
        return {}
    found = frame.lazy().select(exprs).collect().row(0, named=True)
    out = {}
    for i, bounds in edges.items():
        valid = frame.height - stats[f"{i}:nulls"] - (stats.get(f"{i}:non_finite") or 0)
        below = [0, *found[str(i)], valid]
        counts = tuple(int(below[k + 1] - below[k]) for k in range(HISTOGRAM_BINS))
        out[i] = Histogram(tuple(bounds), counts)
    return out


def _number(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def json_value(value: Any) -> Value:
    """``value`` as JSON: dates and times as ISO 8601, durations as seconds."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


# diff --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DtypeChange:
    column: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class StatisticChange:
    column: str
    statistic: str
    old: Value
    new: Value


@dataclass(frozen=True, slots=True)
class ProfileDiff:
    """What changed from profile ``a`` (old) to ``b`` (new)."""

    old_row_count: int
    new_row_count: int
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()
    dtype_changes: tuple[DtypeChange, ...] = ()
    statistic_changes: tuple[StatisticChange, ...] = ()

    @property
    def row_count_change(self) -> int:
        return self.new_row_count - self.old_row_count

    @property
    def unchanged(self) -> bool:
        return (
            self.row_count_change == 0
            and not self.columns_added
            and not self.columns_removed
            and not self.dtype_changes
            and not self.statistic_changes
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "row_count": {
                "old": self.old_row_count,
                "new": self.new_row_count,
                "change": self.row_count_change,
            },
            "columns_added": list(self.columns_added),
            "columns_removed": list(self.columns_removed),
            "dtype_changes": [
                {"column": c.column, "old": c.old, "new": c.new} for c in self.dtype_changes
            ],
            "statistic_changes": [
                {"column": c.column, "statistic": c.statistic, "old": c.old, "new": c.new}
                for c in self.statistic_changes
            ],
        }


def diff_profiles(a: TableProfile, b: TableProfile) -> ProfileDiff:
    """What changed from ``a`` to ``b``: columns, dtypes, row count, and for the columns in
    both the statistics in ``DIFF_STATISTICS`` (floats equal to 1e-9 count as equal)."""
    old = {c.name: c for c in a.columns}
    new = {c.name: c for c in b.columns}
    dtypes, statistics = [], []
    for name, before in old.items():
        after = new.get(name)
        if after is None:
            continue
        if before.dtype != after.dtype:
            dtypes.append(DtypeChange(name, before.dtype, after.dtype))
        for statistic in DIFF_STATISTICS:
            x, y = getattr(before, statistic), getattr(after, statistic)
            if not _same(x, y):
                statistics.append(StatisticChange(name, statistic, x, y))
    return ProfileDiff(
        old_row_count=a.row_count,
        new_row_count=b.row_count,
        columns_added=tuple(n for n in new if n not in old),
        columns_removed=tuple(n for n in old if n not in new),
        dtype_changes=tuple(dtypes),
        statistic_changes=tuple(statistics),
    )


def _same(x: Value, y: Value) -> bool:
    numbers = (int, float)
    if isinstance(x, numbers) and isinstance(y, numbers) and not isinstance(x, bool):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    return x == y


# text --------------------------------------------------------------------------------------


def render_profile(profile: TableProfile, *, width: int = 24) -> str:
    """A plain-text table, one line per column; cells cut to ``width`` characters."""
    header = ("column", "dtype", "nulls", "distinct", "min", "max", "mean", "std", "top")
    rows = [header]
    for c in profile.columns:
        top = ""
        if c.top_values:
            top = ", ".join(f"{v.value} ({v.count:,})" for v in c.top_values[:3])
        rows.append(
            (
                c.name,
                c.dtype,
                f"{c.null_count:,}" + (f" ({c.null_share:.1%})" if c.null_count else ""),
                "" if c.distinct_count is None else f"{c.distinct_count:,}",
                _cell(c.min),
                _cell(c.max),
                _cell(c.mean),
                _cell(c.std),
                top,
            )
        )
    title = f"{profile.row_count:,} rows x {profile.column_count:,} columns"
    return "\n".join([title, _table(rows, width)])


def render_diff(diff: ProfileDiff) -> str:
    """A plain-text summary of :func:`diff_profiles`, one line per change."""
    lines = [f"rows: {diff.old_row_count:,} -> {diff.new_row_count:,} ({diff.row_count_change:+,})"]
    lines += [f"+ column {name}" for name in diff.columns_added]
    lines += [f"- column {name}" for name in diff.columns_removed]
    lines += [f"~ {c.column}: dtype {c.old} -> {c.new}" for c in diff.dtype_changes]
    lines += [
        f"~ {c.column}: {c.statistic} {_cell(c.old)} -> {_cell(c.new)}"
        for c in diff.statistic_changes
    ]
    return "\n".join(lines)


def _cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(rows: Sequence[Sequence[str]], width: int) -> str:
    cut = [[cell if len(cell) <= width else cell[: width - 1] + "~" for cell in r] for r in rows]
    widths = [max(len(r[k]) for r in cut) for k in range(len(cut[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in cut
    )
