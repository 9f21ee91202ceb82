"""What a prediction-log file sent to a ``keel server`` must be before it is stored: a
Parquet file with the log's columns, every row of the deployment its path names and of
one hour (which the server, not the client, turns into the file's folder).
"""

from __future__ import annotations

import io

from keel.entities.deployment import check_deployment_name
from keel.entities.prediction_log import REQUIRED_COLUMNS, LogKind, check_log_kind, hour_start
from keel.errors import InvalidArgument

MAX_LOG_FILE_BYTES = 256 * 1024**2
"""The most bytes one file may have (a writer flushes every few seconds: far less)."""

MAX_LOG_FILE_ROWS = 5_000_000
"""The most rows one file may declare: a few seconds of a busy server's log is far less,
and a small file of repeated values could otherwise unpack to gigabytes."""
MAX_LOG_FILE_UNPACKED_BYTES = 2 * 1024**3
"""The most bytes the file's column chunks may declare once decompressed."""
MAX_LOG_FILE_COLUMNS = 2_000
MAX_COLUMN_NAME = 1_024
MAX_NESTING = 8
"""How deep a column's type may nest (a tensor input is a list of lists)."""
LATEST_TIME_MS = 253_402_300_800_000
"""The first millisecond of the year 10000: a row's time is before it (and not before
1970), so its folder is ``date=YYYY-MM-DD``."""

_ID_PATTERN = "^[0-9a-f]{32}$"


def check_log_file(kind: LogKind, deployment: str, data: bytes) -> tuple[int, int]:
    """``(hour_ms, rows)`` of the file ``data``: the first millisecond of the hour all its
    rows fall in, and how many there are. ``InvalidArgument`` naming what is wrong."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    kind = check_log_kind(kind)
    check_deployment_name(deployment, "deployment")
    if len(data) > MAX_LOG_FILE_BYTES:
        raise InvalidArgument(f"body: a log file may be at most {MAX_LOG_FILE_BYTES} bytes")
    try:
        with pq.ParquetFile(io.BytesIO(data)) as parquet:
            _check_size(parquet.metadata)
            _check_schema(kind, parquet.schema_arrow)
            table = parquet.read()
    except (pa.ArrowException, OSError, ValueError) as error:
        raise InvalidArgument(f"body: not a readable Parquet file ({error})") from None
    if table.num_rows == 0:
        raise InvalidArgument("body: the file has no rows")
    if (
        table.column("deployment").null_count
        or not pc.all(pc.equal(table.column("deployment"), deployment)).as_py()
    ):
        raise InvalidArgument(f"deployment: every row must name {deployment!r}, as the path does")
    ids = table.column("prediction_id")
    if ids.null_count or not pc.all(pc.match_substring_regex(ids, _ID_PATTERN)).as_py():
        raise InvalidArgument("prediction_id: every row must hold 32 lowercase hex characters")
    try:
        times = table.column("time").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    except pa.ArrowInvalid:
        raise InvalidArgument("time: every row's time must be a whole millisecond") from None
    if times.null_count:
        raise InvalidArgument("time: every row must have one")
    first, last = pc.min(times).as_py(), pc.max(times).as_py()
    if first < 0 or last >= LATEST_TIME_MS:
        raise InvalidArgument("time: every row must fall between the years 1970 and 9999 (UTC)")
    if hour_start(first) != hour_start(last):
        raise InvalidArgument("time: every row of one file must fall in the same UTC hour")
    return hour_start(first), table.num_rows


def _check_size(metadata: object) -> None:
    """Refuse a file by what its footer declares, before any column is read."""
    import pyarrow.parquet as pq

    assert isinstance(metadata, pq.FileMetaData)
    if metadata.num_rows > MAX_LOG_FILE_ROWS:
        raise InvalidArgument(
            f"body: a log file may hold at most {MAX_LOG_FILE_ROWS} rows, this one "
            f"declares {metadata.num_rows}"
        )
    if metadata.num_columns > MAX_LOG_FILE_COLUMNS:
        raise InvalidArgument(f"body: a log file may have at most {MAX_LOG_FILE_COLUMNS} columns")
    unpacked = sum(
        metadata.row_group(g).column(c).total_uncompressed_size
        for g in range(metadata.num_row_groups)
        for c in range(metadata.num_columns)
    )
    if unpacked > MAX_LOG_FILE_UNPACKED_BYTES:
        raise InvalidArgument(
            f"body: a log file may unpack to at most {MAX_LOG_FILE_UNPACKED_BYTES} bytes, "
            f"this one declares {unpacked}"
        )


def _depth(type_: object) -> int:
    import pyarrow as pa

    assert isinstance(type_, pa.DataType)
    return 1 + max((_depth(type_.field(i).type) for i in range(type_.num_fields)), default=0)


def _check_schema(kind: LogKind, schema: object) -> None:
    import pyarrow as pa

    assert isinstance(schema, pa.Schema)
    names = schema.names
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in names]
    if missing:
        raise InvalidArgument(f"body: a {kind} file needs the columns {', '.join(missing)}")
    if len(set(names)) != len(names):
        raise InvalidArgument("body: a column name appears twice")
    long = [n for n in names if len(n) > MAX_COLUMN_NAME]
    if long:
        raise InvalidArgument(
            f"body: a column name may be at most {MAX_COLUMN_NAME} characters "
            f"({long[0][:40]!r}... is longer)"
        )
    for field in schema:
        if _depth(field.type) > MAX_NESTING:
            raise InvalidArgument(
                f"{field.name[:100]}: its type nests deeper than {MAX_NESTING} levels"
            )
    expected = {
        "prediction_id": pa.types.is_string,
        "time": pa.types.is_timestamp,
        "deployment": pa.types.is_string,
        "model_name": pa.types.is_string,
        "model_version": pa.types.is_integer,
        "shadow": pa.types.is_boolean,
        "latency_ms": pa.types.is_floating,
    }
    for name, is_type in expected.items():
        if name in names and not is_type(schema.field(name).type):
            raise InvalidArgument(f"{name}: has type {schema.field(name).type}, not the log's")
    if kind == "feedback":
        extra = [n for n in names if n not in REQUIRED_COLUMNS[kind]]
        label = schema.field("label").type
        if not (pa.types.is_floating(label) or pa.types.is_string(label)):
            raise InvalidArgument(f"label: has type {label}; labels are numbers or strings")
    else:
        extra = [
            n
            for n in names
            if n not in REQUIRED_COLUMNS[kind] and not n.startswith(("input.", "score."))
        ]
    if extra:
        raise InvalidArgument(f"body: columns not in a {kind} file: {', '.join(extra[:5])}")
