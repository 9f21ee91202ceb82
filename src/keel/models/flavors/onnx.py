"""ONNX models: the ``.onnx`` file, run with onnxruntime on the CPU.

The file is handed to onnxruntime as bytes, not as a path, so a graph that points at
external data files has no folder to read them from: a package is one self-contained file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument
from keel.extras import require
from keel.models import inputs
from keel.models.flavors._common import choice, model_path, names, serialization_choice, version

NAME = "onnx"
EXTRA = "onnx"
REQUIREMENTS = ("onnx", "onnxruntime", "numpy")

_ELEMENT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


def detect(model: object) -> bool:
    onnx = sys.modules.get("onnx")
    return onnx is not None and isinstance(model, onnx.ModelProto)


def save(
    model: Any, folder: Path, *, input_example: Any, serialization: str | None
) -> dict[str, Any]:
    onnx = require("onnx", extra=EXTRA, purpose="Saving an ONNX model")
    serialization_choice(serialization, ("onnx",), NAME)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise InvalidArgument(f"model: not a valid ONNX model ({exc})") from None
    external = [
        tensor.name
        for tensor in model.graph.initializer
        if tensor.data_location == onnx.TensorProto.EXTERNAL
    ]
    if external:
        raise InvalidArgument(
            f"model: ONNX tensors kept in external files are not supported ({external[:5]}); "
            "load them into the model first"
        )
    path = folder / "model.onnx"
    onnx.save_model(model, str(path))
    return {
        "file": path.name,
        "serialization": "onnx",
        "inputs": [node.name for node in model.graph.input],
        "outputs": [node.name for node in model.graph.output],
        "opsets": {entry.domain or "ai.onnx": entry.version for entry in model.opset_import},
        "onnx_version": version("onnx"),
    }


def requires_trust(info: Mapping[str, Any]) -> str | None:
    return None


def load(folder: Path, info: Mapping[str, Any], *, trust: bool) -> OnnxModel | ConvertedModel:
    onnxruntime = require("onnxruntime", extra=EXTRA, purpose="Loading an ONNX model")
    path = model_path(folder, info, NAME)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(
            path.read_bytes(), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's own error types are not importable by name
        raise InvalidArgument(f"{path.name}: onnxruntime cannot load it ({exc})") from None
    if info.get("converted_from") is not None:
        return ConvertedModel(session, info)
    return OnnxModel(session)


class OnnxModel:
    """Calls the session. One graph input takes the whole array; several take one column
    each, by name. Returns the output array, or a dict of them when there are several."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.inputs = session.get_inputs()
        self.outputs = [node.name for node in session.get_outputs()]

    def predict(self, data: Any) -> Any:
        is_frame = inputs.kind_of(data) == "pandas"
        if len(self.inputs) == 1:
            node = self.inputs[0]
            array = inputs.to_array(data)
            feeds = {node.name: array.astype(_ELEMENT_TYPES.get(node.type, array.dtype))}
        else:
            if not is_frame:
                raise InvalidArgument(
                    "data: this ONNX model takes named inputs "
                    f"({', '.join(node.name for node in self.inputs)}); pass a DataFrame"
                )
            missing = [node.name for node in self.inputs if node.name not in data.columns]
            if missing:
                raise InvalidArgument(f"data: missing the ONNX model's inputs {missing}")
            feeds = {
                node.name: data[node.name]
                .to_numpy()
                .astype(_ELEMENT_TYPES.get(node.type, "object"))
                .reshape(-1, 1)
                for node in self.inputs
            }
        results = [_plain(result) for result in self.session.run(None, feeds)]
        if len(results) == 1:
            return results[0]
        return dict(zip(self.outputs, results, strict=True))


def _plain(result: Any) -> Any:
    """ZipMap outputs (a list of {label: probability}) as a DataFrame, arrays as they are."""
    if isinstance(result, list) and result and isinstance(result[0], dict):
        import pandas as pd

        return pd.DataFrame(result)
    return result


class ConvertedModel:
    """The ONNX copy of another flavor's model (``keel.models.conversion``): takes what
    the original took and answers what its ``predict`` answered, in the same shape."""

    def __init__(self, session: Any, info: Mapping[str, Any]) -> None:
        self.session = session
        self.input = session.get_inputs()[0].name
        self.element = choice(info, "input_type", ("float64", "float32"), NAME)
        self.output = str(info.get("prediction_output"))
        self.shape = tuple(info.get("prediction_shape") or ())
        self.feature_names = names(info, "feature_names", NAME)
        self.probability_output = info.get("probability_output")
        if self.probability_output is not None:
            import numpy as np

            self.classes_ = np.asarray(info.get("classes"))

    def predict(self, data: Any) -> Any:
        array = self._array(data)
        (result,) = self.session.run([self.output], {self.input: array})
        return result.reshape((len(array), *self.shape))

    def predict_proba(self, data: Any) -> Any:
        """Class probabilities, columns in ``classes_`` order (classifiers only)."""
        if self.probability_output is None:
            raise InvalidArgument("predict_proba: this model's ONNX copy gives no probabilities")
        (result,) = self.session.run([self.probability_output], {self.input: self._array(data)})
        return result

    def predict_with_scores(self, data: Any) -> tuple[Any, Any]:
        """``predict`` and ``predict_proba`` in one pass over the graph (a model server
        answers both for each batch); scores are ``None`` for a regressor."""
        return self.run_matrix(self._array(data))

    def run_matrix(self, array: Any) -> tuple[Any, Any]:
        """:meth:`predict_with_scores` of a 2-D array already in the model's feature order
        and element type (nothing looks at what kind of data it is)."""
        if self.probability_output is None:
            (result,) = self.session.run([self.output], {self.input: array})
            return result.reshape((len(array), *self.shape)), None
        result, scores = self.session.run(
            [self.output, self.probability_output], {self.input: array}
        )
        return result.reshape((len(array), *self.shape)), scores

    def _array(self, data: Any) -> Any:
        if self.feature_names and inputs.kind_of(data) == "pandas":
            data = data[self.feature_names]
        return inputs.to_array(data).astype(self.element, copy=False)


def native(model: Any, folder: Path, info: Mapping[str, Any]) -> Any:
    """The ``onnx.ModelProto`` (``keel.onnx.load_model``, as MLflow's); the file was
    checked against its digest when the package was loaded."""
    onnx = require("onnx", extra=EXTRA, purpose="Loading an ONNX model")
    return onnx.load_model_from_string(model_path(folder, info, NAME).read_bytes())
