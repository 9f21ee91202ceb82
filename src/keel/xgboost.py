"""XGBoost models, as MLflow's ``mlflow.xgboost``: log, save and load (the xgboost extra:
``pip install 'keel-mlops[xgboost]'``).

>>> with keel.start_run():                                  # doctest: +SKIP
...     info = keel.xgboost.log_model(model, name="model", input_example=X[:5],
...         registered_model_name="churn")
>>> model = keel.xgboost.load_model("models:/churn/1")           # doctest: +SKIP

``load_model`` gives back the Booster (from ``xgb.train``) or the scikit-learn-API model
(``XGBClassifier``, ...) that was logged, from XGBoost's own format.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from keel import native_models

if TYPE_CHECKING:
    from keel.models import ModelManifest, Signature
    from keel.models.logged import LoggedModel

FLAVOR = "xgboost"


def log_model(
    xgb_model: Any,
    name: str | None = None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    signature: Signature | None = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    **options: Any,
) -> LoggedModel:
    """Log the model to the active run (one is started if there is none) in the folder
    ``name`` (default ``model``). Options: ``artifact_path`` (an alias of ``name``),
    ``registered_model_name`` (registers the next version of that model), ``signature``,
    ``input_example`` (the signature, outputs included, is inferred from it when not
    given), ``pip_requirements``, ``extra_pip_requirements``, ``metadata``,
    ``serialization`` and ``onnx`` (see :func:`keel.models.save_model`)."""
    given = {
        "artifact_path": artifact_path,
        "registered_model_name": registered_model_name,
        "signature": signature,
        "input_example": input_example,
        "pip_requirements": pip_requirements,
        "extra_pip_requirements": extra_pip_requirements,
        "metadata": metadata,
    }
    options.update({key: value for key, value in given.items() if value is not None})
    return native_models.log_model(FLAVOR, xgb_model, name, options)


def save_model(xgb_model: Any, path: str | os.PathLike[str], **options: Any) -> ModelManifest:
    """Write the model as a package folder at ``path`` (options as in :func:`log_model`,
    without the name and the registration)."""
    return native_models.save_model(FLAVOR, xgb_model, path, options)


def load_model(model_uri: str | os.PathLike[str], *, trust: bool = False) -> Any:
    """The model at ``model_uri`` (``models:/name/1``, ``models:/name@alias``,
    ``runs:/<run_id>/model`` or a folder) as the library's own object (the module's
    docstring says which), checked as :func:`keel.load_model` checks it."""
    return native_models.load_native(FLAVOR, os.fspath(model_uri), trust=trust)


def autolog(**options: Any) -> None:
    """``keel.autolog`` for XGBoost only (options as there: ``log_models``,
    ``log_input_examples``, ``disable``, ...)."""
    native_models.autolog(FLAVOR, options)
