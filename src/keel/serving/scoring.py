"""Calling a loaded model on one batch: its predictions and, where the flavor has them,
class probabilities (``predict_proba``) with the class of each column.

The batch was already checked against the signature by the request's decoder, so the
model is called directly, past :meth:`LoadedModel.predict`'s own checks (they would run
once more on every batch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.models import LoadedModel


@dataclass(frozen=True, slots=True)
class Scored:
    predictions: Any
    """numpy array, one value (or row) per input row."""
    scores: Any = None
    """2-D numpy array of class probabilities, or None."""


def scorer(
    loaded: LoadedModel,
) -> tuple[Callable[[Any, Mapping[str, Any] | None], Scored], list[str] | None]:
    """The function that answers a model input (and params) for ``loaded``, and the class
    labels of its score columns (``None`` when it gives no scores)."""
    from keel.models.flavors.onnx import ConvertedModel
    from keel.models.flavors.sklearn import SklearnModel
    from keel.models.python_model import LoadedPythonModel

    model = loaded.model
    if isinstance(model, ConvertedModel):
        labels = _labels(getattr(model, "classes_", None)) if model.probability_output else None

        def converted(data: Any, params: Mapping[str, Any] | None) -> Scored:
            predictions, scores = model.predict_with_scores(data)
            return Scored(predictions, scores)

        return converted, labels
    if isinstance(model, SklearnModel) and hasattr(model.estimator, "predict_proba"):
        estimator = model.estimator
        from keel.models.flavors._common import as_features

        def sklearn(data: Any, params: Mapping[str, Any] | None) -> Scored:
            features = as_features(data, model.feature_names)
            return Scored(estimator.predict(features), estimator.predict_proba(features))

        return sklearn, _labels(getattr(estimator, "classes_", None))
    if isinstance(model, LoadedPythonModel):

        def custom(data: Any, params: Mapping[str, Any] | None) -> Scored:
            return Scored(_array(model.predict(data, params=params)))

        return custom, None

    def plain(data: Any, params: Mapping[str, Any] | None) -> Scored:
        return Scored(_array(model.predict(data)))

    return plain, None


def _labels(classes: Any) -> list[str] | None:
    if classes is None:
        return None
    return [str(c) for c in list(classes)]


def _array(result: Any) -> Any:
    """A model's answer as a numpy array (a DataFrame or Series by its values)."""
    import numpy as np

    values = getattr(result, "to_numpy", None)
    if callable(values):
        result = values()
    return np.asarray(result)
