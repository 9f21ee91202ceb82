"""One column of a pandas, polars or Arrow table, read the two ways drift needs: a numeric
column as float64 values (nulls as NaN), a categorical one as counts per value.

The table libraries are told apart through ``sys.modules`` (a pandas object cannot exist
unless pandas was imported), so reading an Arrow table never imports pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

Kind = Literal["numeric", "categorical"]
"""How a column is compared: numeric columns by their distribution, the rest by counts."""


def module_of(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def column_kind(dtype: Any) -> Kind:
    """``numeric`` for integer, unsigned, float and decimal types; ``categorical`` for the
    rest (strings, booleans, categories, dates). Booleans are categories: two values,
    compared by their shares."""
    module = module_of(dtype)
    if module == "polars":
        return "numeric" if dtype.is_numeric() else "categorical"
    if module == "pyarrow":
        import pyarrow as pa

        numeric = (
            pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
        )
        return "numeric" if numeric else "categorical"
    import pandas as pd  # a pandas/numpy dtype: pandas is already loaded

    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    return "numeric" if pd.api.types.is_numeric_dtype(dtype) else "categorical"


def is_integer(column: Any) -> bool:
    """Whether a numeric column holds integers by type (Evidently types an integer column
    with at most 5 values as categorical)."""
    module = module_of(column)
    if module == "pandas":
        import pandas as pd

        return bool(pd.api.types.is_integer_dtype(column.dtype))
    if module == "polars":
        return bool(column.dtype.is_integer())
    import pyarrow as pa

    return bool(pa.types.is_integer(column.type))


def numeric_values(column: Any) -> np.ndarray:
    """The column as a float64 array; nulls become NaN. No copy where the column is
    already a float64 array without nulls."""
    import numpy as np

    module = module_of(column)
    if module == "pandas":
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    if module == "polars":
        import polars as pl

        return column.cast(pl.Float64).to_numpy()
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.type != pa.float64():
        column = pc.cast(column, pa.float64())
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column.to_numpy(zero_copy_only=False)


def category_counts(column: Any) -> tuple[list[Any], np.ndarray, int]:
    """(values, their counts, the number of nulls): every distinct non-null value once.
    Values are str, bool or int as stored; other types (dates, decimals) are compared as
    their text."""
    import numpy as np

    module = module_of(column)
    if module == "pandas":
        counts = column.value_counts(dropna=True, sort=False)
        values = [_plain(v) for v in counts.index.tolist()]
        return values, counts.to_numpy(dtype=np.int64), int(column.isna().sum())
    if module == "polars":
        frame = column.drop_nulls().value_counts()
        values = [_plain(v) for v in frame.get_column(frame.columns[0]).to_list()]
        counts_array = frame.get_column(frame.columns[1]).to_numpy().astype(np.int64)
        return values, counts_array, int(column.null_count())
    import pyarrow as pa
    import pyarrow.compute as pc

    nulls = column.null_count
    if isinstance(column, pa.DictionaryArray):  # a Parquet batch: count the codes
        codes = pc.drop_null(column.indices).to_numpy()
        counts = np.bincount(codes, minlength=len(column.dictionary))
        present = np.flatnonzero(counts)
        labels = column.dictionary.take(pa.array(present)).to_pylist()
        return [_plain(v) for v in labels], counts[present].astype(np.int64), int(nulls)
    counted = pc.value_counts(pc.drop_null(column))
    values = [_plain(v) for v in counted.field("values").to_pylist()]
    return values, counted.field("counts").to_numpy().astype(np.int64), int(nulls)


def _plain(value: Any) -> Any:
    """A category as str, bool or int, so profiles round-trip through JSON."""
    if isinstance(value, (str, bool)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if item is not None:
        plain = item()
        if isinstance(plain, (str, bool, int)):
            return plain
    return str(value)
