"""Turning a request's values into the checked numpy columns of a ``Table``.

Every protocol hands this module what it read: a list of plain values per column (JSON,
CSV), a typed numpy array per column (Arrow, V2 tensors), or one nested list or array
(a tensor model). The rules are the model package's (``keel.models.enforcement``):
lossless widening always; by-value conversions (int → int32 when it fits, numbers →
float32, ISO 8601 text → datetime) for untyped values such as JSON's. Nothing here
raises on a signature problem: each function answers its problems, so the protocol can
list every problem of a request in one ``Unprocessable``.

Column arrays: ``bool``, ``int32``, ``int64``, ``float32``, ``float64`` numpy arrays;
``string`` and ``binary`` object arrays of ``str`` / ``bytes``; ``datetime``
``datetime64[us]``. A null in an optional float column is NaN, in an optional column of
another type the column is an object array holding ``None``.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from keel.models.dtypes import NUMPY_NAMES, from_numpy
from keel.models.enforcement import (
    check_tensor,
    converts,
    fits_int32,
    format_shape,
    shape_matches,
    why_not,
)
from keel.models.signature import ColumnSpec, TensorSpec

ROWS_LISTED = 5
"""Offending rows named per column; the rest are counted."""

JSON_KINDS: dict[type, str] = {
    bool: "bool",
    int: "int64",
    float: "float64",
    str: "string",
    bytes: "binary",
}
"""Keel's type of a plain value (what JSON, CSV cells and Arrow's ``to_pylist`` give)."""

_ACCEPTED: dict[str, frozenset[type]] = {}


def accepted_types(dtype: str) -> frozenset[type]:
    """The Python types whose values may go to a column of ``dtype`` (untyped rules)."""
    found = _ACCEPTED.get(dtype)
    if found is None:
        found = frozenset(
            kind
            for kind, name in JSON_KINDS.items()
            if converts(name, dtype, typed=False) or (dtype == "binary" and kind is str)
        )
        _ACCEPTED[dtype] = found
    return found


def describe_value(value: object) -> str:
    """A value as an error names it: its Keel type and a short repr."""
    kind = JSON_KINDS.get(type(value)) or type(value).__name__
    if isinstance(value, list):
        kind = "list"
    elif isinstance(value, dict):
        kind = "object"
    shown = repr(value)
    return f"{kind} {shown[:40] + '...' if len(shown) > 40 else shown}"


def rows_named(positions: Sequence[int]) -> str:
    """``row 3`` or ``rows 1, 2, 3, 4, 5 and 7 more``."""
    shown = ", ".join(str(p) for p in positions[:ROWS_LISTED])
    more = len(positions) - ROWS_LISTED
    return (
        ("rows " if len(positions) > 1 else "row ")
        + shown
        + (f" and {more} more" if more > 0 else "")
    )


def are(positions: Sequence[int]) -> str:
    return "are" if len(positions) > 1 else "is"


def _null_problem(spec: ColumnSpec, values: Sequence[Any]) -> tuple[list[int], str | None]:
    nulls = [position for position, value in enumerate(values) if value is None]
    if nulls and not spec.optional:
        return nulls, (
            f"column {spec.name!r}: null at {rows_named(nulls)}, "
            "but the column is required (not optional)"
        )
    return nulls, None


def from_values(spec: ColumnSpec, values: list[Any]) -> tuple[np.ndarray | None, list[str]]:
    """A column of ``spec`` from plain values (JSON's, parsed CSV cells), or its problems."""
    if spec.shape is not None:
        return _array_column(spec, values)
    nulls, null_problem = _null_problem(spec, values)
    problems = [null_problem] if null_problem else []
    types = set(map(type, values))
    types.discard(type(None))
    accepted = accepted_types(spec.dtype)
    if not types <= accepted:
        bad = [p for p, v in enumerate(values) if v is not None and type(v) not in accepted]
        first = values[bad[0]]
        reason = why_not(
            JSON_KINDS.get(type(first)), spec.dtype, got=describe_value(first)
        ).removeprefix(f"expected {spec.dtype}, got ")
        problems.append(
            f"column {spec.name!r}: expected {spec.dtype}; row {bad[0]} has {reason}"
            + (f"; also {rows_named(bad[1:])}" if len(bad) > 1 else "")
        )
    if problems:
        return None, problems
    return _convert(spec, values, nulls)


def _convert(
    spec: ColumnSpec, values: list[Any], nulls: list[int]
) -> tuple[np.ndarray | None, list[str]]:
    dtype = spec.dtype
    where = f"column {spec.name!r}"
    if dtype in ("float32", "float64"):
        filled = [math.nan if v is None else v for v in values] if nulls else values
        return np.array(filled, dtype=dtype), []
    if dtype in ("int32", "int64", "bool"):
        if nulls:
            return _objects(values), []
        try:
            array = np.array(values, dtype="int64" if dtype != "bool" else "bool")
        except OverflowError:
            big = [p for p, v in enumerate(values) if not -(2**63) <= v < 2**63]
            return None, [f"{where}: {rows_named(big)} {are(big)} too large for int64"]
        if dtype == "int32":
            if not fits_int32(array):
                big = np.flatnonzero((array < -(2**31)) | (array >= 2**31)).tolist()
                return None, [
                    f"{where}: expected int32, {rows_named(big)} {are(big)} too large for int32"
                ]
            array = array.astype("int32")
        return array, []
    if dtype == "string":
        return _objects(values), []
    if dtype == "binary":
        return _binary(where, values)
    return _datetimes(where, values)


def _objects(values: Sequence[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _binary(where: str, values: list[Any]) -> tuple[np.ndarray | None, list[str]]:
    """Bytes as they are; text as base64 (JSON has no bytes)."""
    out: list[bytes | None] = []
    bad: list[int] = []
    for position, value in enumerate(values):
        if isinstance(value, str):
            try:
                value = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                bad.append(position)
        out.append(value)
    if bad:
        return None, [
            f"{where}: expected binary as base64 text; {rows_named(bad)} {are(bad)} not base64"
        ]
    return _objects(out), []


def _datetimes(where: str, values: list[Any]) -> tuple[np.ndarray | None, list[str]]:
    """ISO 8601 text; with an offset it is taken to UTC, without one it is kept as given."""
    out: list[Any] = []
    bad: list[int] = []
    for position, value in enumerate(values):
        if value is None:
            out.append(np.datetime64("NaT"))
            continue
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            bad.append(position)
            continue
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        out.append(np.datetime64(moment, "us"))
    if bad:
        first = describe_value(values[bad[0]])
        return None, [
            f"{where}: expected datetime (ISO 8601 text); "
            f"{rows_named(bad)} {are(bad)} not, e.g. {first}"
        ]
    return np.array(out, dtype="datetime64[us]"), []


def _array_column(spec: ColumnSpec, values: list[Any]) -> tuple[np.ndarray | None, list[str]]:
    """A column whose every value is an array of the spec's shape."""
    assert spec.shape is not None
    _, null_problem = _null_problem(spec, values)
    if null_problem:
        return None, [null_problem]
    out: list[Any] = []
    for position, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        try:
            array = np.asarray(value)
        except ValueError:
            array = np.asarray(value, dtype=object)
        if not shape_matches(array.shape, spec.shape):
            return None, [
                f"column {spec.name!r}: row {position}: expected shape "
                f"{format_shape(spec.shape)}, got {array.shape}"
            ]
        actual = from_numpy(array.dtype)
        if actual is None or not converts(actual, spec.dtype, typed=False):
            return None, [
                f"column {spec.name!r}: row {position}: expected {spec.dtype} values, "
                f"got {array.dtype}"
            ]
        out.append(array.astype(NUMPY_NAMES.get(spec.dtype, array.dtype), copy=False))
    return _objects(out), []


def from_array(
    spec: ColumnSpec, array: np.ndarray, *, typed: bool = True
) -> tuple[np.ndarray | None, list[str]]:
    """A column of ``spec`` from a typed array (Arrow, a V2 tensor), or its problems.
    ``typed``: only lossless widening (int64 to an int32 column is refused); else the
    by-value rules of untyped input apply too (it is taken when every value fits)."""
    if array.dtype.kind == "O" or spec.shape is not None:
        return from_values(spec, array.tolist())
    actual = from_numpy(array.dtype)
    fits = actual != "int64" or spec.dtype != "int32" or fits_int32(array)
    if actual is None or not converts(actual, spec.dtype, typed=typed) or not fits:
        return None, [
            f"column {spec.name!r}: " + why_not(actual, spec.dtype, got=str(actual or array.dtype))
        ]
    if spec.dtype in NUMPY_NAMES:
        return array.astype(NUMPY_NAMES[spec.dtype], copy=False), []
    if spec.dtype == "datetime":
        return array.astype("datetime64[us]"), []
    return _objects(array.tolist()), []


def infer_values(values: list[Any]) -> np.ndarray:
    """A column from plain values without a signature, typed as pandas would type it."""
    types = set(map(type, values))
    has_nulls = type(None) in types
    types.discard(type(None))
    if types and types <= {int, float} and (float in types or has_nulls):
        return np.array([math.nan if v is None else v for v in values], dtype="float64")
    if not has_nulls and types == {int}:
        try:
            return np.array(values, dtype="int64")
        except OverflowError:
            return _objects(values)
    if not has_nulls and types == {bool}:
        return np.array(values, dtype="bool")
    return _objects(values)


def tensor(
    spec: TensorSpec | None, data: Any, *, typed: bool, where: str
) -> tuple[np.ndarray | None, list[str]]:
    """One tensor from a nested list or an array, checked against ``spec`` when given."""
    if isinstance(data, np.ndarray):
        array = data
    else:
        try:
            array = np.asarray(data)
        except ValueError:
            return None, [f"{where}: rows of different lengths; a tensor must be rectangular"]
        if array.dtype.kind == "O":
            return None, [
                f"{where}: rows of different lengths or values of mixed types; a tensor must "
                "be rectangular and numeric"
            ]
    if array.ndim == 0:
        return None, [f"{where}: expected a list of rows, got one value"]
    if spec is None:
        if from_numpy(array.dtype) not in NUMPY_NAMES:
            return None, [f"{where}: expected numbers or booleans, got {array.dtype}"]
        return array, []
    converted, problems = check_tensor(spec, array, typed=typed)
    return (None, [f"{where}: {p}" for p in problems]) if problems else (converted, [])
