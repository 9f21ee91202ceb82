"""What autolog records of the training data: its size, first rows and a fingerprint."""

from __future__ import annotations

from typing import Any

EXAMPLE_ROWS = 5


def rows(x: Any) -> int | None:
    shape = getattr(x, "shape", None)
    if shape:
        return int(shape[0])
    try:
        return len(x)
    except TypeError:
        return None


def head(x: Any) -> Any:
    """The first rows of ``x`` as an input example, or None (sparse data has none)."""
    if x is None:
        return None
    first = getattr(x, "head", None)  # pandas
    if callable(first):
        return first(EXAMPLE_ROWS)
    if hasattr(x, "tocsr"):
        return None
    import numpy as np

    return np.asarray(x)[:EXAMPLE_ROWS]  # lists of rows become an array


def fingerprint_tags(x: Any) -> dict[str, str]:
    """``keel.dataset.fingerprint`` (BLAKE3 of the data), ``.rows`` and ``.columns``."""
    import numpy as np
    import pandas as pd

    from keel.artifacts.hashing import hash_bytes

    if x is None:
        return {}
    if isinstance(x, pd.Series):
        x = x.to_frame()
    if isinstance(x, pd.DataFrame):
        columns = [str(c) for c in x.columns]
        hashed = pd.util.hash_pandas_object(x, index=False).to_numpy().tobytes()
        data = hashed + "\x00".join(columns).encode("utf-8", "surrogatepass")
        nrows, ncols = x.shape
    elif hasattr(x, "tocsr"):  # scipy sparse
        m = x.tocsr()
        data = (
            b"".join(np.ascontiguousarray(a).tobytes() for a in (m.data, m.indices, m.indptr))
            + f"{m.shape}{m.dtype.str}".encode()
        )
        nrows, ncols = m.shape
    else:
        arr = np.asarray(x)
        if arr.dtype == object:
            frame = pd.DataFrame(arr.reshape(arr.shape[0], -1) if arr.ndim else arr.reshape(1, 1))
            body = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        else:
            body = np.ascontiguousarray(arr).tobytes()
        data = body + f"{arr.shape}{arr.dtype.str}".encode()
        nrows = arr.shape[0] if arr.ndim else 1
        ncols = arr.shape[1] if arr.ndim > 1 else 1
    return {
        "keel.dataset.fingerprint": hash_bytes(data),
        "keel.dataset.rows": str(nrows),
        "keel.dataset.columns": str(ncols),
    }
