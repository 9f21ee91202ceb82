"""Custom Python models, as MLflow's ``mlflow.pyfunc``: a ``PythonModel`` subclass logged
with the files it reads (``artifacts``) and the code it imports (``code_paths``).

>>> class Tagger(keel.pyfunc.PythonModel):                          # doctest: +SKIP
...     def load_context(self, context):
...         self.vocab = open(context.artifacts["vocab"]).read().split()
...     def predict(self, context, model_input, params=None):
...         return model_input["word"].isin(self.vocab)
>>> with keel.start_run():                                          # doctest: +SKIP
...     keel.pyfunc.log_model("model", python_model=Tagger(),
...                           artifacts={"vocab": "vocab.txt"}, code_paths=["tagger/"],
...                           registered_model_name="tagger")
>>> keel.pyfunc.load_model("models:/tagger/1", trust=True).predict(frame)  # doctest: +SKIP

An artifact is a local file or folder, or a ``runs:/<run_id>/<path>`` of a logged
artifact; each is copied into the package and ``context.artifacts[name]`` is its local
path after load. ``code_paths`` (folders or ``.py`` files) are copied too and put first on
``sys.path`` at load, so a class defined in the user's own module loads in a fresh process
in another folder. The model is stored with cloudpickle, so it loads only with trust
(``trust=True``, or its source in ``KEEL_TRUSTED_MODEL_SOURCES``); the code is put on the
path only after that check. A plain function taking the model input works as
``python_model`` too. The python-model extra: ``pip install 'keel-mlops[python-model]'``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel import native_models
from keel.models.python_model import PythonModel, PythonModelContext

if TYPE_CHECKING:
    from keel.models import LoadedModel, ModelManifest
    from keel.models.logged import LoggedModel
    from keel.models.python_model import PythonModelFiles

FLAVOR = "python"


def log_model(
    name: str | None = None,
    python_model: PythonModel | Callable[[Any], Any] | None = None,
    *,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    model_config: Mapping[str, Any] | None = None,
    **options: Any,
) -> LoggedModel:
    """Log ``python_model`` with its ``artifacts`` and ``code_paths`` to the active run in
    the folder ``name`` (default ``model``); the other options as in
    :func:`keel.sklearn.log_model` (``registered_model_name``, ``input_example``,
    ``signature``, ``pip_requirements``, ...)."""
    from keel.models.log_options import LogOptions

    LogOptions.parse(name, options, fixed={"flavor": FLAVOR})  # refuses before any write
    with _packed(python_model, artifacts, code_paths, model_config) as model:
        return native_models.log_model(FLAVOR, model, name, options)


def save_model(
    path: str | os.PathLike[str],
    python_model: PythonModel | Callable[[Any], Any] | None = None,
    *,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    model_config: Mapping[str, Any] | None = None,
    **options: Any,
) -> ModelManifest:
    """Write ``python_model`` with its files as a package folder at ``path``."""
    with _packed(python_model, artifacts, code_paths, model_config) as model:
        return native_models.save_model(FLAVOR, model, path, options)


def load_model(model_uri: str | os.PathLike[str], *, trust: bool = False) -> LoadedModel:
    """Load any Keel model (of any flavor) as the checked, signature-enforcing model that
    :func:`keel.load_model` gives: ``predict(data)`` calls a custom model's
    ``predict(context, data)``; ``load_context`` has run with the artifacts' paths."""
    import keel.models

    return keel.models.load(os.fspath(model_uri), trust=trust)


@contextmanager
def _packed(
    python_model: Any,
    artifacts: Mapping[str, str | os.PathLike[str]] | None,
    code_paths: Sequence[str | os.PathLike[str]] | None,
    model_config: Mapping[str, Any] | None,
) -> Iterator[PythonModelFiles]:
    """The model with its files, ``runs:/`` artifacts downloaded to a folder that lives
    as long as the block."""
    from keel.errors import InvalidArgument
    from keel.models.python_model import PythonModelFiles

    if python_model is None:
        raise InvalidArgument("python_model: required (a keel.pyfunc.PythonModel or a function)")
    if artifacts is not None and not isinstance(artifacts, Mapping):
        raise InvalidArgument("artifacts: must be a mapping of name to path or runs:/ URI")
    with tempfile.TemporaryDirectory(prefix="keel-pyfunc-") as tmp:
        local = {
            key: _fetched(key, value, Path(tmp) / str(index))
            for index, (key, value) in enumerate((artifacts or {}).items())
        }
        yield PythonModelFiles.build(python_model, local, code_paths, model_config)


def _fetched(key: str, value: str | os.PathLike[str], folder: Path) -> Path:
    """A local path for the artifact ``value``: as it is, or downloaded from its run."""
    from keel.errors import InvalidArgument, NotFound

    if not isinstance(value, str | os.PathLike):
        raise InvalidArgument(f"artifacts[{key!r}]: must be a path or a runs:/ URI")
    text = os.fspath(value)
    if not text.startswith("runs:/"):
        if "://" in text or text.startswith("models:/"):
            raise InvalidArgument(
                f"artifacts[{key!r}]: {text!r} must be a local path or runs:/<run_id>/<path>"
            )
        return Path(text)
    import keel
    from keel.uri import parse_run_artifact_uri

    where = parse_run_artifact_uri(text, field=f"artifacts[{key!r}]")
    keel.flush()  # the artifact may have been logged by this process a moment ago
    with keel.Client() as client:
        local = client.download_artifacts(where.run_id, where.path, folder)
    if not local.exists():
        raise NotFound(f"artifacts[{key!r}]: {text!r} has no files")
    return local


__all__ = ["PythonModel", "PythonModelContext", "load_model", "log_model", "save_model"]
