"""Checking an input against a signature, and converting it to what the model takes.

Rules, applied to every column (or to the one tensor) before one error lists every problem:

- A required column that is missing is refused; a missing optional column is left out.
- A column the signature does not name is refused (a typo should not be dropped silently).
- Conversions that lose nothing are applied: bool → int → float, int32 → int64,
  float32 → float64 (``dtypes.WIDENS_TO``). Lossy ones are refused: float → int,
  string → number, int64 → int32, float64 → float32.
- Untyped input (a dict or a list of dicts, like a JSON body) has no declared widths, so
  its integers may go to int32 when every value fits, its numbers to float32, and its ISO
  8601 strings to datetime.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keel.errors import InvalidArgument
from keel.models import inputs
from keel.models.dtypes import NUMPY_NAMES, WIDENS_TO, describe_series, from_numpy, from_series
from keel.models.extras import require_pandas
from keel.models.signature import ColumnSpec, Signature, TensorSpec

INT32_RANGE = (-(2**31), 2**31 - 1)


def enforce_input(signature: Signature, data: Any) -> Any:
    typed = inputs.is_typed(data)
    if isinstance(signature.inputs, TensorSpec):
        return _enforce_tensor(signature.inputs, inputs.to_array(data), typed=typed)
    columns = signature.inputs
    frame = inputs.to_frame(data, columns=[column.name for column in columns])
    return _enforce_columns(columns, frame, typed=typed)


def _fail(problems: Sequence[str]) -> InvalidArgument:
    return InvalidArgument("input does not match the model's signature: " + "; ".join(problems))


def _enforce_columns(specs: Sequence[ColumnSpec], frame: Any, *, typed: bool) -> Any:
    pd = require_pandas("Checking a table against a model's signature")

    present = list(frame.columns)
    problems: list[str] = []
    repeated = sorted({str(name) for name in present if present.count(name) > 1})
    if repeated:
        problems.append(f"repeated columns {', '.join(map(repr, repeated))}")
    known = {spec.name for spec in specs}
    missing = [spec for spec in specs if spec.name not in present and not spec.optional]
    if missing:
        listed = ", ".join(f"{spec.name!r} ({spec.dtype})" for spec in missing)
        problems.append(f"missing column{'s' if len(missing) > 1 else ''} {listed}")
    extra = [name for name in present if name not in known]
    if extra:
        listed = ", ".join(repr(name) for name in extra)
        problems.append(
            f"extra column{'s' if len(extra) > 1 else ''} {listed} (not in the signature)"
        )
    converted: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in present or spec.name in repeated:
            continue
        value, problem = _convert_column(spec, frame[spec.name], typed=typed)
        if problem is not None:
            problems.append(f"column {spec.name!r}: {problem}")
        else:
            converted[spec.name] = value
    if problems:
        raise _fail(problems)
    return pd.DataFrame(converted, index=frame.index)


def _convert_column(spec: ColumnSpec, series: Any, *, typed: bool) -> tuple[Any, str | None]:
    if spec.shape is not None:
        return _convert_array_column(spec, series)
    actual = from_series(series)
    expected = spec.dtype
    try:
        if actual == expected:
            if expected in NUMPY_NAMES and series.dtype.kind == "O":  # numbers in objects
                return series.astype(NUMPY_NAMES[expected]), None
            return series, None
        if actual is not None and expected in WIDENS_TO[actual]:
            return series.astype(NUMPY_NAMES[expected]), None
        if not typed and actual is not None:
            converted = _convert_untyped(series, actual, expected)
            if converted is not None:
                return converted, None
    except (TypeError, ValueError, OverflowError) as exc:
        why = "it has missing values" if bool(series.isna().any()) else str(exc)
        return None, f"expected {expected}, got values that do not convert ({why})"
    return None, _why_not(series, actual, expected)


UNTYPED_CONVERSIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("int64", "int32"),  # when every value fits
        ("int64", "float32"),
        ("float64", "float32"),
        ("string", "datetime"),  # ISO 8601 text
    }
)
"""(actual, expected) conversions made by value for untyped input (JSON-like data, whose
numbers carry no width), beside the lossless ``WIDENS_TO``."""


def converts(actual: str, expected: str, *, typed: bool) -> bool:
    """Whether values of Keel type ``actual`` may be given to a column of ``expected``:
    losslessly always, and by value for untyped input (int64 to int32 still needs every
    value to fit, see ``fits_int32``; string to datetime needs ISO 8601 text)."""
    return expected in WIDENS_TO[actual] or (
        not typed and (actual, expected) in UNTYPED_CONVERSIONS
    )


def _convert_untyped(series: Any, actual: str, expected: str) -> Any:
    """The by-value conversions allowed for untyped input, or None."""
    import pandas as pd

    if not converts(actual, expected, typed=False):
        return None
    if expected == "int32":
        return series.astype("int32") if fits_int32(series) else None
    if expected == "float32":
        return series.astype("float32")
    try:
        return pd.to_datetime(series, format="ISO8601")
    except (TypeError, ValueError):
        return None


def _why_not(series: Any, actual: str | None, expected: str) -> str:
    has_nulls = actual is not None and bool(series.isna().any())
    return why_not(actual, expected, got=describe_series(series), has_nulls=has_nulls)


def why_not(actual: str | None, expected: str, *, got: str, has_nulls: bool = False) -> str:
    """Why values of Keel type ``actual`` (described as ``got``) cannot go to a column of
    ``expected``, as one phrase for an error message."""
    base = f"expected {expected}, got {got}"
    if actual is None:
        return base
    numeric = ("bool", "int32", "int64", "float32", "float64")
    if actual.startswith("float") and expected.startswith("int"):
        return base + (
            " (it has missing values, which integer columns cannot hold)"
            if has_nulls
            else " (converting floats to integers loses the fraction)"
        )
    if actual == "string" and expected in numeric:
        return base + " (strings are not converted to numbers)"
    if actual == "int64" and expected == "int32":
        return base + " (int64 to int32 may overflow)"
    if actual == "float64" and expected == "float32":
        return base + " (float64 to float32 loses precision)"
    if actual == "string" and expected == "datetime":
        return base + " (strings that are not ISO 8601 datetimes)"
    return base + " (no lossless conversion)"


def _convert_array_column(spec: ColumnSpec, series: Any) -> tuple[Any, str | None]:
    """A column whose values are arrays: each must have the spec's shape and dtype."""
    import numpy as np

    assert spec.shape is not None
    values: list[Any] = []
    for position, value in enumerate(series.tolist()):
        if value is None:
            if not spec.optional:
                return None, f"row {position}: missing value"
            values.append(None)
            continue
        array = np.asarray(value)
        if not shape_matches(array.shape, spec.shape):
            return (
                None,
                f"row {position}: expected shape {format_shape(spec.shape)}, got {array.shape}",
            )
        actual = from_numpy(array.dtype)
        if actual is None or spec.dtype not in WIDENS_TO[actual]:
            return None, f"row {position}: expected {spec.dtype} values, got {array.dtype}"
        values.append(array.astype(NUMPY_NAMES.get(spec.dtype, array.dtype), copy=False))
    return series.__class__(values, index=series.index, name=series.name, dtype=object), None


