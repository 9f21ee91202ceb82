"""LightGBM models in LightGBM's text format: no pickle.

The text format keeps the booster only, so a classifier's labels are kept in the flavor
info and ``predict`` maps probabilities back to them as ``LGBMClassifier.predict`` does.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument
from keel.extras import require
from keel.models.flavors._common import (
    as_features,
    choice,
    jsonable,
    model_path,
    names,
    serialization_choice,
    version,
)

NAME = "lightgbm"
EXTRA = "lightgbm"
REQUIREMENTS = ("lightgbm", "numpy", "scipy")
MODEL_CLASSES = ("LGBMClassifier", "LGBMRegressor", "LGBMRanker", "Booster")


def _lightgbm(doing: str) -> Any:
    return require("lightgbm", extra=EXTRA, purpose=f"{doing} a LightGBM model")


def detect(model: object) -> bool:
    lgb = sys.modules.get("lightgbm")
    return lgb is not None and isinstance(model, lgb.LGBMModel | lgb.Booster)


def save(
    model: Any, folder: Path, *, input_example: Any, serialization: str | None
) -> dict[str, Any]:
    lgb = _lightgbm("Saving")
    serialization_choice(serialization, ("text",), NAME)
    model_class = next(
        (name for name in MODEL_CLASSES if isinstance(model, getattr(lgb, name))), None
    )
    if model_class is None:
        raise InvalidArgument(
            f"model: the lightgbm flavor saves {', '.join(MODEL_CLASSES)}, "
            f"got {type(model).__qualname__}"
        )
    booster = model if model_class == "Booster" else model.booster_
    path = folder / "model.txt"
    booster.save_model(str(path))
    return {
        "file": path.name,
        "serialization": "text",
        "model_class": model_class,
        "classes": jsonable(model.classes_) if model_class == "LGBMClassifier" else None,
        "feature_names": booster.feature_name(),
        "lightgbm_version": version("lightgbm"),
    }


def requires_trust(info: Mapping[str, Any]) -> str | None:
    return None


def load(folder: Path, info: Mapping[str, Any], *, trust: bool) -> LightGBMModel:
    lgb = _lightgbm("Loading")
    path = model_path(folder, info, NAME)
    choice(info, "serialization", ("text",), NAME)
    model_class = choice(info, "model_class", MODEL_CLASSES, NAME)
    classes = info.get("classes")
    if model_class == "LGBMClassifier" and (not isinstance(classes, list) or not classes):
        raise InvalidArgument(f"flavors[{NAME!r}].classes: a classifier needs its class labels")
    booster = lgb.Booster(model_file=str(path))
    return LightGBMModel(booster, classes, names(info, "feature_names", NAME))


class LightGBMModel:
    def __init__(
        self, booster: Any, classes: list[Any] | None, feature_names: list[str] | None
    ) -> None:
        self.booster = booster
        self.classes = classes
        self.feature_names = feature_names

    def predict(self, data: Any) -> Any:
        import numpy as np

        raw = self.booster.predict(as_features(data, self.feature_names))
        if self.classes is None:
            return raw
        # Binary models give the second class's probability; others one column per class.
        index = (raw > 0.5).astype(int) if raw.ndim == 1 else np.argmax(raw, axis=1)
        return np.asarray(self.classes)[index]


def native(model: LightGBMModel, folder: Path, info: Mapping[str, Any]) -> Any:
    """The Booster, or the scikit-learn-API model that was logged (``LGBMClassifier``, ...)
    rebuilt around the saved Booster (``keel.lightgbm.load_model``).

    The text format keeps only the booster, so the estimator is rebuilt as ``fit`` leaves
    it: the fitted booster, the feature count, the objective and a classifier's labels.
    Its ``get_params`` gives the parameters the booster file records, where the names
    match; the rest are the defaults."""
    lgb = _lightgbm("Loading")
    model_class = choice(info, "model_class", MODEL_CLASSES, NAME)
    booster = model.booster
    if model_class == "Booster":
        return booster
    estimator = getattr(lgb, model_class)()
    recorded = {k: v for k, v in booster.params.items() if k in estimator.get_params()}
    estimator.set_params(**recorded)
    # LightGBM has no public way to wrap a loaded Booster in an estimator: these are the
    # attributes its fit() sets (checked by keel's tests against the installed LightGBM).
    estimator._Booster = booster
    estimator.fitted_ = True
    estimator._n_features = estimator._n_features_in = booster.num_feature()
    estimator._objective = booster.params.get("objective", estimator.objective)
    fitted_names = model.feature_names or []
    # LightGBM names the columns of unnamed input Column_0, Column_1, ...
    estimator._fitted_with_feature_names = bool(fitted_names) and not all(
        name.startswith("Column_") for name in fitted_names
    )
    if model_class == "LGBMClassifier":
        import numpy as np
        from lightgbm.sklearn import _LGBMLabelEncoder

        encoder = _LGBMLabelEncoder().fit(np.asarray(model.classes))
        estimator._le = encoder
        estimator._classes = encoder.classes_
        estimator._n_classes = len(encoder.classes_)
        estimator._class_map = {label: i for i, label in enumerate(encoder.classes_)}
    return estimator
