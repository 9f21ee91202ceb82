"""Inferring a :class:`DataSchema` from a reference table, and matching polars dtypes to
the schema's dtype vocabulary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keel.data.schema import (
    ORDERED_DTYPES,
    TEXT_DTYPES,
    ColumnSchema,
    DataSchema,
    DType,
    is_int,
)
from keel.errors import InvalidArgument

if TYPE_CHECKING:
    import polars as pl


def dtype_of(dtype: pl.DataType) -> DType:
    """The schema dtype of a polars dtype (``any`` for those the vocabulary lacks)."""
    import polars as pl

    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.String:
        return "string"
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return "category"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    return "any"


def accepts(expected: DType, dtype: pl.DataType) -> bool:
    """Whether a column of polars ``dtype`` is of schema dtype ``expected``."""
    found = dtype_of(dtype)
    return (
        expected == "any"
        or found == expected
        or (expected == "float" and found == "int")
        or (expected in TEXT_DTYPES and found in TEXT_DTYPES)
    )


def infer_schema(df: pl.DataFrame, *, categorical_max: int = 20) -> DataSchema:
    """The schema ``df`` meets: its dtypes; nullable where it has nulls (or NaN); min and
    max where ordered; for string and category columns of at most ``categorical_max``
    distinct values that repeat, those values; unique for int and string columns of at
    least two values, all distinct.

    >>> infer_schema(pl.DataFrame({"plan": ["a", "b", "a"]})).column("plan").allowed
    ('a', 'b')
    """
    import polars as pl

    from keel.data.tables import to_polars

    df = to_polars(df)
    if not is_int(categorical_max) or categorical_max < 0:
        raise InvalidArgument(f"categorical_max: must be 0 or more, got {categorical_max!r}")
    exprs: list[pl.Expr] = []
    kinds = {name: dtype_of(dtype) for name, dtype in df.schema.items()}
    for k, (name, kind) in enumerate(kinds.items()):
        col = pl.col(name)
        # Validation counts NaN as missing, as pandera does.
        missing = col.is_null() | col.is_nan() if df.schema[name].is_float() else col.is_null()
        exprs.append(missing.sum().alias(f"{k}:missing"))
        present = col.drop_nulls()
        if kind == "float":
            values = col.cast(pl.Float64)
            present = values.filter(values.is_finite())
            exprs.append(values.is_infinite().any().alias(f"{k}:infinite"))
        if kind in ORDERED_DTYPES:
            exprs += [present.min().alias(f"{k}:min"), present.max().alias(f"{k}:max")]
        if kind in ("int", "string", "category"):
            exprs.append(present.n_unique().alias(f"{k}:distinct"))
        if kind in TEXT_DTYPES:
            exprs.append(
                present.cast(pl.String).unique().sort().head(categorical_max + 1).implode()
                .alias(f"{k}:values")
            )  # fmt: skip
    stats = df.lazy().select(exprs).collect().row(0, named=True) if exprs else {}
    columns = []
    for k, (name, kind) in enumerate(kinds.items()):
        nulls = stats[f"{k}:missing"]
        present = df.height - nulls
        distinct = stats.get(f"{k}:distinct")
        low = high = None
        if kind in ORDERED_DTYPES and not stats.get(f"{k}:infinite"):
            low, high = stats[f"{k}:min"], stats[f"{k}:max"]
        if kind == "float":
            low, high = (None if v is None else float(v) for v in (low, high))
        allowed = None
        # Values that repeat make a category; all different, an identifier or free text.
        if kind in TEXT_DTYPES and distinct and distinct <= categorical_max and distinct < present:
            allowed = tuple(stats[f"{k}:values"])
        unique = kind in ("int", "string") and present >= 2 and distinct == present
        columns.append(
            ColumnSchema(
                name=name,
                dtype=kind,
                nullable=nulls > 0,
                min=low,
                max=high,
                allowed=allowed,
                unique=unique,
            )
        )
    return DataSchema(columns=tuple(columns))
