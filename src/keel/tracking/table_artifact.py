"""A table as a JSON artifact, in the layout MLflow's ``log_table`` writes
(``{"columns": [...], "data": [[...], ...]}``), so tools that read one read the other.

>>> table_json({"x": [1, 2], "y": ["a", "b"]}, "t.json")
'{"columns":["x","y"],"data":[[1,"a"],[2,"b"]]}'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keel.errors import InvalidArgument


def table_json(data: Any, artifact_file: str) -> str:
    """``data`` (a pandas DataFrame, or a dict of equal-length columns) as the JSON text
    of ``artifact_file``, which must end in ``.json``."""
    if not isinstance(artifact_file, str) or not artifact_file.endswith(".json"):
        raise InvalidArgument(f"artifact_file {artifact_file!r}: a table is saved as .json")
    import pandas as pd

    if isinstance(data, Mapping):
        lengths = {len(v) if hasattr(v, "__len__") else -1 for v in data.values()}
        if len(lengths) > 1 or -1 in lengths:
            raise InvalidArgument(
                "data: a dict table must map each column name to a list, all the same length"
            )
        frame = pd.DataFrame(dict(data))
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise InvalidArgument(
            f"data: expected a pandas DataFrame or a dict of columns, got {type(data).__name__}"
        )
    if not frame.columns.is_unique:
        raise InvalidArgument(f"data: column names must be unique, got {list(frame.columns)}")
    text: str = frame.to_json(orient="split", index=False, date_format="iso")
    return text
