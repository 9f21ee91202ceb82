"""A checked request: the table a protocol decodes a body into, and back out of a batch.

>>> import numpy as np
>>> a = Table({"f0": np.array([1.0, 2.0])}, rows=2)
>>> b = Table({"f0": np.array([3.0])}, rows=1)
>>> batch = concat([a, b])
>>> batch.rows
3
>>> [part.tolist() for part in split(np.array([10, 20, 30]), [a.rows, b.rows])]
[[10, 20], [30]]

The runtime concatenates the tables of concurrent requests that share a ``batch_key``,
hands ``to_model_input(batch, signature)`` to the model once, and gives each request its
slice of the outputs with ``split``. The columns are already checked and converted
(``keel.serving.columns``), so ``to_model_input`` only builds the object the flavor takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from keel.extras import loaded
from keel.models.signature import Signature

TENSOR = "input"
"""The one column of a tensor model's table."""


@dataclass(frozen=True, slots=True)
class Table:
    """``columns``: one numpy array per column, in the signature's order (optional columns
    the request left out are absent); for a tensor model one entry, ``"input"``, holding
    the N-D array. ``rows``: the number of rows (a tensor's first dimension). ``params``:
    the request's parameters for the model, if any. ``tensor``: the table is one tensor
    (set for tensor signatures, and for models without a signature sent a bare array)."""

    columns: dict[str, np.ndarray]
    rows: int
    params: dict[str, Any] | None = None
    tensor: bool = False
    matrix: np.ndarray | None = None
    """The columns side by side (rows x columns, in ``columns``' order, one dtype) when
    the decoder read them so: ``columns`` are then its columns' views, and batches are
    joined and handed to an ONNX graph as one array."""

    @property
    def batch_key(self) -> tuple[Any, ...]:
        """Tables with equal keys can be concatenated into one predict call: the same
        params, and for a tensor the same shape past the first dimension."""
        params = (
            orjson.dumps(self.params, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
            if self.params
            else None
        )
        shape = self.columns[TENSOR].shape[1:] if self.tensor else None
        return (self.tensor, shape, params)


def concat(tables: Sequence[Table]) -> Table:
    """One table holding the rows of ``tables`` in order (one predict call for several
    requests). A column some tables lack (an optional column a request left out) is
    filled with nulls for their rows. ValueError where the tables' ``batch_key`` differ."""
    if not tables:
        raise ValueError("concat: no tables to concatenate")
    if len(tables) == 1:
        return tables[0]
    first = tables[0]
    if any(table.batch_key != first.batch_key for table in tables[1:]):
        raise ValueError(
            "concat: the tables differ in params or tensor shape and cannot be predicted "
            "in one call; batch only tables with equal batch_key"
        )
    if first.matrix is not None and all(
        table.matrix is not None
        and table.matrix.dtype == first.matrix.dtype
        and table.columns.keys() == first.columns.keys()
        for table in tables
    ):
        matrix = np.concatenate([table.matrix for table in tables])
        return Table(
            dict(zip(first.columns, matrix.T, strict=True)),
            rows=len(matrix), params=first.params, matrix=matrix,
        )  # fmt: skip
    names: dict[str, np.ndarray] = {}
    for table in tables:
        for name, array in table.columns.items():
            names.setdefault(name, array)
    columns = {
        name: np.concatenate(
            [
                table.columns[name] if name in table.columns else _nulls(sample, table.rows)
                for table in tables
            ]
        )
        for name, sample in names.items()
    }
    return Table(
        columns, rows=sum(table.rows for table in tables), params=first.params, tensor=first.tensor
    )


def _nulls(sample: np.ndarray, rows: int) -> np.ndarray:
    if sample.dtype.kind == "f":
        return np.full(rows, np.nan, dtype=sample.dtype)
    if sample.dtype.kind == "M":
        return np.full(rows, np.datetime64("NaT"), dtype=sample.dtype)
    return np.full(rows, None, dtype=object)


def split(outputs: Any, sizes: Sequence[int]) -> list[Any]:
    """``outputs`` (a model's answer for a concatenated table: a numpy array of any
    dimensions, a pandas DataFrame or Series, a list, or a dict of those) cut into one
    part per request, ``sizes`` rows each, in order. ValueError where the model answered
    another number of rows than it was given."""
    if isinstance(outputs, dict):
        parts = {key: split(value, sizes) for key, value in outputs.items()}
        return [{key: value[i] for key, value in parts.items()} for i in range(len(sizes))]
    total = sum(sizes)
    answered = len(outputs)
    if answered != total:
        raise ValueError(f"the model answered {answered} rows for {total} rows of input")
    pandas = loaded("pandas")  # not one another thread is importing now
    by_position = pandas is not None and isinstance(outputs, pandas.DataFrame | pandas.Series)
    cuts: list[Any] = []
    start = 0
    for size in sizes:
        end = start + size
        cuts.append(outputs.iloc[start:end] if by_position else outputs[start:end])
        start = end
    return cuts


def to_model_input(table: Table, signature: Signature | None) -> Any:
    """What the loaded model's flavor takes for ``table``, as ``LoadedModel.predict`` would
    build it after checking: a numpy array for a tensor, else a pandas DataFrame with the
    signature's dtypes (columns of an unsigned model as they were read)."""
    if table.tensor or (signature is not None and signature.is_tensor):
        return table.columns[TENSOR]
    import pandas as pd

    if signature is None:
        return pd.DataFrame(table.columns, copy=False)
    data: dict[str, Any] = {}
    for spec in signature.columns:
        array = table.columns.get(spec.name)
        if array is None:
            continue  # an optional column no request gave: left out, as predict does
        if array.dtype.kind == "O" and spec.shape is None and spec.dtype in _NULLABLE:
            array = pd.array(array, dtype=_NULLABLE[spec.dtype])
        data[spec.name] = array
    return pd.DataFrame(data, index=pd.RangeIndex(table.rows), copy=False)


_NULLABLE = {"int32": "Int32", "int64": "Int64", "bool": "boolean"}
"""Optional integer and bool columns holding nulls go to pandas' nullable dtypes."""
