"""The Open Inference Protocol (KServe V2), as KServe, Triton and MLServer clients speak it.

Infer request (``POST /v2/models/{name}[/versions/{v}]/infer``)::

    {"id": "r1", "parameters": {...},
     "inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [31, 47]}, ...],
     "outputs": [{"name": "predict"}]}

A model with named columns takes one input per column (shape ``[rows]`` or ``[rows, 1]``),
or one input of shape ``[rows, columns]`` holding the columns in the signature's order; a
tensor model takes one input of its tensor's shape. ``data`` is flat in row-major order,
or nested as the shape; its length must be the shape's product. Datatypes: BOOL,
UINT8-64, INT8-64, FP16/32/64, BYTES (text; base64 for binary columns, ISO 8601 for
datetimes). A declared datatype narrower than a column's is widened; a wider one is taken
when every value fits (INT64 data for an INT32 column).

Infer response::

    {"model_name": "fraud", "model_version": "3", "id": "r1", "parameters": {...},
     "outputs": [{"name": "predict", "shape": [2], "datatype": "INT64", "data": [0, 1]},
                 {"name": "predict_proba", "shape": [2, 2], "datatype": "FP64",
                  "parameters": {"classes": [0, 1]}, "data": [0.9, 0.1, 0.2, 0.8]}]}

``predict_proba`` is there where the model gives class scores; ``outputs`` in the request
picks among them. Model metadata (``GET /v2/models/{name}``): ``metadata``. Errors are
``{"error": "<message>"}``, as the protocol says (``error_answer``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from keel.errors import KeelError
from keel.models.signature import ColumnSpec, Signature, TensorSpec
from keel.serving import columns as col
from keel.serving.decoding import RequestSchema, from_columns, from_tensor
from keel.serving.errors import BadRequest, Unprocessable
from keel.serving.protocols import bodies
from keel.serving.protocols.outputs import as_array
from keel.serving.table import Table

PREDICT = "predict"
SCORES = "predict_proba"

DATATYPES: dict[str, str] = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
"""V2 datatype → numpy dtype."""

_VALUE_TYPES: dict[str, frozenset[type]] = {
    "BOOL": frozenset({bool}),
    "BYTES": frozenset({str}),
    **{name: frozenset({int}) for name in DATATYPES if "INT" in name},
    **{name: frozenset({int, float}) for name in DATATYPES if name.startswith("FP")},
}

KEEL_TO_V2 = {
    "bool": "BOOL",
    "int32": "INT32",
    "int64": "INT64",
    "float32": "FP32",
    "float64": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}

PROTOCOL_PARAMETERS = frozenset({"content_type", "headers"})
"""Request parameters that describe the request (MLServer's), not the model's params."""

_REQUEST_KEYS = ("id", "parameters", "inputs", "outputs")
_INPUT_KEYS = ("name", "shape", "datatype", "data", "parameters")


@dataclass(frozen=True, slots=True)
class InferRequest:
    """A decoded infer request: the checked table, the request's id (echoed back) and
    the output names it asked for (None: all)."""

    table: Table
    id: str | None = None
    outputs: tuple[str, ...] | None = None


def output_names(has_scores: bool) -> tuple[str, ...]:
    return (PREDICT, SCORES) if has_scores else (PREDICT,)


def decode(body: bytes, schema: RequestSchema, *, has_scores: bool = False) -> InferRequest:
    """The checked infer request of ``body``; ``has_scores``: the model gives class scores
    (so ``predict_proba`` may be asked for)."""
    data = bodies.read_json_object(body, _REQUEST_KEYS)
    request_id = data.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise BadRequest("id: expected a string")
    raw_inputs = data.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise BadRequest("inputs: expected a non-empty list of input tensors")
    tensors = [_read_input(i, raw) for i, raw in enumerate(raw_inputs)]
    names = [tensor.name for tensor in tensors]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadRequest(f"inputs: names repeated: {', '.join(map(repr, repeated))}")
    problems: list[str] = []
    wanted = _requested(data.get("outputs"), has_scores, problems)
    params = data.get("parameters")
    if isinstance(params, dict):  # MLServer's content_type and headers are not the model's
        params = {key: value for key, value in params.items() if key not in PROTOCOL_PARAMETERS}
    try:
        table = _table(tensors, schema, params)
    except Unprocessable as exc:
        raise Unprocessable([*problems, *exc.problems]) from None
    if problems:
        raise Unprocessable(problems)
    return InferRequest(table, request_id, wanted)


@dataclass(frozen=True, slots=True)
class _Input:
    name: str
    shape: tuple[int, ...]
    datatype: str
    array: np.ndarray
    where: str


def _read_input(position: int, raw: object) -> _Input:
    where = f"inputs[{position}]"
    if not isinstance(raw, dict):
        raise BadRequest(f"{where}: expected an object with name, shape, datatype and data")
    unknown = [key for key in raw if key not in _INPUT_KEYS]
    if unknown:
        raise BadRequest(f"{where}: unknown keys {unknown}; allowed: {', '.join(_INPUT_KEYS)}")
    missing = [key for key in ("name", "shape", "datatype", "data") if key not in raw]
    if missing:
        raise BadRequest(f"{where}: missing {', '.join(missing)}")
    name, shape, datatype, data = raw["name"], raw["shape"], raw["datatype"], raw["data"]
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where}.name: expected a non-empty string")
    where = f"input {name!r}"
    if not isinstance(shape, list) or not all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape
    ):
        raise BadRequest(f"{where}: shape must be a list of sizes (integers >= 0), got {shape!r}")
    if datatype not in DATATYPES:
        raise BadRequest(
            f"{where}: datatype must be one of {', '.join(DATATYPES)}, got {datatype!r}"
        )
    if raw.get("parameters") is not None and not isinstance(raw["parameters"], dict):
        raise BadRequest(f"{where}.parameters: expected an object")
    if not isinstance(data, list):
        raise BadRequest(f"{where}: data must be a list, got {type(data).__name__}")
    values = _flatten(data)
    expected = math.prod(shape)
    if len(values) != expected:
        raise BadRequest(f"{where}: shape {shape} holds {expected} values, data has {len(values)}")
    return _Input(name, tuple(shape), datatype, _typed(values, datatype, where), where)


def _flatten(data: list[Any]) -> list[Any]:
    """Nested data (as the shape) in row-major order; flat data as it is."""
    if not any(isinstance(value, list) for value in data):
        return data
    flat: list[Any] = []
    stack: list[Any] = [iter(data)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            flat.append(value)
        else:
            stack.pop()
    return flat


def _typed(values: list[Any], datatype: str, where: str) -> np.ndarray:
    allowed = _VALUE_TYPES[datatype]
    found = set(map(type, values))
    if not found <= allowed:
        position, value = next((p, v) for p, v in enumerate(values) if type(v) not in allowed)
        raise BadRequest(
            f"{where}: datatype {datatype} cannot hold {col.describe_value(value)} "
            f"(data[{position}])"
        )
    dtype = DATATYPES[datatype]
    if dtype == "object":
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array
    try:
        return np.array(values, dtype=dtype)
    except OverflowError:
        raise BadRequest(f"{where}: a value is out of the range of {datatype}") from None


def _requested(raw: object, has_scores: bool, problems: list[str]) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in raw
    ):
        raise BadRequest('outputs: expected a list of {"name": ...} objects')
    known = output_names(has_scores)
    names = tuple(item["name"] for item in raw)
    unknown = [name for name in names if name not in known]
    if unknown:
        problems.append(
            f"outputs: unknown {', '.join(map(repr, unknown))}; this model gives {', '.join(known)}"
        )
    return names


def _table(tensors: list[_Input], schema: RequestSchema, params: object) -> Table:
    signature = schema.signature
    first = tensors[0]
    if schema.is_tensor or (signature is None and len(tensors) == 1 and len(first.shape) > 1):
        if len(tensors) != 1:
            raise Unprocessable([f"inputs: a tensor model takes one input, got {len(tensors)}"])
        if first.array.dtype.kind == "O":
            raise Unprocessable([f"{first.where}: a tensor model takes numbers, got BYTES"])
        array = first.array.reshape(first.shape)
        return from_tensor(array, schema, where=first.where, params=params, typed=False)
    if signature is not None and len(tensors) == 1 and _wide(first, signature):
        array = first.array.reshape(first.shape)
        return from_tensor(array, schema, where=first.where, params=params)
    return _columns(tensors, schema, params)


def _wide(tensor: _Input, signature: Signature) -> bool:
    """One ``[rows, columns]`` input holding a model's named columns in order."""
    names = [spec.name for spec in signature.columns]
    return (
        len(tensor.shape) == 2
        and tensor.shape[1] == len(names)
        and (len(names) > 1 or tensor.name != names[0])
    )


def _columns(tensors: list[_Input], schema: RequestSchema, params: object) -> Table:
    rows = {tensor.shape[0] if tensor.shape else 0 for tensor in tensors}
    bad = [
        f"{tensor.where}: expected shape [rows] or [rows, 1] for one column, got "
        f"{list(tensor.shape)}"
        for tensor in tensors
        if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1)
    ]
    if bad:
        raise Unprocessable(bad)
    if len(rows) > 1:
        raise Unprocessable(
            [
                "inputs: every column must have the same number of rows, got "
                + ", ".join(f"{t.name!r}: {t.shape[0]}" for t in tensors)
            ]
        )
    values = {tensor.name: tensor.array for tensor in tensors}
    return from_columns(values, schema, where="inputs", params=params, rows=rows.pop(), typed=False)


