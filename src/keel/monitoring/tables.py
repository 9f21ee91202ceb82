"""Reading the tables monitoring is given: pandas, polars (eager or lazy) or Arrow, into
polars; the time column into UTC datetimes; class labels into one spelling.

Labels come from several places that spell them differently: a prediction of ``1`` (an
integer), feedback of ``1.0`` (feedback labels are float64 or strings), a score column
``score.1``. Every label is compared as text, integral numbers written without a
decimal point, so all three are the class ``"1"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from keel.errors import InvalidArgument
from keel.extras import require

if TYPE_CHECKING:
    import polars as pl


def to_polars(data: Any, *, field: str = "data") -> pl.DataFrame:
    """A polars DataFrame from pandas, polars (a LazyFrame is collected) or Arrow."""
    pl = require("polars", extra="monitoring", purpose="Monitoring performance")

    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, pl.DataFrame):
        return data
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return pl.from_pandas(data)
    if module == "pyarrow":
        frame = pl.from_arrow(data)
        if isinstance(frame, pl.DataFrame):
            return frame
    raise InvalidArgument(
        f"{field}: expected a pandas or polars DataFrame or an Arrow table, "
        f"got {type(data).__name__}"
    )


def require_columns(frame: pl.DataFrame, columns: Sequence[str], *, field: str = "data") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidArgument(
            f"{field}: missing column(s) {missing} (columns: {frame.columns[:20]})"
        )


def utc_times(frame: pl.DataFrame, column: str) -> pl.Series:
    """The time column as UTC datetimes: integers are epoch milliseconds (the prediction
    log's unit); naive datetimes are taken as UTC."""
    import polars as pl

    series = frame.get_column(column)
    if series.dtype.is_integer():
        return pl.from_epoch(series, time_unit="ms").dt.replace_time_zone("UTC")
    if isinstance(series.dtype, pl.Datetime):
        if series.dtype.time_zone is None:
            return series.dt.replace_time_zone("UTC")
        return series.dt.convert_time_zone("UTC")
    if series.dtype == pl.Date:
        return series.cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
    raise InvalidArgument(
        f"{column}: the time column must hold datetimes or epoch milliseconds, got {series.dtype}"
    )


def label_text(series: pl.Series) -> pl.Series:
    """Labels as text: ``1``, ``1.0`` and ``"1"`` are all ``"1"``; nulls and NaN stay null."""
    import polars as pl

    dtype = series.dtype
    if dtype == pl.Boolean:
        return series.cast(pl.Int8).cast(pl.Utf8)
    if dtype.is_float():
        finite = series.is_finite() & series.is_not_null()
        integral = finite & (series == series.round(0))
        text = (
            pl.select(
                pl.when(integral)
                .then(series.cast(pl.Int64, strict=False).cast(pl.Utf8))
                .when(finite)
                .then(series.cast(pl.Utf8))
                .otherwise(None)
            )
            .to_series()
            .alias(series.name)
        )
        return text
    if dtype.is_numeric():
        return series.cast(pl.Utf8)
    return series.cast(pl.Utf8)


def label_codes(series: pl.Series, classes: Sequence[str]) -> Any:
    """Each label's index in ``classes`` as int64, -1 for null or unknown."""
    import numpy as np
    import polars as pl

    mapping = pl.DataFrame({"__label": list(classes), "__code": np.arange(len(classes))})
    joined = (
        pl.DataFrame({"__label": label_text(series)})
        .with_row_index("__row")
        .join(mapping, on="__label", how="left")
        .sort("__row")
    )
    return joined.get_column("__code").fill_null(-1).to_numpy().astype(np.int64)


def sorted_classes(values: Sequence[str]) -> list[str]:
    """Numbers in numeric order (``"2"`` before ``"10"``), then text."""

    def key(value: str) -> tuple[int, float, str]:
        try:
            return (0, float(value), value)
        except ValueError:
            return (1, 0.0, value)

    return sorted(set(values), key=key)
