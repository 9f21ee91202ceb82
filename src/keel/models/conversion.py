"""An ONNX copy of a scikit-learn model, saved beside it when it gives the same answers.

Loading scikit-learn (and skops, to read it safely) takes most of a fresh process's time to
its first prediction; onnxruntime loads in a tenth of that and never unpickles anything.
So ``save_model`` also writes ``model.onnx`` (flavor ``onnx``, ``converted_from:
"sklearn"``) when skl2onnx can convert the model *and* the copy reproduces the original's
predictions exactly: on the input example and on rows drawn across its columns' ranges.
Labels must be equal; numbers must agree to double precision (float32 copies of
regressors do not, so they are not kept). A model the converter does not know, or a copy
that disagrees anywhere, is simply not converted — the package is the same as without.
"""

from __future__ import annotations

import logging
from typing import Any

from keel.errors import InvalidArgument
from keel.extras import install_hint
from keel.models.flavors._common import as_features, jsonable, version

log = logging.getLogger("keel.models")

CONVERTIBLE = ("sklearn",)
"""Flavors Keel can convert (XGBoost and LightGBM need onnxmltools; not done yet)."""

PROBE_ROWS = 256
"""Rows drawn uniformly within each column's range of the example, beside the example."""

RTOL, ATOL = 1e-9, 1e-12
"""How closely numeric predictions must agree: double precision, not float32."""

OPSETS = {"": 17, "ai.onnx.ml": 3}
"""Opset 3 of ``ai.onnx.ml`` keeps tree thresholds in double precision."""


class NotConvertible(Exception):
    """Why a model has no ONNX copy (said to the caller only when it asked for one)."""


def onnx_copy(
    model: Any, flavor: str, example: Any, feature_names: list[str] | None
) -> tuple[bytes, dict[str, Any]]:
    """The ONNX bytes of ``model`` and their flavor info, checked against ``model``;
    NotConvertible with the reason when there is no faithful copy."""
    if flavor not in CONVERTIBLE:
        raise NotConvertible(f"Keel converts only {', '.join(CONVERTIBLE)} models to ONNX")
    if example is None:
        raise NotConvertible("an input example is needed to check the ONNX copy")
    try:
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError:
        raise NotConvertible(
            f"skl2onnx and onnxruntime are not installed; {install_hint('sklearn')}"
        ) from None
    rows = _probe_rows(example)
    expected = model.predict(as_features(rows, feature_names))
    reasons = []
    for element in ("float64", "float32"):
        try:
            payload, outputs = _convert(model, rows.shape[1], element)
            produced = _run(payload, rows.astype(element))
        except Exception as exc:  # converters and runtimes raise anything
            reasons.append(f"{element}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        mismatch = _mismatch(expected, produced[0])
        if mismatch is not None:
            reasons.append(f"{element}: {mismatch}")
            continue
        return payload, {
            **_probabilities(model, rows, feature_names, outputs, produced),
            "file": "model.onnx",
            "serialization": "onnx",
            "converted_from": flavor,
            "input_type": element,
            "inputs": ["X"],
            "outputs": outputs,
            "prediction_output": outputs[0],
            "prediction_shape": list(getattr(expected, "shape", ()))[1:],
            "feature_names": feature_names,
            "verified_rows": int(rows.shape[0]),
            "opsets": {name or "ai.onnx": v for name, v in OPSETS.items()},
            "converter": f"skl2onnx=={version('skl2onnx')}",
            "onnx_version": version("onnx"),
        }
    raise NotConvertible("; ".join(reasons))


def _probe_rows(example: Any) -> Any:
    """The example as a float64 array, and ``PROBE_ROWS`` rows drawn within its ranges."""
    import numpy as np

    from keel.models import inputs

    try:
        array = np.asarray(inputs.to_array(example), dtype="float64")
    except (TypeError, ValueError):
        raise NotConvertible("the example has non-numeric columns") from None
    if array.ndim != 2 or array.shape[0] == 0 or not np.isfinite(array).all():
        raise NotConvertible("the example must be a 2-D table of finite numbers")
    low, high = array.min(axis=0), array.max(axis=0)
    spread = np.where(high > low, high - low, np.maximum(np.abs(low), 1.0))
    rng = np.random.default_rng(0)
    drawn = low - spread * 0.1 + rng.random((PROBE_ROWS, array.shape[1])) * spread * 1.2
    return np.vstack([array, drawn])


def _probabilities(
    model: Any, rows: Any, feature_names: list[str] | None, outputs: list[str], produced: Any
) -> dict[str, Any]:
    """The probability output and class order of a classifier whose copy gives the same
    probabilities (to float32 precision: they feed metrics such as ROC AUC, not labels)."""
    import numpy as np

    classes = getattr(model, "classes_", None)
    if classes is None or len(outputs) < 2 or not hasattr(model, "predict_proba"):
        return {}
    expected = model.predict_proba(as_features(rows, feature_names))
    copied = np.asarray(produced[1])
    if copied.shape != expected.shape or not np.allclose(copied, expected, atol=1e-6):
        return {}
    return {"probability_output": outputs[1], "classes": jsonable(classes)}


def _convert(model: Any, width: int, element: str) -> tuple[bytes, list[str]]:
    import skl2onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    tensor = DoubleTensorType if element == "float64" else FloatTensorType
    options = {"zipmap": False} if hasattr(model, "predict_proba") else None
    proto = skl2onnx.to_onnx(
        model, initial_types=[("X", tensor([None, width]))], options=options, target_opset=OPSETS
    )
    return proto.SerializeToString(), [node.name for node in proto.graph.output]


def _run(payload: bytes, rows: Any) -> list[Any]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(
        payload, sess_options=options, providers=["CPUExecutionProvider"]
    )
    return list(session.run(None, {"X": rows}))


def _mismatch(expected: Any, produced: Any) -> str | None:
    import numpy as np

    expected = np.asarray(expected)
    produced = np.asarray(produced)
    if produced.size != expected.size:
        return f"gives {produced.shape} predictions for {expected.shape}"
    produced = produced.reshape(expected.shape)
    if expected.dtype.kind in "fc":
        if not np.allclose(produced, expected, rtol=RTOL, atol=ATOL, equal_nan=True):
            worst = float(np.nanmax(np.abs(produced.astype("float64") - expected)))
            return f"predictions differ by up to {worst:.3g}"
        return None
    if not np.array_equal(produced, expected):
        return f"{int((produced != expected).sum())} of {expected.size} labels differ"
    return None


def wanted(option: bool | None) -> bool | None:
    """``onnx=`` as given: True (must convert), False (never) or None (when it can)."""
    if option is not None and not isinstance(option, bool):
        raise InvalidArgument(f"onnx: must be True, False or None (when possible), got {option!r}")
    return option
