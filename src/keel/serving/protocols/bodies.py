"""Reading bodies every protocol shares: JSON, CSV, Arrow IPC, and the media type."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np
import orjson

from keel.models.signature import Signature
from keel.serving.errors import BadRequest

JSON = "application/json"
CSV = "text/csv"
ARROW = "application/vnd.apache.arrow.stream"


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``text/csv; charset=utf-8`` → ``("text/csv", {"charset": "utf-8"})``."""
    if not content_type:
        return JSON, {}
    kind, *rest = (part.strip() for part in content_type.split(";"))
    parameters = {}
    for pair in rest:
        key, _, value = pair.partition("=")
        parameters[key.strip().lower()] = value.strip().strip('"')
    return kind.lower(), parameters


def accepts(accept: str | None, media: str) -> bool:
    """Whether an ``Accept`` header names ``media`` (a plain match; ``*/*`` is not taken
    as asking for it: JSON stays the default)."""
    if not accept:
        return False
    return any(part.split(";")[0].strip().lower() == media for part in accept.split(","))


def read_json(body: bytes, *, where: str = "body") -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"{where}: not valid JSON ({exc})") from None


def read_json_object(body: bytes, allowed: tuple[str, ...], *, where: str = "body") -> dict:
    """The body as a JSON object whose keys are among ``allowed``."""
    data = read_json(body, where=where)
    if not isinstance(data, dict):
        raise BadRequest(
            f"{where}: expected a JSON object with one of {', '.join(allowed)}, "
            f"got {type(data).__name__}"
        )
    unknown = [key for key in data if key not in allowed]
    if unknown:
        raise BadRequest(
            f"{where}: unknown keys {', '.join(map(repr, unknown[:10]))}; "
            f"allowed: {', '.join(allowed)}"
        )
    return data


def read_csv(body: bytes, *, where: str = "body") -> tuple[dict[str, list[str]], int]:
    """A CSV body with a header line: its cells as text, per column, and the row count."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"{where}: CSV must be UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BadRequest(f"{where}: not valid CSV ({exc})") from None
    lines = [line for line in lines if line]
    if not lines:
        raise BadRequest(f"{where}: CSV has no header line")
    header, rows = lines[0], lines[1:]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise BadRequest(f"{where}: CSV header repeats {', '.join(map(repr, repeated))}")
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise BadRequest(
                f"{where}: CSV line {number} has {len(row)} fields, the header {len(header)}"
            )
    return {name: [row[i] for row in rows] for i, name in enumerate(header)}, len(rows)


_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})


def csv_cell(text: str) -> Any:
    """A CSV cell as a plain value, as pandas reads one: empty is null; then an int, a
    float, true/false, or the text."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return None if math.isnan(value) else value
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return text


def read_arrow(body: bytes, *, where: str = "body") -> tuple[dict[str, Any], int]:
    """An Arrow IPC stream: one numpy array per column (an object array of plain values
    where the column has nulls or nested values), and the row count."""
    import pyarrow as pa

    try:
        table = pa.ipc.open_stream(body).read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise BadRequest(f"{where}: not a valid Arrow IPC stream ({exc})") from None
    names = table.column_names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadRequest(f"{where}: Arrow columns repeated: {', '.join(map(repr, repeated))}")
    columns: dict[str, Any] = {}
    for name in names:
        column = table.column(name)
        kind = column.type
        as_values = (
            column.null_count
            or pa.types.is_nested(kind)
            or pa.types.is_dictionary(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
        )
        if as_values:  # nulls, text and nested values go through the plain-value rules
            columns[name] = _objects(column.to_pylist())
        else:
            columns[name] = column.to_numpy()
    return columns, table.num_rows


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


TEXT_DTYPES = frozenset({"string", "datetime", "binary"})


def csv_values(cells: dict[str, list[str]], signature: Signature | None) -> dict[str, list[Any]]:
    """CSV cells as plain values: text columns of the signature keep their text (empty is
    null), every other cell is read as ``csv_cell`` reads it."""
    text = {s.name for s in signature.columns if s.dtype in TEXT_DTYPES} if signature else set()
    return {
        name: [None if c == "" else c for c in column]
        if name in text
        else list(map(csv_cell, column))
        for name, column in cells.items()
    }
