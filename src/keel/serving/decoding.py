"""From what a protocol read (rows, columns, a tensor) to a checked ``Table``.

Every protocol ends here, so every protocol checks a request the same way: one
``Unprocessable`` listing every missing, unknown, mistyped and null column, wrong tensor
shape and unknown parameter; ``BadRequest`` for what is not the protocol's shape at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keel.models.signature import Signature, TensorSpec
from keel.serving import columns as col
from keel.serving import fastpath
from keel.serving.errors import BadRequest, Unprocessable
from keel.serving.table import TENSOR, Table


@dataclass(frozen=True, slots=True)
class RequestSchema:
    """What a model takes: its signature (None: read the table from the body, as
    ``keel.models.inputs`` does) and whether it takes params (custom ``keel.pyfunc``
    models do; others refuse any)."""

    signature: Signature | None
    takes_params: bool = False
    plan: fastpath.Plan | None = field(default=None, init=False, repr=False, compare=False)
    """How the fast path reads this schema's common requests (None: it does not)."""

    def __post_init__(self) -> None:
        if self.signature is not None:
            object.__setattr__(self, "plan", fastpath.plan_of(self.signature))

    @classmethod
    def of(cls, model: Any) -> RequestSchema:
        """The schema of a ``keel.models.LoadedModel``."""
        from keel.models.python_model import LoadedPythonModel

        return cls(model.signature, takes_params=isinstance(model.model, LoadedPythonModel))

    @property
    def is_tensor(self) -> bool:
        return self.signature is not None and self.signature.is_tensor


def params_of(raw: object, schema: RequestSchema, problems: list[str]) -> dict[str, Any] | None:
    """The request's params: a JSON object, refused (into ``problems``) by a model that
    takes none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRequest(f"params: expected a JSON object, got {_kind(raw)}")
    if raw and not schema.takes_params:
        names = ", ".join(repr(str(name)) for name in list(raw)[:10])
        problems.append(f"params: this model takes no params, got {names}")
    return raw or None


def from_records(
    records: object,
    schema: RequestSchema,
    *,
    where: str,
    params: object = None,
) -> Table:
    """A table from a list of row objects, ``[{"f0": 1.0, ...}, ...]``."""
    if not isinstance(records, list):
        raise BadRequest(f"{where}: expected a list of row objects, got {_kind(records)}")
    plan = schema.plan
    if plan is not None and records and all(isinstance(row, dict) for row in records):
        fast = fastpath.read_records(plan, records)
        if fast is not None:
            return _fast_table(fast, len(records), schema, params)
    names: dict[str, None] = {}
    for position, row in enumerate(records):
        if not isinstance(row, dict):
            raise BadRequest(f"{where}[{position}]: expected a row object, got {_kind(row)}")
        names.update(dict.fromkeys(row))
    values = {name: [row.get(name) for row in records] for name in names}
    return from_columns(values, schema, where=where, params=params, rows=len(records))


def from_column_lists(
    data: object, schema: RequestSchema, *, where: str, params: object = None
) -> Table:
    """A table from an object of equal-length lists, ``{"f0": [1.0, ...], ...}``."""
    if not isinstance(data, dict):
        raise BadRequest(f"{where}: expected an object of column lists, got {_kind(data)}")
    lengths: dict[int, str] = {}
    for name, values in data.items():
        if not isinstance(values, list):
            raise BadRequest(f"{where}.{name}: expected a list of values, got {_kind(values)}")
        lengths.setdefault(len(values), name)
    if len(lengths) > 1:
        shown = ", ".join(f"{name!r} has {size}" for size, name in lengths.items())
        raise BadRequest(f"{where}: columns must have equal lengths; {shown} values")
    return from_lists(data, schema, where=where, params=params, rows=next(iter(lengths), 0))


def from_lists(
    data: Mapping[str, list[Any]],
    schema: RequestSchema,
    *,
    where: str,
    params: object = None,
    rows: int,
) -> Table:
    """A table from one list of plain values per column, all ``rows`` long: through the
    fast path where it serves, else ``from_columns``."""
    plan = schema.plan
    if plan is not None and rows:
        fast = fastpath.read_lists(plan, data, rows)
        if fast is not None:
            return _fast_table(fast, rows, schema, params)
    return from_columns(data, schema, where=where, params=params, rows=rows)


def from_columns(
    data: Mapping[str, Any],
    schema: RequestSchema,
    *,
    where: str,
    params: object = None,
    rows: int,
    typed: bool = False,
) -> Table:
    """A table from one list of plain values or one numpy array per column. ``typed``:
    the arrays' types were declared by the sender (Arrow), so only lossless widening
    applies to them; else (V2's JSON tensors) the by-value rules of untyped input too."""
    if rows == 0 or not data:
        raise BadRequest(f"{where}: no rows to predict on")
    problems: list[str] = []
    checked_params = params_of(params, schema, problems)
    signature = schema.signature
    if signature is None:
        converted = {
            name: values if isinstance(values, np.ndarray) else col.infer_values(values)
            for name, values in data.items()
        }
        return _table(converted, rows, checked_params, problems)
    if isinstance(signature.inputs, TensorSpec):
        matrix = np.column_stack([np.asarray(values) for values in data.values()])
        array, found = col.tensor(signature.inputs, matrix, typed=typed, where=where)
        problems.extend(found)
        return _table({TENSOR: array}, rows, checked_params, problems, tensor=True)
    known = {spec.name for spec in signature.columns}
    missing = [spec for spec in signature.columns if spec.name not in data and not spec.optional]
    if missing:
        listed = ", ".join(f"{spec.name!r} ({spec.dtype})" for spec in missing)
        problems.append(f"missing column{'s' if len(missing) > 1 else ''} {listed}")
    unknown = [name for name in data if name not in known]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown[:20])
        problems.append(
            f"unknown column{'s' if len(unknown) > 1 else ''} {listed} (not in the signature)"
        )
    converted = {}
    for spec in signature.columns:
        values = data.get(spec.name)
        if values is None:
            continue
        if isinstance(values, np.ndarray):
            array, found = col.from_array(spec, values, typed=typed)
        else:
            array, found = col.from_values(spec, values)
        problems.extend(found)
        if array is not None:
            converted[spec.name] = array
    return _table(converted, rows, checked_params, problems)


