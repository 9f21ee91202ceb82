"""The column and tensor types a signature may name, and how library dtypes map onto them.

Nothing here imports pandas, numpy or polars: each function reads the dtype object it is
handed (and ``pandas.api.types`` only once it has been given a pandas object).
"""

from __future__ import annotations

from typing import Any

DTYPES = ("bool", "int32", "int64", "float32", "float64", "string", "datetime", "binary")
TENSOR_DTYPES = ("bool", "int32", "int64", "float32", "float64")

WIDENS_TO: dict[str, frozenset[str]] = {
    "bool": frozenset({"bool", "int32", "int64", "float32", "float64"}),
    "int32": frozenset({"int32", "int64", "float32", "float64"}),
    "int64": frozenset({"int64", "float32", "float64"}),
    "float32": frozenset({"float32", "float64"}),
    "float64": frozenset({"float64"}),
    "string": frozenset({"string"}),
    "datetime": frozenset({"datetime"}),
    "binary": frozenset({"binary"}),
}
"""Conversions that lose nothing a model could see (integers to floats are taken as safe,
as every ML library takes them)."""

NUMPY_NAMES = {
    "bool": "bool",
    "int32": "int32",
    "int64": "int64",
    "float32": "float32",
    "float64": "float64",
}

_POLARS = {
    "Boolean": "bool",
    "Int8": "int32",
    "Int16": "int32",
    "Int32": "int32",
    "UInt8": "int32",
    "UInt16": "int32",
    "Int64": "int64",
    "UInt32": "int64",
    "Float32": "float32",
    "Float64": "float64",
    "String": "string",
    "Utf8": "string",
    "Categorical": "string",
    "Enum": "string",
    "Datetime": "datetime",
    "Date": "datetime",
    "Binary": "binary",
}

_INFERRED = {
    "string": "string",
    "bytes": "binary",
    "boolean": "bool",
    "integer": "int64",
    "floating": "float64",
    "mixed-integer-float": "float64",
    "datetime64": "datetime",
    "datetime": "datetime",
    "date": "datetime",
}
"""``pandas.api.types.infer_dtype`` answers for object columns."""


def from_numpy(dtype: Any) -> str | None:
    """Keel's name for a numpy dtype, or None where no name fits (objects, uint64, ...)."""
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return "bool"
    if kind == "i":
        return "int32" if size <= 4 else "int64"
    if kind == "u":
        return {1: "int32", 2: "int32", 4: "int64"}.get(size)
    if kind == "f":
        return "float32" if size <= 4 else "float64" if size == 8 else None
    if kind == "M":
        return "datetime"
    if kind == "U":
        return "string"
    if kind == "S":
        return "binary"
    return None


def from_polars(dtype: Any) -> str | None:
    return _POLARS.get(type(dtype).__name__ if not isinstance(dtype, type) else dtype.__name__)


def from_series(series: Any) -> str | None:
    """Keel's name for a pandas column's values, or None for mixed or unsupported values."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return from_series(pd.Series(dtype.categories))
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if isinstance(dtype, pd.BooleanDtype):
        return "bool"
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if numpy_dtype is not None:  # nullable Int64, Float32, ...
        return from_numpy(numpy_dtype)
    if getattr(dtype, "kind", "O") != "O":
        return from_numpy(dtype)
    return _INFERRED.get(pd.api.types.infer_dtype(series, skipna=True))


def describe_series(series: Any) -> str:
    """A column's type as a person would say it, for error messages."""
    name = from_series(series)
    return name if name is not None else f"{series.dtype} (mixed or unsupported values)"
