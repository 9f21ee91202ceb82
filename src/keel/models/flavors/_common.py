"""What several flavors share: reading their info, and shaping input for a library."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from keel.entities.paths import safe_artifact_path
from keel.errors import InvalidArgument
from keel.models.inputs import kind_of


def model_path(folder: Path, info: Mapping[str, Any], flavor: str) -> Path:
    """The flavor's model file, checked again here: a flavor never trusts its info."""
    relative = safe_artifact_path(info.get("file"), field=f"flavors[{flavor!r}].file")
    return folder / relative


def choice(info: Mapping[str, Any], key: str, allowed: Sequence[str], flavor: str) -> str:
    value = info.get(key)
    if value not in allowed:
        raise InvalidArgument(
            f"flavors[{flavor!r}].{key}: must be one of {', '.join(allowed)}, got {value!r}"
        )
    return str(value)


def serialization_choice(value: str | None, allowed: Sequence[str], flavor: str) -> str:
    """The ``serialization=`` a caller asked for (the first of ``allowed`` by default)."""
    if value is None:
        return allowed[0]
    if value not in allowed:
        raise InvalidArgument(
            f"serialization: the {flavor} flavor writes {', '.join(allowed)}, got {value!r}"
        )
    return value


def names(info: Mapping[str, Any], key: str, flavor: str) -> list[str] | None:
    value = info.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidArgument(f"flavors[{flavor!r}].{key}: must be a list of strings or null")
    return value


SAME_MODULE = {"xgboost": ("xgboost-cpu",), "onnxruntime": ("onnxruntime-gpu",)}
"""Distributions that install the same module under another name."""


def version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (or of one that stands in for it)."""
    for name in (distribution, *SAME_MODULE.get(distribution, ())):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def feature_names(model: Any) -> list[str] | None:
    """The column names a scikit-learn-style model was fitted with, if any."""
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is None:
        return None
    return [str(name) for name in fitted]


def as_features(data: Any, names: Sequence[str] | None) -> Any:
    """Input as the model was fitted: a DataFrame with its column names if it had them,
    a plain array if it did not (libraries warn or fail on the other form)."""
    if kind_of(data) == "pandas":
        return data if names else data.to_numpy()
    if names and getattr(data, "ndim", 0) == 2 and data.shape[1] == len(names):
        import pandas as pd

        return pd.DataFrame(data, columns=list(names))
    return data


def jsonable(values: Any) -> list[Any]:
    """Class labels and the like as plain JSON values."""
    out = []
    for value in list(values):
        item = value.item() if hasattr(value, "item") else value
        if not isinstance(item, str | int | float | bool):
            raise InvalidArgument(f"model: class label {item!r} is not a string or a number")
        out.append(item)
    return out
