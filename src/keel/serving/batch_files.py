"""The files a batch job reads and writes: Parquet or CSV, a chunk of rows at a time.

Reading streams (``ParquetFile.iter_batches``, ``pyarrow.csv.open_csv``), so a file larger
than memory is read in pieces of ``chunk_rows`` rows. Writing goes to a temporary file
beside the output, renamed onto it only once every row is written: a reader never sees
half an output, and a failed job leaves none.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.entities.ids import new_id
from keel.errors import AlreadyExists, InvalidArgument, NotFound

if TYPE_CHECKING:
    import pyarrow as pa

    from keel.models.signature import ColumnSpec

FORMATS = ("parquet", "csv")
_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
CSV_BLOCK_BYTES = 256 * 1024
"""How much of a CSV file pyarrow parses at once (rows are then handed on in chunks). Its
streaming reader reads about 36 blocks ahead (measured with pyarrow 2x: 4 MiB blocks held
61 MB of a 60 MB file, 256 KiB blocks 9 MB), so the block is kept small; a row longer than
a block is refused by pyarrow."""

PARQUET_BUFFER_BYTES = 1024 * 1024
"""How much of a Parquet file is read at once."""

_ARROW_TYPES = {
    "bool": "bool_",
    "int32": "int32",
    "int64": "int64",
    "float32": "float32",
    "float64": "float64",
    "string": "string",
    "binary": "binary",
}
"""Signature types -> the pyarrow type a CSV column is parsed as (datetimes are inferred)."""
_CSV_COLUMN = re.compile(r"In CSV column #(\d+): (.*)", re.DOTALL)


def file_format(path: str | os.PathLike[str], given: str | None, field: str) -> str:
    """``given`` (``parquet`` or ``csv``), or the one ``path``'s suffix names."""
    if given is not None:
        if given not in FORMATS:
            raise InvalidArgument(
                f"{field} format: must be one of {', '.join(FORMATS)}, got {given!r}"
            )
        return given
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise InvalidArgument(
            f"{field} {str(path)!r}: cannot tell its format from the suffix "
            f"{suffix or '(none)'!r}; name it .parquet or .csv, or give the format"
        )
    return _SUFFIXES[suffix]


@dataclass(frozen=True, slots=True)
class InputFile:
    """An input opened for reading: its columns, its row count when the file says it
    (Parquet does; a CSV file is not counted ahead), and its chunks."""

    path: Path
    schema: pa.Schema
    total_rows: int | None
    chunks: Iterator[pa.Table]

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


def open_input(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    chunk_rows: int,
    column_specs: Sequence[ColumnSpec] = (),
) -> InputFile:
    """Open ``path`` and stream it in chunks of at most ``chunk_rows`` rows. A CSV file's
    columns that the signature names are parsed as its types, so that a bad value is
    reported where it is, with its column and row."""
    source = Path(path)
    if not source.is_file():
        raise NotFound(f"input {str(path)!r}: no such file")
    if fmt == "parquet":
        return _open_parquet(source, chunk_rows)
    return _open_csv(source, chunk_rows, column_specs)


def _open_parquet(path: Path, chunk_rows: int) -> InputFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # Buffered reads, not pre-buffered column chunks: without this pyarrow reads the
        # whole file ahead of the first batch (measured: a 32 MB file held whole).
        parquet = pq.ParquetFile(path, buffer_size=PARQUET_BUFFER_BYTES, pre_buffer=False)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidArgument(f"input {str(path)!r}: not a readable Parquet file ({exc})") from None
    batches = (
        pa.Table.from_batches([batch]) for batch in parquet.iter_batches(batch_size=chunk_rows)
    )
    return InputFile(path, parquet.schema_arrow, parquet.metadata.num_rows, batches)


def csv_column_types(specs: Sequence[ColumnSpec]) -> dict[str, pa.DataType]:
    """The pyarrow type each signature column of a CSV file is parsed as."""
    import pyarrow as pa

    return {
        spec.name: getattr(pa, _ARROW_TYPES[spec.dtype])()
        for spec in specs
        if spec.dtype in _ARROW_TYPES and spec.shape is None
    }


