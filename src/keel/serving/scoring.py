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
    from keel.serving.table import Table


@dataclass(frozen=True, slots=True)
class Scored:
    predictions: Any
    """numpy array, one value (or row) per input row."""
    scores: Any = None
    """2-D numpy array of class probabilities, or None."""


def scorer(
    loaded: LoadedModel,
) -> tuple[Callable[[Table, Mapping[str, Any] | None], Scored], list[Any] | None]:
    """The function that answers a batch's table (and params) for ``loaded``, and the
    class of each score column (``None`` when it gives no scores)."""
    from keel.models.flavors.onnx import ConvertedModel
    from keel.models.flavors.sklearn import SklearnModel
    from keel.models.python_model import LoadedPythonModel
    from keel.serving.table import to_model_input

    model = loaded.model
    signature = loaded.signature
    if isinstance(model, ConvertedModel):
        labels = _labels(getattr(model, "classes_", None)) if model.probability_output else None
        order = model.feature_names or (
            [c.name for c in signature.columns] if signature and not signature.is_tensor else None
        )
        in_order = tuple(order or ())

        def converted(table: Table, params: Mapping[str, Any] | None) -> Scored:
            # Numeric columns straight into one matrix: no DataFrame on the hot path.
            if table.matrix is not None and tuple(table.columns) == in_order:
                matrix = table.matrix.astype(model.element, copy=False)  # read as one
            else:
                matrix = _matrix(table, order, model.element)
            if matrix is None:
                predictions, scores = model.predict_with_scores(to_model_input(table, signature))
            else:
                predictions, scores = model.run_matrix(matrix)
            return Scored(predictions, scores)

        return converted, labels
    if isinstance(model, SklearnModel) and hasattr(model.estimator, "predict_proba"):
        estimator = model.estimator
        from keel.models.flavors._common import as_features

        def sklearn(table: Table, params: Mapping[str, Any] | None) -> Scored:
            features = as_features(to_model_input(table, signature), model.feature_names)
            return Scored(estimator.predict(features), estimator.predict_proba(features))

        return sklearn, _labels(getattr(estimator, "classes_", None))
    if isinstance(model, LoadedPythonModel):

        def custom(table: Table, params: Mapping[str, Any] | None) -> Scored:
            return Scored(_array(model.predict(to_model_input(table, signature), params=params)))

        return custom, None

    def plain(table: Table, params: Mapping[str, Any] | None) -> Scored:
        return Scored(_array(model.predict(to_model_input(table, signature))))

    return plain, None


def _labels(classes: Any) -> list[Any] | None:
    """Class labels as plain Python values (numpy scalars answer ``item``)."""
    if classes is None:
        return None
    return [c.item() if hasattr(c, "item") else c for c in list(classes)]


def _matrix(table: Table, order: list[str] | None, element: str) -> Any:
    """The table's columns side by side as one 2-D array of ``element``, or ``None`` when
    it is a tensor, lacks a column, or holds a column that is not plain numbers."""
    import numpy as np

    if table.tensor or not order:
        return None
    columns = table.columns
    arrays = []
    for name in order:
        array = columns.get(name)
        if array is None or array.ndim != 1 or array.dtype.kind not in "fiub":
            return None
        arrays.append(array)
    out = np.empty((table.rows, len(arrays)), dtype=element)
    for i, array in enumerate(arrays):
        out[:, i] = array
    return out


def _array(result: Any) -> Any:
    """A model's answer as a numpy array (a DataFrame or Series by its values)."""
    import numpy as np

    values = getattr(result, "to_numpy", None)
    if callable(values):
        result = values()
    return np.asarray(result)
