"""XGBoost models in XGBoost's own format (UBJSON by default, or JSON): no pickle."""

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
    model_path,
    names,
    serialization_choice,
    version,
)

NAME = "xgboost"
EXTRA = "xgboost"
REQUIREMENTS = ("xgboost", "numpy", "scipy")
SERIALIZATIONS = ("ubj", "json")
MODEL_CLASSES = (
    "XGBClassifier",
    "XGBRegressor",
    "XGBRanker",
    "XGBRFClassifier",
    "XGBRFRegressor",
    "Booster",
)
"""The classes a package may name; each is looked up on the xgboost module, never imported
by a path the manifest gives."""


def _xgboost(doing: str) -> Any:
    return require("xgboost", extra=EXTRA, purpose=f"{doing} an XGBoost model")


def detect(model: object) -> bool:
    xgb = sys.modules.get("xgboost")
    return xgb is not None and isinstance(model, xgb.XGBModel | xgb.Booster)


def save(
    model: Any, folder: Path, *, input_example: Any, serialization: str | None
) -> dict[str, Any]:
    xgb = _xgboost("Saving")
    serialization = serialization_choice(serialization, SERIALIZATIONS, NAME)
    model_class = next(
        (name for name in MODEL_CLASSES if isinstance(model, getattr(xgb, name))), None
    )
    if model_class is None:
        raise InvalidArgument(
            f"model: the xgboost flavor saves {', '.join(MODEL_CLASSES)}, "
            f"got {type(model).__qualname__}"
        )
    booster = model if model_class == "Booster" else model.get_booster()
    path = folder / f"model.{serialization}"
    model.save_model(path)
    return {
        "file": path.name,
        "serialization": serialization,
        "model_class": model_class,
        "feature_names": booster.feature_names,
        "xgboost_version": version("xgboost"),
    }


def requires_trust(info: Mapping[str, Any]) -> str | None:
    return None


def load(folder: Path, info: Mapping[str, Any], *, trust: bool) -> XGBoostModel:
    xgb = _xgboost("Loading")
    path = model_path(folder, info, NAME)
    choice(info, "serialization", SERIALIZATIONS, NAME)
    model_class = choice(info, "model_class", MODEL_CLASSES, NAME)
    model = getattr(xgb, model_class)()
    model.load_model(path)
    return XGBoostModel(model, names(info, "feature_names", NAME))


class XGBoostModel:
    def __init__(self, model: Any, feature_names: list[str] | None) -> None:
        self.model = model
        self.feature_names = feature_names

    def predict(self, data: Any) -> Any:
        import xgboost as xgb

        features = as_features(data, self.feature_names)
        if isinstance(self.model, xgb.Booster):
            return self.model.predict(xgb.DMatrix(features))
        return self.model.predict(features)


def native(model: XGBoostModel, folder: Path, info: Mapping[str, Any]) -> Any:
    """The Booster, or the scikit-learn-API model (``XGBClassifier``, ...) that was logged
    (``keel.xgboost.load_model``)."""
    return model.model
