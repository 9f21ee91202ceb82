"""Model packages: a folder with ``keel-model.json``, the model in its flavor's safest
native format, a signature and an input example.

>>> from keel.models import save_model, load_model                 # doctest: +SKIP
>>> save_model(pipeline, "out/churn", input_example=X.head())      # doctest: +SKIP
>>> load_model("out/churn").predict(X)                             # doctest: +SKIP

Nothing here imports pandas, numpy or a model library until a function needs it.
"""

from __future__ import annotations

from keel.models.archive import extract_archive
from keel.models.manifest import MANIFEST_NAME, FileEntry, ModelManifest
from keel.models.package import LoadedModel, load_model, read_manifest, save_model
from keel.models.signature import ColumnSpec, Signature, TensorSpec, enforce, infer_signature
from keel.models.trust import is_trusted


def load(uri: str, *, trust: bool = False, flavor: str | None = None) -> LoadedModel:
    """Load a model by ``models:/<name>@<alias>``, ``models:/<name>/<version>``,
    ``runs:/<run_id>/<path>`` (through the tracking URI in use) or a local folder;
    ``flavor`` as in :func:`load_model` (default: a verified ONNX copy when there is one).

    >>> keel.models.load("models:/fraud@champion").predict(rows)   # doctest: +SKIP
    """
    if uri.startswith(("models:/", "runs:/")):
        import keel  # the tracking URI in use is the fluent API's, reached through keel

        return keel.load_model(uri, trust=trust, flavor=flavor)
    return load_model(uri, trust=trust, flavor=flavor)


__all__ = [
    "MANIFEST_NAME",
    "ColumnSpec",
    "FileEntry",
    "LoadedModel",
    "ModelManifest",
    "Signature",
    "TensorSpec",
    "enforce",
    "extract_archive",
    "infer_signature",
    "is_trusted",
    "load",
    "load_model",
    "read_manifest",
    "save_model",
]