def _enforce_tensor(spec: TensorSpec, array: Any, *, typed: bool) -> Any:
    converted, problems = check_tensor(spec, array, typed=typed)
    if problems:
        raise _fail(problems)
    return converted


def check_tensor(spec: TensorSpec, array: Any, *, typed: bool) -> tuple[Any, list[str]]:
    """``array`` converted to the spec's dtype, and every problem found (none: it fits)."""
    problems: list[str] = []
    actual = from_numpy(array.dtype)
    expected = spec.dtype
    converted = array
    if actual != expected:
        if (
            actual is not None
            and actual != "string"  # no text to datetime for tensors
            and converts(actual, expected, typed=typed)
            and (expected != "int32" or actual == "int32" or fits_int32(array))
        ):
            converted = array.astype(NUMPY_NAMES[expected])
        else:
            problems.append(f"expected a tensor of {expected}, got {array.dtype}")
    if not shape_matches(array.shape, spec.shape):
        problems.append(f"expected shape {format_shape(spec.shape)}, got {array.shape}")
    return converted, problems


def fits_int32(values: Any) -> bool:
    """Whether every value of a numpy array or pandas Series fits in int32."""
    return bool(
        values.size == 0 or (values.min() >= INT32_RANGE[0] and values.max() <= INT32_RANGE[1])
    )


def shape_matches(actual: Sequence[int], expected: Sequence[int]) -> bool:
    if len(actual) != len(expected):
        return False
    return all(want in (-1, got) for got, want in zip(actual, expected, strict=True))


def format_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join("any" if size == -1 else str(size) for size in shape) + ")"
