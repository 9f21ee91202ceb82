"""MLflow's scoring protocol (``POST /invocations``), as ``mlflow models serve`` speaks it,
so MLflow clients and SageMaker-style callers work unchanged.

Requests: ``application/json`` with exactly one of

- ``dataframe_split``: ``{"columns": [...], "data": [[...], ...]}`` (``index`` ignored;
  without ``columns`` the values are in the signature's column order),
- ``dataframe_records``: ``[{"f0": 1.0, ...}, ...]``,
- ``instances`` or ``inputs``: rows (a list of row objects, or a list of value lists: a
  tensor, or values in the signature's column order), or an object of column lists,

and optionally ``params``; other keys are ignored, as MLflow ignores them. Or
``text/csv`` with a header line. A charset other than UTF-8, or any other content-type
parameter or media type, is answered 415 in plain text, as MLflow does.

Answer: ``{"predictions": ...}`` (a DataFrame as a list of row objects, arrays as
lists). Errors: ``{"error_code": "BAD_REQUEST", "message": ...}`` for a body that cannot
be read and ``{"error_code": "INVALID_PARAMETER_VALUE", "message": ...}`` for one that
does not fit the signature, both with status 400, as MLflow answers them.
"""

from __future__ import annotations

from typing import Any

import orjson

from keel.errors import KeelError
from keel.serving.decoding import (
    RequestSchema,
    from_column_lists,
    from_columns,
    from_records,
    from_tensor,
)
from keel.serving.errors import BadRequest, Unprocessable, UnsupportedMediaType
from keel.serving.protocols import bodies
from keel.serving.protocols.outputs import jsonable
from keel.serving.table import Table

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
MEDIA_TYPES = (bodies.CSV, bodies.JSON)


def decode(body: bytes, content_type: str | None, schema: RequestSchema) -> Table:
    """The checked table of an ``/invocations`` body."""
    media, parameters = bodies.media_type(content_type)
    charset = parameters.pop("charset", "utf-8").lower()
    if charset != "utf-8":
        raise UnsupportedMediaType("The scoring server only supports UTF-8")
    if parameters:
        raise UnsupportedMediaType(
            f"Unrecognized content type parameters: {', '.join(sorted(parameters))}."
        )
    if media == bodies.JSON:
        return decode_json(body, schema)
    if media == bodies.CSV:
        cells, rows = bodies.read_csv(body)
        values = bodies.csv_values(cells, schema.signature)
        return from_columns(values, schema, where="body", rows=rows)
    raise UnsupportedMediaType(
        f"This predictor only supports the following content types: {list(MEDIA_TYPES)}. "
        f"Got {content_type!r}."
    )


def decode_json(body: bytes, schema: RequestSchema) -> Table:
    data = bodies.read_json(body)
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else f"unexpected input type {type(data)}"
        raise BadRequest(
            f"The input must be a JSON dictionary with exactly one of the input fields "
            f"{set(FORMATS)}. Received {got}."
        )
    given = [key for key in FORMATS if key in data]
    if len(given) != 1:
        raise BadRequest(
            f"The input must be a JSON dictionary with exactly one of the input fields "
            f"{set(FORMATS)}. Received dictionary with input fields: {list(data)}."
        )
    (key,) = given
    value, params = data[key], data.get("params")
    if key == "dataframe_records":
        return from_records(value, schema, where=key, params=params)
    if key == "dataframe_split":
        return _split(value, schema, params)
    if isinstance(value, dict):
        return from_column_lists(value, schema, where=key, params=params)
    if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        return from_records(value, schema, where=key, params=params)
    return from_tensor(value, schema, where=key, params=params)


def _split(value: object, schema: RequestSchema, params: object) -> Table:
    where = "dataframe_split"
    if not isinstance(value, dict):
        raise BadRequest(f"{where}: expected an object with 'columns' and 'data'")
    unknown = [key for key in value if key not in ("columns", "data", "index")]
    if unknown:
        raise BadRequest(f"{where}: unknown keys {unknown}; allowed: columns, data, index")
    rows = value.get("data")
    if not isinstance(rows, list):
        raise BadRequest(f"{where}.data: expected a list of rows")
    names = value.get("columns")
    if names is None:
        return from_tensor(rows, schema, where=f"{where}.data", params=params)
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise BadRequest(f"{where}.columns: expected a list of column names")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadRequest(f"{where}.columns: repeated {', '.join(map(repr, repeated))}")
    width = len(names)
    for position, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise BadRequest(
                f"{where}.data[{position}]: expected a list of {width} values, one per column"
            )
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    return from_columns(columns, schema, where=where, params=params, rows=len(rows))


def encode(predictions: Any) -> bytes:
    """MLflow's answer: ``{"predictions": ...}``."""
    return orjson.dumps(
        {"predictions": jsonable(predictions, frame_rows=True)},
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


def error_answer(error: KeelError) -> tuple[int, bytes, str]:
    """Status, body and media type of MLflow's answer to ``error``."""
    if isinstance(error, UnsupportedMediaType):
        return 415, error.message.encode(), "text/plain"
    if isinstance(error, Unprocessable):
        message = "Failed to enforce schema of data: " + "; ".join(error.problems)
        return 400, _body("INVALID_PARAMETER_VALUE", message), bodies.JSON
    if isinstance(error, BadRequest) or error.status_code == 400:
        return 400, _body("BAD_REQUEST", error.message), bodies.JSON
    if error.status_code == 404:
        return 404, _body("RESOURCE_DOES_NOT_EXIST", error.message), bodies.JSON
    if error.status_code == 413:
        return 413, _body("RESOURCE_LIMIT_EXCEEDED", error.message), bodies.JSON
    if error.status_code == 503:
        return 503, _body("TEMPORARILY_UNAVAILABLE", error.message), bodies.JSON
    return error.status_code, _body("INTERNAL_ERROR", error.message), bodies.JSON


def _body(code: str, message: str) -> bytes:
    return orjson.dumps({"error_code": code, "message": message})
