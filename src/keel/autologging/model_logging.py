"""Logging the trained model with an input example and a signature of inputs and outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keel.autologging.runs import Logged


def log_model(
    logged: Logged, model: Any, example: Any, predict: Callable[[Any], Any] | None = None
) -> None:
    """Log ``model`` as ``model`` in the active run. With an example, its signature records
    the outputs too: what ``predict(example)`` (by default ``model.predict``) returns."""
    import keel

    options = logged.options
    if not options.log_models:
        return
    if predict is None and not callable(getattr(model, "predict", None)):
        return  # a transformer (a scaler): no model package serves it
    save: dict[str, Any] = {}
    if example is not None and options.log_model_signatures:
        signature = _signature(logged, example, predict or model.predict)
        if signature is not None:
            save["signature"] = signature
    if example is not None and options.log_input_examples:
        save["input_example"] = example
    logged_model = keel.log_model(model, name="model", **save)
    if options.registered_model_name is not None:
        keel.register_model(logged_model, options.registered_model_name)


def _signature(logged: Logged, example: Any, predict: Callable[[Any], Any]) -> Any:
    from keel.models.signature import infer_signature

    try:
        inputs = infer_signature(example).inputs
    except Exception:
        logged.warn("could not infer the model's input signature")
        return None
    try:
        output = _output(predict(example))
        from keel.models.signature import Signature

        return Signature(inputs, infer_signature(output).inputs)
    except Exception:
        logged.warn("could not infer the model's output signature; logging its inputs only")
        from keel.models.signature import Signature

        return Signature(inputs)


def _output(prediction: Any) -> Any:
    """A prediction as ``infer_signature`` reads it: numbers as an array, labels that are
    not numbers (strings) as a column named ``prediction``."""
    import numpy as np
    import pandas as pd

    if isinstance(prediction, pd.DataFrame | pd.Series):
        return prediction
    array = np.asarray(prediction)
    if array.dtype.kind in "biuf":
        return array
    return pd.Series(array.ravel() if array.ndim > 1 else array, name="prediction")
