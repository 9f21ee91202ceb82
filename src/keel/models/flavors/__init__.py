"""Flavors: how each kind of model is saved in its safest native format and loaded back.

``FLAVORS`` is the only way a flavor module is chosen: a manifest names a flavor, never a
module, and a name not in this table is refused before anything is imported. Each module
has ``NAME``, ``REQUIREMENTS`` (distributions to pin), ``detect(model)``,
``save(model, folder, *, input_example, serialization) -> info``,
``requires_trust(info) -> what | None`` (what a load would unpickle) and
``load(folder, info, *, trust) -> predictor`` and ``native(predictor, folder, info)``
(the library's own object, for ``keel.sklearn.load_model`` and friends);
libraries are imported inside the functions, so importing a flavor module is cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, cast

from keel.errors import InvalidArgument

FLAVORS: Mapping[str, str] = MappingProxyType(
    {
        "sklearn": "keel.models.flavors.sklearn",
        "xgboost": "keel.models.flavors.xgboost",
        "lightgbm": "keel.models.flavors.lightgbm",
        "onnx": "keel.models.flavors.onnx",
        "pytorch": "keel.models.flavors.pytorch",
        "python": "keel.models.flavors.python",
    }
)

DETECTION_ORDER = ("xgboost", "lightgbm", "onnx", "pytorch", "sklearn", "python")
"""Most specific first: XGBoost and LightGBM models are scikit-learn estimators too, and
anything with ``predict`` is a generic Python model."""


class Predictor(Protocol):
    def predict(self, data: Any) -> Any: ...


class Flavor(Protocol):
    NAME: str
    REQUIREMENTS: tuple[str, ...]

    def detect(self, model: object) -> bool: ...

    def save(
        self, model: Any, folder: Path, *, input_example: Any, serialization: str | None
    ) -> dict[str, Any]: ...

    def requires_trust(self, info: Mapping[str, Any]) -> str | None: ...

    def load(self, folder: Path, info: Mapping[str, Any], *, trust: bool) -> Predictor: ...

    def native(self, model: Any, folder: Path, info: Mapping[str, Any]) -> Any: ...


def module_name(name: object) -> str:
    """The module of a known flavor; InvalidArgument (nothing imported) for any other name."""
    module = FLAVORS.get(name) if isinstance(name, str) else None
    if module is None:
        raise InvalidArgument(
            f"flavor {name!r}: not a flavor Keel knows; Keel loads models only through its "
            f"own flavors ({', '.join(FLAVORS)})"
        )
    return module


def get_flavor(name: object) -> Flavor:
    return cast(Flavor, importlib.import_module(module_name(name)))


def detect_flavor(model: object) -> str:
    """The first flavor in ``DETECTION_ORDER`` that recognises ``model``."""
    for name in DETECTION_ORDER:
        if get_flavor(name).detect(model):
            return name
    raise InvalidArgument(
        f"model: no flavor recognises a {type(model).__module__}.{type(model).__qualname__}; "
        "give it a predict method, or pass flavor= one of " + ", ".join(FLAVORS)
    )
