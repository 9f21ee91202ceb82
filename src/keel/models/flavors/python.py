"""Any object with a ``predict`` method, saved with cloudpickle: loaded only with trust.

This is the flavor of last resort. A cloudpickle file can carry code as well as data, so
loading one runs whatever it says; prefer a library's own flavor where there is one.

A custom model (``keel.pyfunc.PythonModel``, see ``keel.models.python_model``) is saved the
same way, with its artifacts under ``artifacts/`` and its code under ``code/``. At load,
after the trust check and the digest check of every file, the code is copied to a private
folder put first on ``sys.path`` (so its modules import as they did where it was logged,
and nothing is written into the package), then the model is unpickled and its
``load_context`` is called with the artifacts' local paths.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keel.entities.paths import safe_artifact_path
from keel.errors import InvalidArgument
from keel.extras import require
from keel.models.flavors._common import choice, model_path, serialization_choice, version
from keel.models.python_model import (
    CODE_FOLDER,
    LoadedPythonModel,
    PythonModel,
    PythonModelContext,
    PythonModelFiles,
)
from keel.models.trust import PICKLE_RISK, refusal

NAME = "python"
EXTRA = "python-model"
REQUIREMENTS = ("cloudpickle",)


def detect(model: object) -> bool:
    return callable(getattr(model, "predict", None))


def save(
    model: Any, folder: Path, *, input_example: Any, serialization: str | None
) -> dict[str, Any]:
    cloudpickle = require("cloudpickle", extra=EXTRA, purpose="Saving a Python model")
    serialization_choice(serialization, ("cloudpickle",), NAME)
    if not detect(model):
        raise InvalidArgument(
            f"model: a Python model needs a predict method; {type(model).__qualname__} has none"
        )
    if isinstance(model, PythonModel):
        model = PythonModelFiles.build(model)
    extra: dict[str, Any] = {}
    if isinstance(model, PythonModelFiles):
        extra = {"python_model": True, **model.copy_into(folder)}
        model = model.python_model
    path = folder / "model.pkl"
    with open(path, "wb") as out:
        cloudpickle.dump(model, out, protocol=5)
    return {
        "file": path.name,
        "serialization": "cloudpickle",
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "cloudpickle_version": version("cloudpickle"),
        **extra,
    }


def requires_trust(info: Mapping[str, Any]) -> str | None:
    choice(info, "serialization", ("cloudpickle",), NAME)
    return f"a cloudpickled Python model ({info.get('file')!s})"


def load(folder: Path, info: Mapping[str, Any], *, trust: bool) -> Any:
    import pickle

    path = model_path(folder, info, NAME)
    if not trust:
        raise refusal(f"a cloudpickled Python model ({path.name})", PICKLE_RISK)
    custom = info.get("python_model") is True
    if custom:
        _put_code_on_path(folder, info)
    # The file names cloudpickle's own functions: without it, say which extra to install.
    require("cloudpickle", extra=EXTRA, purpose="Loading a Python model")
    with open(path, "rb") as src:
        model = pickle.load(src)
    if custom:
        if not isinstance(model, PythonModel):
            raise InvalidArgument(
                f"model: {path.name} did not hold a keel.pyfunc.PythonModel "
                f"(got {type(model).__qualname__})"
            )
        context = PythonModelContext(
            artifacts=_artifacts(folder, info), model_config=_mapping(info, "model_config")
        )
        model.load_context(context)
        return LoadedPythonModel(model, context)
    if not detect(model):
        raise InvalidArgument(
            f"model: {path.name} did not hold an object with a predict method "
            f"(got {type(model).__qualname__})"
        )
    return model


def _put_code_on_path(folder: Path, info: Mapping[str, Any]) -> None:
    code = info.get("code")
    if code is None:
        return
    if code != CODE_FOLDER:
        raise InvalidArgument(f"flavors[{NAME!r}].code: must be {CODE_FOLDER!r} or null")
    import shutil

    # A private copy: importing writes __pycache__ beside the code, which must not land in
    # the package (its next load would refuse the unlisted files).
    private = Path(tempfile.mkdtemp(prefix="keel-code-")) / CODE_FOLDER
    shutil.copytree(folder / CODE_FOLDER, private, symlinks=True)
    sys.path.insert(0, str(private))


def _artifacts(folder: Path, info: Mapping[str, Any]) -> dict[str, str]:
    raw = _mapping(info, "artifacts")
    out = {}
    for key, relative in raw.items():
        where = safe_artifact_path(relative, field=f"flavors[{NAME!r}].artifacts[{key!r}]")
        out[str(key)] = str((folder / where).resolve())
    return out


def _mapping(info: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = info.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"flavors[{NAME!r}].{key}: must be an object")
    return value


def native(model: Any, folder: Path, info: Mapping[str, Any]) -> Any:
    """The unpickled object itself (a custom model's ``PythonModel`` instance)."""
    return model.python_model if isinstance(model, LoadedPythonModel) else model
