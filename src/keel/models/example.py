"""An input example kept in a package: JSON for tables, ``.npy`` (no pickle) for arrays."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument
from keel.models import inputs
from keel.models.dtypes import NUMPY_NAMES, from_series
from keel.models.extras import require_pandas

TABLE_FILE = "input_example.json"
ARRAY_FILE = "input_example.npy"


def write_example(example: Any, folder: Path) -> str:
    """Write ``example`` into ``folder``; returns the file's name."""
    if inputs.kind_of(example, field="input_example") == "numpy":
        import numpy as np

        if example.dtype.kind == "O":
            raise InvalidArgument("input_example: numpy arrays of Python objects are not kept")
        with open(folder / ARRAY_FILE, "wb") as out:
            np.save(out, example, allow_pickle=False)
        return ARRAY_FILE
    frame = inputs.to_frame(example)
    columns, dtypes, data = [], {}, []
    for name in frame.columns:
        dtype = from_series(frame[name])
        if not isinstance(name, str) or dtype is None:
            raise InvalidArgument(
                f"input_example: column {name!r} needs a string name and a supported type"
            )
        columns.append(name)
        dtypes[name] = dtype
        data.append([_encode(value, dtype) for value in frame[name].tolist()])
    rows = [list(row) for row in zip(*data, strict=True)]
    document = {"columns": columns, "dtypes": dtypes, "data": rows}
    try:
        text = json.dumps(document, allow_nan=False, default=str)
    except ValueError:
        raise InvalidArgument("input_example: infinite values cannot be kept as JSON") from None
    (folder / TABLE_FILE).write_text(text)
    return TABLE_FILE


def _encode(value: Any, dtype: str) -> Any:
    if value is None or value != value:  # None, NaN, NaT
        return None
    if dtype == "binary":
        return base64.b64encode(value).decode("ascii")
    if dtype == "datetime":
        return value.isoformat()
    return value


def read_example(path: Path) -> Any:
    """The example as it was given: a pandas DataFrame or a numpy array."""
    if path.suffix == ".npy":
        import numpy as np

        return np.load(path, allow_pickle=False)
    pd = require_pandas("Reading a model's table example")

    document = json.loads(path.read_text())
    frame = pd.DataFrame(document["data"], columns=document["columns"])
    for name, dtype in document["dtypes"].items():
        if dtype == "binary":
            frame[name] = [None if v is None else base64.b64decode(v) for v in frame[name]]
        elif dtype == "datetime":
            frame[name] = pd.to_datetime(frame[name], format="ISO8601")
        elif dtype in NUMPY_NAMES and not frame[name].isna().any():
            frame[name] = frame[name].astype(NUMPY_NAMES[dtype])
    return frame
