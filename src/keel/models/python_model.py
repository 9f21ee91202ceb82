"""Custom Python models: a class with ``load_context`` and ``predict``, packed with the
files it reads (``artifacts``) and the code it imports (``code_paths``).

The public face is ``keel.pyfunc`` (``keel.pyfunc.PythonModel``, ``keel.pyfunc.log_model``).
A package stores the model with cloudpickle, so it loads only with trust, like every
pickle; its code is put on ``sys.path`` only after that check, so a custom class defined
in the user's own module loads in a fresh process in another folder.

>>> class AddN(PythonModel):                                        # doctest: +SKIP
...     def load_context(self, context):
...         self.n = int(open(context.artifacts["n"]).read())
...     def predict(self, context, model_input, params=None):
...         return model_input + self.n
"""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument, NotFound

ARTIFACTS_FOLDER = "artifacts"
CODE_FOLDER = "code"


class PythonModel:
    """Base of a custom model, as MLflow's ``mlflow.pyfunc.PythonModel``: override
    ``predict`` (and ``load_context`` to read ``context.artifacts`` once, at load)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Called once when the model is loaded, before any ``predict``."""

    def predict(
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        raise NotImplementedError(f"{type(self).__qualname__}.predict is not implemented")


@dataclass(frozen=True, slots=True)
class PythonModelContext:
    """What a loaded model sees: ``artifacts`` maps each name given at logging to the
    local path of its copy inside the loaded package."""

    artifacts: Mapping[str, str] = field(default_factory=dict)
    model_config: Mapping[str, Any] = field(default_factory=dict)


class FunctionModel(PythonModel):
    """A plain function as a model (MLflow's ``python_model=predict_fn`` style)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def predict(
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        return self.function(model_input)


@dataclass(frozen=True, slots=True)
class PythonModelFiles:
    """A Python model with the files it needs, handed to ``save_model`` as one object."""

    python_model: PythonModel
    artifacts: Mapping[str, Path] = field(default_factory=dict)
    code_paths: Sequence[Path] = ()
    model_config: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        python_model: Any,
        artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
        code_paths: Sequence[str | os.PathLike[str]] | None = None,
        model_config: Mapping[str, Any] | None = None,
    ) -> PythonModelFiles:
        """Check what a caller gave (local paths only: ``keel.pyfunc`` fetches
        ``runs:/`` artifacts first)."""
        if isinstance(python_model, type):
            raise InvalidArgument(
                f"python_model: pass an instance, not the class {python_model.__qualname__}"
            )
        if not isinstance(python_model, PythonModel):
            if not callable(python_model):
                raise InvalidArgument(
                    "python_model: must be a keel.pyfunc.PythonModel or a function taking "
                    f"the model input, got {type(python_model).__qualname__}"
                )
            python_model = FunctionModel(python_model)
        if isinstance(code_paths, str | os.PathLike):
            raise InvalidArgument("code_paths: must be a list of paths, not one path")
        local: dict[str, Path] = {}
        for key, value in dict(artifacts or {}).items():
            if not isinstance(key, str) or not key or "/" in key or key in (".", ".."):
                raise InvalidArgument(
                    f"artifacts: key {key!r} must be a non-empty name without '/'"
                )
            local[key] = _existing(Path(value), f"artifacts[{key!r}]")
        code = [_existing(Path(path), "code_paths") for path in code_paths or ()]
        names = [path.name for path in code]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise InvalidArgument(f"code_paths: two paths end in the same name {repeated}")
        return cls(python_model, local, code, dict(model_config or {}))

    def predict(self, data: Any) -> Any:  # what flavor detection looks for
        return self.python_model.predict(PythonModelContext(), data)

    def copy_into(self, folder: Path) -> dict[str, Any]:
        """Copy the artifacts and code into the package ``folder``; their info."""
        artifacts: dict[str, str] = {}
        for key, source in self.artifacts.items():
            target = folder / ARTIFACTS_FOLDER / key / source.name
            _copy(source, target)
            artifacts[key] = target.relative_to(folder).as_posix()
        for source in self.code_paths:
            _copy(source, folder / CODE_FOLDER / source.name)
        return {
            "artifacts": artifacts,
            "code": CODE_FOLDER if self.code_paths else None,
            "model_config": dict(self.model_config),
        }


def _existing(path: Path, field_name: str) -> Path:
    if not path.exists():
        raise NotFound(f"{field_name}: {str(path)!r} does not exist")
    return path.resolve()


_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".git")


def _copy(source: Path, target: Path) -> None:
    # Links are copied as the files they point at: a package holds plain files only.
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=_SKIP, symlinks=False)
    else:
        shutil.copyfile(source, target)


class LoadedPythonModel:
    """A loaded custom model: ``predict(data)`` calls ``predict(context, data)``."""

    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        self._takes_params = "params" in inspect.signature(python_model.predict).parameters

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        if params is not None and not self._takes_params:
            raise InvalidArgument("params: this model's predict takes no params")
        if params is None:
            return self.python_model.predict(self.context, data)
        return self.python_model.predict(self.context, data, params=dict(params))
