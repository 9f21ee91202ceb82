"""Where the rows come from: a pandas, polars or Arrow table held in memory, or a Parquet
file read in record batches so that memory stays bounded however many rows it holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument
from keel.monitoring.columns import Kind, column_kind, module_of

BATCH_ROWS = 1 << 19
"""Rows read from a Parquet file at a time (about 4 MiB per numeric column)."""


@dataclass(frozen=True)
class Source:
    """A table's columns and kinds, and a way to read it again in batches."""

    kinds: dict[str, Kind]
    rows: int
    _table: Any = None
    _path: Path | None = None

    def batches(self, columns: Sequence[str]) -> Iterator[Mapping[str, Any]]:
        """Each batch as column name -> column (a pandas/polars Series or Arrow array)."""
        if self._path is None:
            yield _columns_of(self._table, columns)
            return
        import pyarrow.parquet as pq

        categorical = [c for c in columns if self.kinds[c] == "categorical"]
        # pre_buffer=False: reading ahead whole row groups held several batches at once
        with pq.ParquetFile(self._path, read_dictionary=categorical, pre_buffer=False) as parquet:
            batches = parquet.iter_batches(batch_size=BATCH_ROWS, columns=list(columns))
            for batch in _read_ahead(batches):
                yield {name: batch.column(name) for name in columns}

    def column_readers(self, names: Sequence[str]) -> dict[str, Callable[[], Any]]:
        """A function per column that returns it whole, safe to call from threads: a
        table's columns are taken out here, on the calling thread (pandas caches them);
        a Parquet file's are read when called, one column at a time."""
        if self._path is None:
            taken = _columns_of(self._table, names)
            return {name: partial(_given, taken[name]) for name in names}
        return {name: partial(_read_column, self._path, name) for name in names}


def _given(column: Any) -> Any:
    return column


def _read_column(path: Path, name: str) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=[name]).column(name)


def _read_ahead(batches: Iterator[Any]) -> Iterator[Any]:
    """The batches, the next one decoded on a thread while the caller works on this one
    (at most two in memory)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keel-parquet") as reader:
        pending = reader.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = reader.submit(next, batches, None)
            yield batch


def open_source(data: Any, *, role: str) -> Source:
    """``data`` (pandas/polars/Arrow table, polars LazyFrame, or a Parquet path) as a
    Source; ``role`` ("reference" or "current") names it in errors."""
    if isinstance(data, (str, Path)):
        return _parquet(Path(data), role)
    module = module_of(data)
    if module == "polars" and type(data).__name__ == "LazyFrame":
        data = data.collect()
    if module == "pandas" and type(data).__name__ == "DataFrame":
        names = [str(c) for c in data.columns]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"{role}: column names must be unique, got {names}")
        kinds = {str(c): column_kind(data[c].dtype) for c in data.columns}
        return Source(kinds=kinds, rows=len(data), _table=data)
    if module == "polars" and type(data).__name__ == "DataFrame":
        kinds = {name: column_kind(dtype) for name, dtype in data.schema.items()}
        return Source(kinds=kinds, rows=data.height, _table=data)
    if module == "pyarrow" and type(data).__name__ in ("Table", "RecordBatch"):
        kinds = {f.name: column_kind(f.type) for f in data.schema}
        return Source(kinds=kinds, rows=data.num_rows, _table=data)
    raise InvalidArgument(
        f"{role}: expected a pandas, polars or Arrow table or a Parquet file's path, "
        f"got {type(data).__name__}"
    )


def _parquet(path: Path, role: str) -> Source:
    if not path.is_file():
        raise InvalidArgument(f"{role}: no such Parquet file: {path}")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as parquet:
            schema = parquet.schema_arrow
            rows = parquet.metadata.num_rows
    except (pa.ArrowInvalid, OSError) as error:
        raise InvalidArgument(f"{role}: {path} is not a readable Parquet file: {error}") from None
    kinds = {f.name: column_kind(f.type) for f in schema}
    return Source(kinds=kinds, rows=rows, _path=path)


def _columns_of(table: Any, names: Sequence[str]) -> dict[str, Any]:
    module = module_of(table)
    if module == "pandas":
        by_name = {str(c): c for c in table.columns}
        return {name: table[by_name[name]] for name in names}
    if module == "polars":
        return {name: table.get_column(name) for name in names}
    return {name: table.column(name) for name in names}