def encode(
    predictions: Any,
    *,
    model_name: str,
    model_version: int | str | None,
    request_id: str | None = None,
    scores: Any = None,
    classes: Sequence[Any] | None = None,
    outputs: Sequence[str] | None = None,
    parameters: dict[str, Any] | None = None,
) -> bytes:
    """The infer response; ``outputs``: the names the request asked for (None: all)."""
    tensors = [_tensor(PREDICT, as_array(predictions))]
    if scores is not None:
        tensors.append(_tensor(SCORES, as_array(scores)))
        if classes is not None:
            tensors[-1]["parameters"] = {"classes": _plain_list(classes)}
    if outputs is not None:
        tensors = [tensor for tensor in tensors if tensor["name"] in outputs]
    answer: dict[str, Any] = {"model_name": model_name}
    if model_version is not None:
        answer["model_version"] = str(model_version)
    if request_id is not None:
        answer["id"] = request_id
    if parameters:
        answer["parameters"] = parameters
    answer["outputs"] = tensors
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)


def _tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    datatype = _datatype(array)
    flat = array.reshape(-1)
    data = flat.tolist() if datatype == "BYTES" or flat.dtype.itemsize <= 2 else flat
    if datatype == "BYTES":
        data = [value if isinstance(value, str) else str(value) for value in data]
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}


