"""Any object with a ``predict`` method, saved with cloudpickle: loaded only with trust.

This is the flavor of last resort. A cloudpickle file can carry code as well as data, so
loading one runs whatever it says; prefer a library's own flavor where there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument
from keel.extras import require
from keel.models.flavors._common import choice, model_path, serialization_choice, version
from keel.models.trust import PICKLE_RISK, refusal

NAME = "python"
EXTRA = "python-model"
REQUIREMENTS = ("cloudpickle",)


def detect(model: object) -> bool:
    return callable(getattr(model, "predict", None))


def save(
    model: Any, folder: Path, *, input_example: Any, serialization: str | None
) -> dict[str, Any]:
    cloudpickle = require("cloudpickle", extra=EXTRA, purpose="saving a Python model")
    serialization_choice(serialization, ("cloudpickle",), NAME)
    if not detect(model):
        raise InvalidArgument(
            f"model: a Python model needs a predict method; {type(model).__qualname__} has none"
        )
    path = folder / "model.pkl"
    with open(path, "wb") as out:
        cloudpickle.dump(model, out, protocol=5)
    return {
        "file": path.name,
        "serialization": "cloudpickle",
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "cloudpickle_version": version("cloudpickle"),
    }


def requires_trust(info: Mapping[str, Any]) -> str | None:
    choice(info, "serialization", ("cloudpickle",), NAME)
    return f"a cloudpickled Python model ({info.get('file')!s})"


def load(folder: Path, info: Mapping[str, Any], *, trust: bool) -> Any:
    import pickle

    path = model_path(folder, info, NAME)
    if not trust:
        raise refusal(f"a cloudpickled Python model ({path.name})", PICKLE_RISK)
    # The file names cloudpickle's own functions: without it, say which extra to install.
    require("cloudpickle", extra=EXTRA, purpose="loading a Python model")
    with open(path, "rb") as src:
        model = pickle.load(src)
    if not detect(model):
        raise InvalidArgument(
            f"model: {path.name} did not hold an object with a predict method "
            f"(got {type(model).__qualname__})"
        )
    return model
