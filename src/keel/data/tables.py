"""Reading a table file into a polars DataFrame, and taking any DataFrame as one.

Parquet (``.parquet``, ``.pq``), CSV (``.csv``, ``.csv.gz``) and TSV (``.tsv``,
``.tsv.gz``) are tables; :func:`is_table` tells them by suffix. A file that does not parse
raises InvalidArgument naming the file, and for CSV the line and the reason::

    >>> read_table("churn.csv")  # doctest: +SKIP
    InvalidArgument: churn.csv: line 7: 5 fields where the header has 4

polars errors rarely say where a CSV went wrong, so when polars fails the file is read once
more with Python's ``csv`` module to find the first line at fault.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from keel.errors import InvalidArgument, NotFound
from keel.extras import require

if TYPE_CHECKING:
    import polars as pl

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz")
TSV_SUFFIXES = (".tsv", ".tsv.gz")
TABLE_SUFFIXES = PARQUET_SUFFIXES + CSV_SUFFIXES + TSV_SUFFIXES

# Rows polars reads to guess a column's type before it reads the rest; a guess it must go
# back on (an int column with a word on row 20,000) makes it read the whole file to guess.
_INFER_ROWS = 10_000


def is_table(path: str | os.PathLike[str]) -> bool:
    """True for a path whose suffix names a table format :func:`read_table` reads."""
    return Path(path).name.lower().endswith(TABLE_SUFFIXES)


def read_table(path: str | os.PathLike[str]) -> pl.DataFrame:
    """The table in ``path`` (Parquet, CSV or TSV, by suffix).

    NotFound when there is no such file; InvalidArgument for another suffix, or a file that
    does not parse (for CSV: with the line and the reason)."""
    pl = require("polars", extra="data", purpose="Reading a table file")

    file = Path(path)
    name = file.name.lower()
    if not name.endswith(TABLE_SUFFIXES):
        raise InvalidArgument(
            f"{path}: not a table file; expected one of {', '.join(TABLE_SUFFIXES)}"
        )
    if not file.is_file():
        raise NotFound(f"{path}: no such file")
    if name.endswith(PARQUET_SUFFIXES):
        try:
            return pl.read_parquet(file)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InvalidArgument(f"{path}: not a readable Parquet file: {_headline(exc)}") from exc
    separator = "\t" if name.endswith(TSV_SUFFIXES) else ","
    return _read_delimited(file, str(path), separator)


def to_polars(df: Any, *, field: str = "df") -> pl.DataFrame:
    """``df`` (a polars or pandas DataFrame) as a polars DataFrame.

    pandas is found through ``sys.modules``, never imported to check; a pandas frame's NaN
    become nulls, as pandas means them."""
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(df, polars.DataFrame):
        return df
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(df, pandas.DataFrame):
        purpose = "Taking a pandas DataFrame as a table"
        pl = require("polars", extra="data", purpose=purpose)
        require("pyarrow", extra="data", purpose=purpose)  # polars converts through Arrow

        if not all(isinstance(name, str) for name in df.columns):
            raise InvalidArgument(f"{field}: column names must be strings")
        try:
            return pl.from_pandas(df, nan_to_null=True)
        except Exception as exc:  # pyarrow's and polars' conversion errors share no base
            raise InvalidArgument(f"{field}: cannot convert to a polars DataFrame: {exc}") from exc
    raise InvalidArgument(
        f"{field}: expected a polars or pandas DataFrame, got {type(df).__name__}"
    )


# CSV ---------------------------------------------------------------------------------------


def _read_delimited(file: Path, shown: str, separator: str) -> pl.DataFrame:
    import polars as pl

    if _is_empty(file):
        raise InvalidArgument(f"{shown}: the file is empty; a table needs at least a header line")
    _check_header(file, shown, separator)

    def read(infer_rows: int | None) -> pl.DataFrame:
        return pl.read_csv(
            file,
            separator=separator,
            infer_schema_length=infer_rows,
            try_parse_dates=True,
            glob=False,
        )

    try:
        try:
            return read(_INFER_ROWS)
        except pl.exceptions.ComputeError as exc:
            if "could not parse" not in str(exc):
                raise
            return read(None)
    except (pl.exceptions.PolarsError, OSError) as exc:
        where = _locate_problem(file, separator)
        if where is None:
            raise InvalidArgument(f"{shown}: not a readable CSV file: {_headline(exc)}") from exc
        line, reason = where
        raise InvalidArgument(f"{shown}: line {line}: {reason}") from exc


def _check_header(file: Path, shown: str, separator: str) -> None:
    """Refuse a header that names a column twice (polars would rename the second one)."""
    try:
        with _open_binary(file) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
            header = next(csv.reader(text, delimiter=separator), [])
    except (OSError, EOFError, UnicodeDecodeError, csv.Error, gzip.BadGzipFile):
        return  # reading the table says what is wrong, with the line
    seen: set[str] = set()
    for name in header:
        if name in seen and name:  # unnamed columns (a trailing ",,") keep polars' names
            raise InvalidArgument(
                f"{shown}: line 1: the header names column {name!r} twice; "
                "column names must be unique"
            )
        seen.add(name)


def _is_empty(file: Path) -> bool:
    with _open_binary(file) as stream:
        return not stream.read(1)


def _open_binary(file: Path) -> IO[bytes]:
    if file.name.lower().endswith(".gz"):
        return cast(IO[bytes], gzip.open(file, "rb"))
    return open(file, "rb")


def _locate_problem(file: Path, separator: str) -> tuple[int, str] | None:
    """(line number, reason) of the first line that makes the file unreadable, or None."""
    try:
        for number, raw in enumerate(_binary_lines(file), start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, f"not valid UTF-8 (byte {exc.start + 1} of the line)"
        with _open_binary(file) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
            reader = csv.reader(text, delimiter=separator, strict=True)
            width = 0
            start = 1
            try:
                for row in reader:
                    if reader.line_num == 1:
                        width = len(row)
                    elif len(row) > width:
                        return start, f"{len(row)} fields where the header has {width}"
                    start = reader.line_num + 1
            except csv.Error as exc:
                return start, _csv_reason(str(exc))
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return None


def _binary_lines(file: Path) -> Iterator[bytes]:
    with _open_binary(file) as stream:
        yield from stream


def _csv_reason(message: str) -> str:
    if "unexpected end of data" in message:
        return "a quoted field is never closed"
    return message


def _headline(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def table_summary(path: Path) -> dict[str, Any]:
    """Row and column counts and the profile of a table file (InvalidArgument when it does
    not parse, naming the line)."""
    from keel.data.profile import profile_table

    frame = read_table(path)
    profile = profile_table(frame)
    return {
        "row_count": frame.height,
        "column_count": frame.width,
        "profile": profile.to_dict(),
    }
