"""The common request at speed: every column of the signature given, as plain numbers,
booleans or text, without nulls.

The rules are ``keel.serving.columns``'s (the same ``accepted_types``), applied to all the
columns of one dtype at once: one type check and one ``numpy.array`` call per dtype, not
per column. Anything off (a null, a missing or unknown column, a value of another type, a
datetime, binary or array column) answers None, and the caller takes the column-by-column
path, which names every problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from keel.models.enforcement import fits_int32
from keel.models.signature import Signature
from keel.serving.columns import accepted_types

_NUMERIC = ("bool", "int32", "int64", "float32", "float64")


@dataclass(frozen=True, slots=True)
class Plan:
    """A signature's columns grouped for the fast path, worked out once per signature."""

    names: tuple[str, ...]
    name_set: frozenset[str]
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    """(dtype, column names) for numeric and bool columns."""
    text: tuple[str, ...]
    dtypes: dict[str, str]
    """Each column's dtype, by name."""
    single: str | None = None
    """The dtype of every column when they all have one numeric dtype: the rows are then
    read as one matrix (``Read.matrix``)."""


@dataclass(frozen=True, slots=True)
class Read:
    """The columns the fast path read, and, where the plan has one dtype, the matrix they
    are views of (rows x columns, in the signature's order)."""

    columns: dict[str, np.ndarray]
    matrix: np.ndarray | None = None


def plan_of(signature: Signature) -> Plan | None:
    """The signature's plan, or None where the fast path cannot serve it (worked out once,
    by ``RequestSchema``)."""
    specs = signature.columns
    if not specs or any(
        spec.shape is not None or spec.dtype not in (*_NUMERIC, "string") for spec in specs
    ):
        return None
    groups = tuple(
        (dtype, names)
        for dtype in _NUMERIC
        if (names := tuple(spec.name for spec in specs if spec.dtype == dtype))
    )
    text = tuple(spec.name for spec in specs if spec.dtype == "string")
    names = tuple(spec.name for spec in specs)
    dtypes = {spec.name: spec.dtype for spec in specs}
    single = groups[0][0] if len(groups) == 1 and not text else None
    return Plan(names, frozenset(names), groups, text, dtypes, single)


def from_records(plan: Plan, records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray] | None:
    """Columns from row objects that each hold exactly the signature's columns."""
    read = read_records(plan, records)
    return None if read is None else read.columns


def from_lists(
    plan: Plan, data: Mapping[str, list[Any]], rows: int
) -> dict[str, np.ndarray] | None:
    """Columns from one list per column (equal lengths, checked by the caller)."""
    read = read_lists(plan, data, rows)
    return None if read is None else read.columns


def read_records(plan: Plan, records: Sequence[Mapping[str, Any]]) -> Read | None:
    """``from_records``, with the matrix where the plan has one dtype."""
    for row in records:
        if row.keys() != plan.name_set:
            return None
    rows = len(records)
    if plan.single is not None:
        flat = _array([row[name] for row in records for name in plan.names], plan.single)
        if flat is None:
            return None
        matrix = flat.reshape(rows, len(plan.names))
        return Read(dict(zip(plan.names, matrix.T, strict=True)), matrix)
    out: dict[str, np.ndarray] = {}
    for dtype, names in plan.groups:
        array = _array([row[name] for row in records for name in names], dtype)
        if array is None:
            return None
        if len(names) == 1:
            out[names[0]] = array
        else:
            by_column = array.reshape(rows, len(names)).T.copy()
            out.update(zip(names, by_column, strict=True))
    for name in plan.text:
        column = _text([row[name] for row in records])
        if column is None:
            return None
        out[name] = column
    return Read({name: out[name] for name in plan.names})


def read_lists(plan: Plan, data: Mapping[str, list[Any]], rows: int) -> Read | None:
    """``from_lists``, with the matrix where the plan has one dtype."""
    if data.keys() != plan.name_set:
        return None
    out: dict[str, np.ndarray] = {}
    for dtype, names in plan.groups:
        flat = (
            data[names[0]]
            if len(names) == 1
            else list(chain.from_iterable(data[name] for name in names))
        )
        array = _array(flat, dtype)
        if array is None:
            return None
        out.update(zip(names, array.reshape(len(names), rows), strict=True))
    for name in plan.text:
        column = _text(data[name])
        if column is None:
            return None
        out[name] = column
    return Read({name: out[name] for name in plan.names})


def _array(values: list[Any], dtype: str) -> np.ndarray | None:
    if not set(map(type, values)) <= accepted_types(dtype):
        return None
    try:
        array = np.array(values, dtype="int64" if dtype == "int32" else dtype)
    except OverflowError:
        return None
    if dtype == "int32":
        return array.astype("int32") if fits_int32(array) else None
    return array


def _text(values: list[Any]) -> np.ndarray | None:
    if set(map(type, values)) != {str}:
        return None
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array