def from_tensor(
    data: object, schema: RequestSchema, *, where: str, params: object = None, typed: bool = False
) -> Table:
    """A table from a nested list of rows (or an array): a tensor model's input, or, for a
    model with named columns, rows of values in the signature's column order."""
    if not isinstance(data, list | np.ndarray):
        raise BadRequest(f"{where}: expected a list of rows, got {_kind(data)}")
    if len(data) == 0:
        raise BadRequest(f"{where}: no rows to predict on")
    signature = schema.signature
    if signature is not None and not signature.is_tensor:
        return _rows_as_columns(data, schema, where=where, params=params)
    problems: list[str] = []
    checked_params = params_of(params, schema, problems)
    spec = None if signature is None else signature.inputs
    assert spec is None or isinstance(spec, TensorSpec)
    array, found = col.tensor(spec, data, typed=typed, where=where)
    problems.extend(found)
    return _table({TENSOR: array}, len(data), checked_params, problems, tensor=True)


def _rows_as_columns(data: Any, schema: RequestSchema, *, where: str, params: object) -> Table:
    """Rows of values in the signature's column order (or, for a one-column signature,
    one value per row); trailing optional columns may be left off."""
    assert schema.signature is not None
    specs = schema.signature.columns
    width = len(specs)
    least = max((i + 1 for i, spec in enumerate(specs) if not spec.optional), default=1)
    if width == 1 and not any(isinstance(row, list | np.ndarray) for row in data):
        data = [[row] for row in data]
    bad = [
        position
        for position, row in enumerate(data)
        if not isinstance(row, list | np.ndarray) or not least <= len(row) <= width
    ]
    if bad:
        names = ", ".join(spec.name for spec in specs[:20])
        count = str(width) if least == width else f"{least} to {width}"
        raise Unprocessable(
            [
                f"{where}: {col.rows_named(bad)} {col.are(bad)} not a list of {count} "
                f"values in the signature's column order ({names})"
            ]
        )
    given = max(len(row) for row in data)
    values = {
        spec.name: [_plain(row[i]) if i < len(row) else None for row in data]
        for i, spec in enumerate(specs[:given])
    }
    return from_columns(values, schema, where=where, params=params, rows=len(data))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _fast_table(read: fastpath.Read, rows: int, schema: RequestSchema, params: object) -> Table:
    problems: list[str] = []
    checked = params_of(params, schema, problems)
    if problems:
        raise Unprocessable(problems)
    return Table(read.columns, rows=rows, params=checked, matrix=read.matrix)


def _table(
    columns: dict[str, Any],
    rows: int,
    params: dict[str, Any] | None,
    problems: list[str],
    *,
    tensor: bool = False,
) -> Table:
    if problems:
        raise Unprocessable(problems)
    return Table(columns, rows=rows, params=params, tensor=tensor)


def _kind(value: object) -> str:
    """A JSON value's kind, for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
