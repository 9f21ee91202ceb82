"""Keel's own protocol (``POST /predict``): JSON, Arrow IPC or CSV in; JSON or Arrow out.

Requests (``Content-Type``):

- ``application/json``: ``{"records": [{"f0": 1.0, ...}, ...]}`` (one object per row),
  ``{"columns": {"f0": [1.0, ...], ...}}`` (one list per column) or
  ``{"inputs": [[...], ...]}`` (rows of values: a tensor model's array, or values in the
  signature's column order); ``"params": {...}`` beside any of them.
- ``application/vnd.apache.arrow.stream``: one Arrow IPC stream, one column per input.
- ``text/csv``: a header line, then one line per row.

Answer: ``{"predictions": [...], "ids": [...], "model": {"name", "version"}}``, plus
``"scores": [[...], ...]`` (one list per row) and ``"classes": [...]`` (what each score
is for) where the model gives class scores. With ``Accept:
application/vnd.apache.arrow.stream``, an Arrow stream of columns ``id``,
``prediction`` and ``score.<class>``, the model's name and version in the schema's
metadata (``keel.model.name``, ``keel.model.version``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from keel.serving.decoding import (
    RequestSchema,
    from_column_lists,
    from_columns,
    from_records,
    from_tensor,
)
from keel.serving.errors import BadRequest, UnsupportedMediaType
from keel.serving.protocols import bodies
from keel.serving.protocols.outputs import as_array, jsonable
from keel.serving.table import Table

FORMATS = ("records", "columns", "inputs")
MEDIA_TYPES = (bodies.JSON, bodies.ARROW, bodies.CSV)
_KEYS = (*FORMATS, "params")
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def decode(body: bytes, content_type: str | None, schema: RequestSchema) -> Table:
    """The checked table of a ``/predict`` body of ``content_type`` (JSON when absent)."""
    media, _ = bodies.media_type(content_type)
    if media == bodies.JSON:
        return decode_json(body, schema)
    if media == bodies.ARROW:
        return decode_arrow(body, schema)
    if media == bodies.CSV:
        return decode_csv(body, schema)
    raise UnsupportedMediaType(
        f"Content-Type: {media!r} is not read here; send one of {', '.join(MEDIA_TYPES)}"
    )


def decode_json(body: bytes, schema: RequestSchema) -> Table:
    data = bodies.read_json_object(body, _KEYS)
    given = [key for key in FORMATS if key in data]
    if len(given) != 1:
        raise BadRequest(
            f"body: expected exactly one of {', '.join(map(repr, FORMATS))}, "
            f"got {', '.join(map(repr, given)) or 'none'}"
        )
    (key,) = given
    params = data.get("params")
    if key == "records":
        return from_records(data[key], schema, where=key, params=params)
    if key == "columns":
        return from_column_lists(data[key], schema, where=key, params=params)
    return from_tensor(data[key], schema, where=key, params=params)


def decode_csv(body: bytes, schema: RequestSchema) -> Table:
    cells, rows = bodies.read_csv(body)
    values = bodies.csv_values(cells, schema.signature)
    return from_columns(values, schema, where="body", rows=rows)


def decode_arrow(body: bytes, schema: RequestSchema) -> Table:
    columns, rows = bodies.read_arrow(body)
    return from_columns(columns, schema, where="body", rows=rows, typed=True)


def encode(
    predictions: Any,
    *,
    ids: Sequence[str],
    model_name: str,
    model_version: int | str,
    scores: Any = None,
    classes: Sequence[Any] | None = None,
    accept: str | None = None,
) -> tuple[bytes, str]:
    """The answer body and its media type: Arrow when ``accept`` asks for it, else JSON."""
    encoder = encode_arrow if bodies.accepts(accept, bodies.ARROW) else encode_json
    content = encoder(
        predictions,
        ids=ids,
        model_name=model_name,
        model_version=model_version,
        scores=scores,
        classes=classes,
    )
    return content, bodies.ARROW if encoder is encode_arrow else bodies.JSON


def encode_json(
    predictions: Any,
    *,
    ids: Sequence[str],
    model_name: str,
    model_version: int | str,
    scores: Any = None,
    classes: Sequence[Any] | None = None,
) -> bytes:
    answer: dict[str, Any] = {
        "predictions": jsonable(predictions, frame_rows=False),
        "ids": list(ids),
        "model": {"name": model_name, "version": model_version},
    }
    if scores is not None:
        answer["scores"] = jsonable(scores, frame_rows=False)
        if classes is not None:
            answer["classes"] = jsonable(list(classes))
    return orjson.dumps(answer, option=_OPTIONS)


def encode_arrow(
    predictions: Any,
    *,
    ids: Sequence[str],
    model_name: str,
    model_version: int | str,
    scores: Any = None,
    classes: Sequence[Any] | None = None,
) -> bytes:
    import pyarrow as pa

    columns: dict[str, Any] = {
        "id": pa.array(list(ids), pa.string()),
        "prediction": _arrow_column(as_array(predictions)),
    }
    if scores is not None:
        matrix = as_array(scores)
        labels = list(classes) if classes is not None else list(range(matrix.shape[1]))
        for index, label in enumerate(labels):
            columns[f"score.{label}"] = pa.array(matrix[:, index])
    metadata = {"keel.model.name": model_name, "keel.model.version": str(model_version)}
    table = pa.table(columns).replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _arrow_column(array: np.ndarray) -> Any:
    """One Arrow column: a plain array, or for N-D predictions one fixed-size list per row."""
    import pyarrow as pa

    if array.ndim <= 1:
        return pa.array(array if array.dtype.kind != "O" else array.tolist())
    flat = pa.array(np.ascontiguousarray(array).reshape(-1))
    width = int(np.prod(array.shape[1:]))
    return pa.FixedSizeListArray.from_arrays(flat, width)
