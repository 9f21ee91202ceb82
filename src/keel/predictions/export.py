"""Writing rows of the log to a file a person asked for: Parquet as it is, CSV with each
multi-value cell (a tensor input, several outputs) written as its values joined by
spaces. Written to a temporary name and renamed: a failed export leaves no half file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


def write_frame(frame: pl.DataFrame, output: Path) -> int:
    """Write ``frame`` to ``output`` (``.parquet`` or ``.csv``); returns the rows."""
    import polars as pl

    output.parent.mkdir(parents=True, exist_ok=True)
    temp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        if output.suffix.lower() == ".csv":
            flat = []
            for name, kind in frame.schema.items():
                column = pl.col(name)
                if isinstance(kind, pl.Array):
                    column = column.arr.to_list()
                if isinstance(kind, pl.Array | pl.List):
                    column = column.list.eval(pl.element().cast(pl.String)).list.join(" ")
                flat.append(column)
            frame.select(flat).write_csv(temp)
        else:
            frame.write_parquet(temp)
        os.replace(temp, output)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return frame.height