def _datatype(array: np.ndarray) -> str:
    kind = array.dtype.kind
    if kind == "b":
        return "BOOL"
    if kind in "iuf":
        prefix = {"i": "INT", "u": "UINT", "f": "FP"}[kind]
        return f"{prefix}{array.dtype.itemsize * 8}"
    return "BYTES"


def _plain_list(values: Sequence[Any]) -> list[Any]:
    return [value.item() if isinstance(value, np.generic) else value for value in values]


def metadata(
    name: str,
    *,
    versions: Sequence[int | str],
    platform: str,
    signature: Signature | None,
    has_scores: bool = False,
) -> dict[str, Any]:
    """The model metadata answer (``GET /v2/models/{name}``): inputs as tensor metadata
    from the signature (one per column, or the tensor), outputs ``predict`` (and
    ``predict_proba``); a size of -1 is any size."""
    inputs: list[dict[str, Any]] = []
    if signature is not None:
        inputs = _spec_metadata(signature.inputs)
    output = {"name": PREDICT, "datatype": "BYTES", "shape": [-1]}
    if signature is not None and signature.outputs is not None:
        described = _spec_metadata(signature.outputs)
        if len(described) == 1:
            output = {**described[0], "name": PREDICT}
    outputs = [output]
    if has_scores:
        outputs.append({"name": SCORES, "datatype": "FP64", "shape": [-1, -1]})
    return {
        "name": name,
        "versions": [str(version) for version in versions],
        "platform": platform,
        "inputs": inputs,
        "outputs": outputs,
    }


def _spec_metadata(spec: tuple[ColumnSpec, ...] | TensorSpec) -> list[dict[str, Any]]:
    if isinstance(spec, TensorSpec):
        return [{"name": "input", "datatype": KEEL_TO_V2[spec.dtype], "shape": list(spec.shape)}]
    return [
        {
            "name": column.name,
            "datatype": KEEL_TO_V2[column.dtype],
            "shape": [-1, *(column.shape or ())],
        }
        for column in spec
    ]


def error_answer(error: KeelError) -> tuple[int, bytes]:
    """Status and body of the protocol's error answer, ``{"error": "<message>"}``."""
    return error.status_code, orjson.dumps({"error": error.message})
