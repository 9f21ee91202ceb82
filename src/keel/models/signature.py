"""What a model takes and gives: named, typed columns, or one tensor of a dtype and shape.

>>> sig = Signature([ColumnSpec("age", "int64"), ColumnSpec("city", "string", optional=True)])
>>> Signature.from_dict(sig.to_dict()) == sig
True
>>> Signature(TensorSpec("float32", (-1, 28, 28))).is_tensor
True

``infer_signature`` reads one from an example; ``enforce`` checks and converts an input
against one (see ``keel.models.enforcement`` for the rules).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keel.errors import InvalidArgument
from keel.models import inputs
from keel.models.dtypes import DTYPES, TENSOR_DTYPES, from_numpy, from_polars, from_series
from keel.models.extras import require_pandas

MAX_COLUMNS = 10_000
MAX_NAME_LENGTH = 250
MAX_DIMENSIONS = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_shape(field: str, shape: object) -> tuple[int, ...]:
    if not isinstance(shape, list | tuple):
        raise InvalidArgument(f"{field}: must be a list of sizes, got {type(shape).__name__}")
    if not 1 <= len(shape) <= MAX_DIMENSIONS:
        raise InvalidArgument(f"{field}: must have 1 to {MAX_DIMENSIONS} dimensions")
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, int) or (size < 1 and size != -1):
            raise InvalidArgument(f"{field}: sizes must be positive integers or -1 (any size)")
    return tuple(shape)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One named input or output column. ``shape`` makes each value an array of that shape."""

    name: str
    dtype: str
    optional: bool = False
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name:
            raise InvalidArgument("column name: must be a non-empty string")
        if len(name) > MAX_NAME_LENGTH or _CONTROL.search(name):
            raise InvalidArgument(
                f"column {name[:40]!r}: name must be at most {MAX_NAME_LENGTH} characters "
                "with no control characters"
            )
        if self.dtype not in DTYPES:
            raise InvalidArgument(
                f"column {name!r}: dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}"
            )
        if not isinstance(self.optional, bool):
            raise InvalidArgument(f"column {name!r}: optional must be true or false")
        if self.shape is not None:
            object.__setattr__(self, "shape", _check_shape(f"column {name!r}: shape", self.shape))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "dtype": self.dtype}
        if self.optional:
            out["optional"] = True
        if self.shape is not None:
            out["shape"] = list(self.shape)
        return out

    @classmethod
    def from_dict(cls, raw: object) -> ColumnSpec:
        data = _mapping("column", raw, {"name", "dtype", "optional", "shape"})
        return cls(
            name=data.get("name"),  # type: ignore[arg-type]
            dtype=data.get("dtype"),  # type: ignore[arg-type]
            optional=data.get("optional", False),  # type: ignore[arg-type]
            shape=data.get("shape"),  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One unnamed array input: a numeric dtype and a shape, ``-1`` for any size."""

    dtype: str
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.dtype not in TENSOR_DTYPES:
            raise InvalidArgument(
                f"tensor dtype: must be one of {', '.join(TENSOR_DTYPES)}, got {self.dtype!r}"
            )
        object.__setattr__(self, "shape", _check_shape("tensor shape", self.shape))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "tensor", "dtype": self.dtype, "shape": list(self.shape)}


Spec = tuple[ColumnSpec, ...] | TensorSpec


def _columns(field: str, value: object) -> Spec:
    if isinstance(value, TensorSpec):
        return value
    if isinstance(value, ColumnSpec):
        value = (value,)
    if not isinstance(value, list | tuple) or not value:
        raise InvalidArgument(f"{field}: must be a TensorSpec or a non-empty list of ColumnSpec")
    if len(value) > MAX_COLUMNS:
        raise InvalidArgument(f"{field}: must have at most {MAX_COLUMNS} columns")
    if not all(isinstance(column, ColumnSpec) for column in value):
        raise InvalidArgument(f"{field}: every column must be a ColumnSpec")
    names = [column.name for column in value]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidArgument(f"{field}: column names must be unique, repeated: {duplicates}")
    return tuple(value)


@dataclass(frozen=True, slots=True)
class Signature:
    inputs: Spec
    outputs: Spec | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", _columns("signature inputs", self.inputs))
        if self.outputs is not None:
            object.__setattr__(self, "outputs", _columns("signature outputs", self.outputs))

    @property
    def is_tensor(self) -> bool:
        return isinstance(self.inputs, TensorSpec)

    @property
    def columns(self) -> tuple[ColumnSpec, ...]:
        """The input columns (empty for a tensor signature)."""
        return () if isinstance(self.inputs, TensorSpec) else self.inputs

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": _spec_to_dict(self.inputs),
            "outputs": None if self.outputs is None else _spec_to_dict(self.outputs),
        }

    @classmethod
    def from_dict(cls, raw: object) -> Signature:
        data = _mapping("signature", raw, {"inputs", "outputs"})
        if "inputs" not in data:
            raise InvalidArgument("signature: must have 'inputs'")
        outputs = data.get("outputs")
        return cls(
            inputs=_spec_from_dict("signature inputs", data["inputs"]),
            outputs=None if outputs is None else _spec_from_dict("signature outputs", outputs),
        )


def _spec_to_dict(spec: Spec) -> dict[str, Any]:
    if isinstance(spec, TensorSpec):
        return spec.to_dict()
    return {"type": "columns", "columns": [column.to_dict() for column in spec]}


def _spec_from_dict(field: str, raw: object) -> Spec:
    data = _mapping(field, raw, {"type", "columns", "dtype", "shape"})
    kind = data.get("type")
    if kind == "tensor":
        return TensorSpec(dtype=data.get("dtype"), shape=data.get("shape"))  # type: ignore[arg-type]
    if kind == "columns":
        columns = data.get("columns")
        if not isinstance(columns, list):
            raise InvalidArgument(f"{field}: 'columns' must be a list")
        return _columns(field, [ColumnSpec.from_dict(column) for column in columns])
    raise InvalidArgument(f"{field}: 'type' must be 'columns' or 'tensor', got {kind!r}")


def _mapping(field: str, raw: object, allowed: set[str]) -> Mapping[str, object]:
    if not isinstance(raw, Mapping):
        raise InvalidArgument(f"{field}: must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(str(key) for key in raw if key not in allowed)
    if unknown:
        raise InvalidArgument(f"{field}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    return raw


# inference -----------------------------------------------------------------------------


def infer_signature(model_input: Any, model_output: Any = None) -> Signature:
    """Read a signature off an input example (and optionally an output: what the model
    answered for it, as MLflow's ``infer_signature(model_input, model_output)``).

    A numpy array gives a tensor signature whose first dimension is any size; a pandas or
    polars DataFrame, a list of dicts or a dict gives one column per key. An output of
    labels (strings, objects) gives one column named ``prediction``.

    >>> infer_signature([{"age": 3}], ["yes"]).outputs[0]
    ColumnSpec(name='prediction', dtype='string', optional=False, shape=None)
    """
    return Signature(
        _infer(model_input, "example"),
        None if model_output is None else infer_output(model_output),
    )


def infer_output(output: Any) -> Spec:
    """The output spec of what a model's ``predict`` answered."""
    if isinstance(output, list | tuple) and output and all(isinstance(v, str) for v in output):
        pandas = require_pandas("Recording a model's text output")
        output = pandas.Series(list(output), name="prediction")
    elif inputs.kind_of(output, field="output", allow_series=True, allow_list=True) == "numpy":
        array = output
        if array.ndim == 1 and from_numpy(array.dtype) not in TENSOR_DTYPES:
            pandas = require_pandas("Recording a model's text output")
            output = pandas.Series(array, name="prediction")
    return _infer(output, "output")


def _infer(data: Any, field: str) -> Spec:
    kind = inputs.kind_of(data, field=field, allow_series=True, allow_list=field == "output")
    if kind in ("numpy", "list"):
        return _infer_tensor(inputs.to_array(data), field)
    if kind == "series":
        name = data.name if isinstance(data.name, str) and data.name else "prediction"
        return _infer_columns([(name, from_series(data))], field)
    if kind == "polars":
        return _infer_columns(
            [(name, from_polars(dtype)) for name, dtype in data.schema.items()], field
        )
    frame = inputs.to_frame(data)
    return _infer_columns([(name, from_series(frame[name])) for name in frame.columns], field)


def _infer_tensor(array: Any, field: str) -> TensorSpec:
    dtype = from_numpy(array.dtype)
    if dtype not in TENSOR_DTYPES or array.ndim == 0:
        raise InvalidArgument(
            f"{field}: a numpy array must have at least one dimension and a dtype among "
            f"{', '.join(TENSOR_DTYPES)}, got {array.dtype} with shape {array.shape}"
        )
    return TensorSpec(dtype, (-1, *array.shape[1:]))


def _infer_columns(
    columns: Sequence[tuple[object, str | None]], field: str
) -> tuple[ColumnSpec, ...]:
    bad = [repr(name) for name, dtype in columns if dtype is None or not isinstance(name, str)]
    if bad:
        raise InvalidArgument(
            f"{field}: cannot infer a type for columns {', '.join(bad)} (names must be "
            f"strings; types one of {', '.join(DTYPES)}); pass signature= explicitly"
        )
    return tuple(ColumnSpec(str(name), str(dtype)) for name, dtype in columns)


def enforce(signature: Signature, data: Any) -> Any:
    """Check ``data`` against ``signature`` and convert it to what the model takes: a pandas
    DataFrame in the signature's column order, or a numpy array for a tensor signature.
    Raises one InvalidArgument naming every missing, extra and mistyped column."""
    from keel.models.enforcement import enforce_input

    return enforce_input(signature, data)
