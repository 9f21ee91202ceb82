"""A model's outputs in the forms answers are written from: orjson-ready values and
one array per output column."""

from __future__ import annotations

from typing import Any

import numpy as np

from keel.extras import loaded

_NATIVE_KINDS = frozenset("biuf")


def jsonable(outputs: Any, *, frame_rows: bool = True) -> Any:
    """``outputs`` as something orjson writes with ``OPT_SERIALIZE_NUMPY``: numeric numpy
    arrays as they are (orjson reads them without a Python list), other arrays as lists,
    a pandas DataFrame as a list of row objects (``frame_rows``; MLflow's ``records``
    orient) or, for Keel's answer, as the list of its one column's values when it has one
    column, a Series as a list, a dict value by value."""
    if isinstance(outputs, np.ndarray):
        if outputs.dtype.kind in _NATIVE_KINDS and outputs.dtype.itemsize > 2:
            return np.ascontiguousarray(outputs)
        return outputs.tolist()
    pandas = loaded("pandas")  # not one another thread is importing now
    if pandas is not None:
        if isinstance(outputs, pandas.DataFrame):
            if not frame_rows and len(outputs.columns) == 1:
                return jsonable(outputs.iloc[:, 0].to_numpy())
            return [
                {str(name): _plain(value) for name, value in row.items()}
                for row in outputs.to_dict(orient="records")
            ]
        if isinstance(outputs, pandas.Series):
            return jsonable(outputs.to_numpy())
    if isinstance(outputs, dict):
        return {str(key): jsonable(value, frame_rows=frame_rows) for key, value in outputs.items()}
    if isinstance(outputs, list | tuple):
        return [jsonable(value, frame_rows=frame_rows) for value in outputs]
    return _plain(outputs)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def as_array(outputs: Any) -> np.ndarray:
    """A model's predictions as one numpy array (a one-column DataFrame's column)."""
    pandas = loaded("pandas")  # not one another thread is importing now
    if pandas is not None:
        if isinstance(outputs, pandas.DataFrame):
            return (
                outputs.iloc[:, 0].to_numpy() if len(outputs.columns) == 1 else outputs.to_numpy()
            )
        if isinstance(outputs, pandas.Series):
            return outputs.to_numpy()
    return np.asarray(outputs)
