"""What ``predict`` accepts, and its normal form: a pandas DataFrame, or a numpy array.

Accepted: a pandas DataFrame, a polars DataFrame, a numpy array, a list of dicts (one per
row) and a single dict (one row). Libraries are found through ``sys.modules`` — data of a
library's type cannot exist unless the caller imported it — so checking a type imports
nothing, and ``import keel`` stays light.

Lists of dicts and dicts are *untyped*: their numbers carry no width (JSON's do not either),
so enforcement may fit them to the signature's width by value (see ``enforcement``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keel.errors import InvalidArgument
from keel.extras import loaded
from keel.models.extras import require_pandas

ACCEPTED = "a pandas DataFrame, a polars DataFrame, a numpy array, a list of dicts or a dict"


def _is(data: Any, module: str, name: str) -> bool:
    found = loaded(module)
    return found is not None and isinstance(data, getattr(found, name))


def kind_of(
    data: Any, *, field: str = "data", allow_series: bool = False, allow_list: bool = False
) -> str:
    """One of ``pandas``, ``polars``, ``numpy``, ``records``, ``record`` (and ``series`` or
    ``list`` where allowed); InvalidArgument for anything else."""
    if _is(data, "pandas", "DataFrame"):
        return "pandas"
    if _is(data, "polars", "DataFrame"):
        return "polars"
    if _is(data, "numpy", "ndarray"):
        return "numpy"
    if allow_series and _is(data, "pandas", "Series"):
        return "series"
    if isinstance(data, Mapping):
        return "record"
    if isinstance(data, list) and data and all(isinstance(row, Mapping) for row in data):
        return "records"
    if allow_list and isinstance(data, list | tuple):
        return "list"
    if isinstance(data, list) and not data:
        raise InvalidArgument(f"{field}: an empty list has no rows to predict on")
    raise InvalidArgument(f"{field}: expected {ACCEPTED}, got {type(data).__name__}")


def is_typed(data: Any) -> bool:
    """False for dicts and lists of dicts, whose numbers have no declared width."""
    return not isinstance(data, Mapping | list)


def to_frame(data: Any, columns: Sequence[str] | None = None) -> Any:
    """``data`` as a pandas DataFrame. A 2-D numpy array takes ``columns`` as its names,
    in order, when it has that many columns."""
    pd = require_pandas("Reading a model's table input")

    kind = kind_of(data)
    if kind == "pandas":
        return data
    if kind == "polars":
        # Column by column through numpy: polars' own to_pandas needs pyarrow.
        return pd.DataFrame({name: data.get_column(name).to_numpy() for name in data.columns})
    if kind == "numpy":
        if data.ndim != 2:
            raise InvalidArgument(
                f"data: a numpy array for a model with named columns must be 2-D "
                f"(rows x columns), got shape {data.shape}"
            )
        if columns is None or data.shape[1] != len(columns):
            expected = "" if columns is None else f" ({len(columns)}: {', '.join(columns)})"
            raise InvalidArgument(
                f"data: a numpy array with {data.shape[1]} columns cannot be matched to the "
                f"model's named columns{expected}; pass a DataFrame or a list of dicts"
            )
        return pd.DataFrame(data, columns=list(columns))
    rows = [data] if kind == "record" else data
    for index, row in enumerate(rows):
        bad = [key for key in row if not isinstance(key, str)]
        if bad:
            raise InvalidArgument(f"data[{index}]: column names must be strings, got {bad[:5]}")
    return pd.DataFrame.from_records(rows)


def to_array(data: Any) -> Any:
    """``data`` as a numpy array (a DataFrame's or a list of dicts' columns in order)."""
    import numpy as np

    kind = kind_of(data, allow_list=True)
    if kind == "numpy":
        return data
    if kind == "polars":
        return data.to_numpy()
    if kind == "list":
        return np.asarray(data)
    return to_frame(data).to_numpy()


def normalise(data: Any, *, tensor: bool = False) -> Any:
    """``data`` in its normal form without a signature: numpy stays numpy (as do other
    inputs for a tensor model); everything else becomes a pandas DataFrame."""
    if tensor or kind_of(data) == "numpy":
        return to_array(data)
    return to_frame(data)