def _open_csv(path: Path, chunk_rows: int, specs: Sequence[ColumnSpec]) -> InputFile:
    import pyarrow as pa
    import pyarrow.csv as csv

    types = csv_column_types(specs)
    declared = {spec.name: spec.dtype for spec in specs}
    try:
        reader = csv.open_csv(
            path,
            read_options=csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=csv.ConvertOptions(column_types=types),
        )
    except pa.ArrowInvalid as exc:
        raise _csv_error(path, exc, _csv_header(path), declared) from None
    schema = reader.schema
    names = schema.names

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except pa.ArrowInvalid as exc:
            raise _csv_error(path, exc, names, declared) from None
        finally:
            reader.close()

    return InputFile(path, schema, None, rechunk(batches(), chunk_rows))


def _csv_header(path: Path) -> list[str] | None:
    """The column names on a CSV file's first line (None if it has none)."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as stream:
        return next(csv.reader(stream), None)


def _csv_error(
    path: Path, exc: Exception, names: Sequence[str] | None, declared: Mapping[str, str]
) -> InvalidArgument:
    """pyarrow's ``In CSV column #2: Row #7: ...`` with the column's name and the rule."""
    text = str(exc)
    match = _CSV_COLUMN.search(text)
    if match is None or names is None:
        return InvalidArgument(f"input {str(path)!r}: {text}")
    index, detail = int(match.group(1)), match.group(2)
    name = names[index] if index < len(names) else f"#{index}"
    rule = f" (the model's signature says {declared[name]})" if name in declared else ""
    return InvalidArgument(f"input {str(path)!r}: column {name!r}{rule}: {detail}")


def rechunk(batches: Iterator[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``chunk_rows`` rows (the last may hold fewer), holding at most
    one chunk and one batch in memory."""
    import pyarrow as pa

    held: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(chunk_rows - count, batch.num_rows)
            held.append(batch.slice(0, take))
            count += take
            batch = batch.slice(take)
            if count == chunk_rows:
                yield pa.Table.from_batches(held)
                held, count = [], 0
    if count:
        yield pa.Table.from_batches(held)


class OutputFile:
    """Chunks appended to a temporary file beside ``path``; :meth:`commit` renames it
    onto ``path``, :meth:`discard` removes it. Every chunk must have the first one's
    columns and types."""

    def __init__(self, path: str | os.PathLike[str], fmt: str, *, overwrite: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise AlreadyExists(
                f"output {str(self.path)!r}: already exists; pick a new name or overwrite it"
            )
        if self.path.is_dir():
            raise InvalidArgument(f"output {str(self.path)!r}: is a folder, not a file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.format = fmt
        self.partial = self.path.parent / f".{self.path.name}.partial-{new_id()[:12]}"
        self.rows = 0
        self._writer: Any = None
        self._schema: pa.Schema | None = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._schema = table.schema
            self._writer = self._open(table.schema)
        elif table.schema != self._schema:
            table = self._conform(table)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def _open(self, schema: pa.Schema) -> Any:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetWriter(self.partial, schema)
        import pyarrow as pa
        import pyarrow.csv as csv

        nested = [f.name for f in schema if pa.types.is_nested(f.type)]
        if nested:
            raise InvalidArgument(
                f"output {str(self.path)!r}: column {nested[0]!r} holds several values a row "
                "(the model answers a list per row), which CSV cannot hold; write Parquet "
                "(--format parquet)"
            )
        return csv.CSVWriter(self.partial, schema)

    def _conform(self, table: pa.Table) -> pa.Table:
        """A later chunk in the first chunk's types (a column all nulls in one chunk, an
        int column that the model answered as floats in another)."""
        import pyarrow as pa

        assert self._schema is not None
        if table.schema.names != self._schema.names:
            raise InvalidArgument(
                f"output: a chunk has columns {table.schema.names}, the first had "
                f"{self._schema.names} (the model answered differently for different rows)"
            )
        try:
            return table.cast(self._schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidArgument(
                f"output: a chunk's columns do not fit the first chunk's types ({exc})"
            ) from None

    def commit(self, empty_schema: pa.Schema) -> None:
        """Finish the file and move it onto the output (an input of no rows gives an
        output of no rows, with ``empty_schema``'s columns)."""
        if self._writer is None:
            self.write(empty_schema.empty_table())
        self._writer.close()
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        if self._writer is not None:
            # Closing half a file may fail; it is deleted either way.
            with contextlib.suppress(Exception):
                self._writer.close()
        self.partial.unlink(missing_ok=True)
