"""Saving a model as a package folder, and loading one back safely.

>>> manifest = save_model(model, "out/model", input_example=X[:5])   # doctest: +SKIP
>>> loaded = load_model("out/model")                                # doctest: +SKIP
>>> loaded.predict(X)                                               # doctest: +SKIP

A save writes to a temporary folder beside ``path`` and renames it into place, so a
reader never sees half a package. A load checks, in this order and before any library
reads a byte of the model: the manifest (every field), that its flavor is one Keel knows,
that every file is a plain file inside the folder with its recorded size and digest, and
that a format which can run code (pickle) comes from a trusted source.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel.config import Settings
from keel.entities.ids import new_id
from keel.errors import AlreadyExists, Forbidden, InvalidArgument, NotFound
from keel.models import conversion, files, inputs
from keel.models.example import read_example, write_example
from keel.models.flavors import Flavor, Predictor, detect_flavor, get_flavor, module_name
from keel.models.flavors._common import version
from keel.models.manifest import MANIFEST_NAME, MAX_MANIFEST_BYTES, ModelManifest
from keel.models.python_model import LoadedPythonModel
from keel.models.signature import Signature, enforce, infer_output, infer_signature
from keel.models.trust import PICKLE_RISK, is_trusted, refusal
from keel.version import __version__

log = logging.getLogger("keel.models")


@dataclass(frozen=True, slots=True, eq=False)
class LoadedModel:
    """A loaded package: ``predict`` checks input against the signature, then calls the
    flavor's model, and returns what it returns (numpy arrays, or pandas for tables).
    ``flavor`` is the one it was loaded through (``manifest.flavor`` is the original's)."""

    manifest: ModelManifest
    path: Path
    model: Predictor
    flavor: str

    @property
    def signature(self) -> Signature | None:
        return self.manifest.signature

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.manifest.metadata

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """``params``: passed to a custom model's ``predict(context, data, params)``
        (``keel.pyfunc``); other models take none."""
        signature = self.signature
        prepared = inputs.normalise(data) if signature is None else enforce(signature, data)
        if params is None:
            return self.model.predict(prepared)
        if not isinstance(self.model, LoadedPythonModel):
            raise InvalidArgument("params: only custom Python models (keel.pyfunc) take params")
        return self.model.predict(prepared, params=params)

    def unwrap_python_model(self) -> Any:
        """The ``keel.pyfunc.PythonModel`` instance of a custom model (as MLflow's
        ``PyFuncModel.unwrap_python_model``), its ``load_context`` already called."""
        if not isinstance(self.model, LoadedPythonModel):
            raise InvalidArgument(
                f"unwrap_python_model: this is a {self.flavor} model, not a keel.pyfunc one"
            )
        return self.model.python_model

    def input_example(self) -> Any:
        """The example saved with the model (a DataFrame or numpy array), or None."""
        name = self.manifest.input_example
        return None if name is None else read_example(self.path / name)


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    flavor: str | None = None,
    signature: Signature | None = None,
    input_example: Any = None,
    requirements: Sequence[str] | None = None,
    extra_requirements: Sequence[str] | None = None,
    source_run_id: str | None = None,
    serialization: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    onnx: bool | None = None,
) -> ModelManifest:
    """Write ``model`` as a package folder at ``path`` (which must not exist yet).

    ``flavor`` is detected when not given; ``signature`` is inferred from
    ``input_example`` when not given, its outputs from what the saved model answers for
    the example (as MLflow does; left out, with a log line, if predicting fails);
    ``requirements`` are the flavor's libraries pinned to the installed versions when not
    given, ``extra_requirements`` are added to them. ``onnx``: also save an ONNX copy that
    reproduces the model's predictions (see ``keel.models.conversion``) — None: when one
    can be made; True: or fail saying why not; False: never.
    """
    target = Path(path)
    if target.exists():
        raise AlreadyExists(f"path {str(target)!r}: already exists; pick a new folder")
    name = detect_flavor(model) if flavor is None else flavor
    flavor_module = get_flavor(name)
    if signature is not None and not isinstance(signature, Signature):
        raise InvalidArgument("signature: must be a keel.models.Signature")
    for field, value in (
        ("requirements", requirements),
        ("extra_requirements", extra_requirements),
    ):
        if isinstance(value, str):
            raise InvalidArgument(f"{field}: must be a list of requirements, not one string")
    onnx = conversion.wanted(onnx)
    example = None
    infer_outputs = False
    if input_example is not None:
        example = inputs.normalise(input_example)
        if signature is None:
            signature = infer_signature(input_example)
            infer_outputs = True
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{new_id()[:12]}"
    staging.mkdir()
    try:
        info = flavor_module.save(
            model, staging, input_example=example, serialization=serialization
        )
        if infer_outputs and signature is not None:
            signature = _with_outputs(signature, flavor_module, staging, info, example)
        flavors = {name: info, **_onnx_copy(model, name, info, example, staging, onnx)}
        example_name = None if example is None else write_example(example, staging)
        manifest = ModelManifest(
            flavor=name,
            flavors=flavors,
            files=files.describe(staging),
            python_version=platform.python_version(),
            requirements=(
                *(
                    _pinned(_distributions(flavors), signature)
                    if requirements is None
                    else requirements
                ),
                *(extra_requirements or ()),
            ),
            created=int(time.time() * 1000),
            keel_version=__version__,
            signature=signature,
            input_example=example_name,
            source_run_id=source_run_id,
            metadata=dict(metadata or {}),
        )
        _write_manifest(staging, manifest)
        try:
            os.rename(staging, target)
        except OSError:
            raise AlreadyExists(
                f"path {str(target)!r}: appeared while the model was being saved"
            ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _with_outputs(
    signature: Signature, flavor: Flavor, folder: Path, info: Mapping[str, Any], example: Any
) -> Signature:
    """``signature`` with the outputs of the saved model's answer for ``example``.

    The model is read back from the files just written, as a later load will read it, so
    the outputs are those of the package (an XGBoost Booster's, a traced module's). Loading
    with trust is safe here: the bytes are the ones this call wrote from the caller's own
    object, not a file from elsewhere."""
    path = list(sys.path)  # a custom model's load puts its packed code first: undo that here
    try:
        predicted = flavor.load(folder, info, trust=True).predict(enforce(signature, example))
        return Signature(signature.inputs, infer_output(predicted))
    except Exception as exc:  # a model may refuse the example in any library's own way
        log.warning("keel: model outputs not recorded in the signature: %s", exc)
        return signature
    finally:
        sys.path[:] = path


def _onnx_copy(
    model: Any, flavor: str, info: Mapping[str, Any], example: Any, folder: Path, onnx: bool | None
) -> dict[str, dict[str, Any]]:
    """``{"onnx": info}`` after writing a faithful ONNX copy into ``folder``, or nothing."""
    if onnx is False or flavor == "onnx":
        return {}
    try:
        payload, onnx_info = conversion.onnx_copy(model, flavor, example, info.get("feature_names"))
    except conversion.NotConvertible as exc:
        if onnx:
            raise InvalidArgument(f"onnx: no faithful ONNX copy of this model ({exc})") from None
        log.debug("no ONNX copy of the %s model: %s", flavor, exc)
        return {}
    target = folder / onnx_info["file"]
    if target.exists():
        raise InvalidArgument(f"onnx: the {flavor} flavor already wrote {target.name}")
    target.write_bytes(payload)
    return {"onnx": onnx_info}


def _distributions(flavors: Mapping[str, Any]) -> list[str]:
    return [d for name in flavors for d in get_flavor(name).REQUIREMENTS]


def _pinned(distributions: Sequence[str], signature: Signature | None) -> list[str]:
    wanted = [*distributions, "numpy"]  # every input is normalised through numpy
    if signature is None or not signature.is_tensor:
        wanted.append("pandas")  # tables are handed to models as pandas DataFrames
    installed = {name: version(name) for name in dict.fromkeys(wanted)}
    return [f"{name}=={found}" for name, found in installed.items() if found is not None]


def _write_manifest(folder: Path, manifest: ModelManifest) -> None:
    with open(folder / MANIFEST_NAME, "w", encoding="utf-8") as out:
        out.write(manifest.to_json())
        out.flush()
        os.fsync(out.fileno())


def read_manifest(path: str | os.PathLike[str]) -> ModelManifest:
    """The validated manifest of the package at ``path``, without checking its files."""
    manifest_path = Path(path) / MANIFEST_NAME
    try:
        info = manifest_path.lstat()
    except FileNotFoundError:
        raise NotFound(f"model {str(path)!r}: no {MANIFEST_NAME}; not a Keel model") from None
    if not manifest_path.is_file() or manifest_path.is_symlink():
        raise InvalidArgument(f"model {str(path)!r}: {MANIFEST_NAME} must be a plain file")
    if info.st_size > MAX_MANIFEST_BYTES:
        raise InvalidArgument(f"{MANIFEST_NAME}: larger than {MAX_MANIFEST_BYTES} bytes")
    return ModelManifest.from_json(manifest_path.read_bytes())


def load_model(
    path: str | os.PathLike[str],
    *,
    trust: bool = False,
    source: str | None = None,
    settings: Settings | None = None,
    flavor: str | None = None,
) -> LoadedModel:
    """Load the package at ``path``, checking it first (see the module's docstring).

    ``source`` is where the model came from (``models:/fraud/3``, ``s3://...``; default:
    the folder's absolute path); a pickle-based model loads only with ``trust=True`` or
    when ``source`` is under a prefix in ``settings.trusted_model_sources``. ``flavor``
    picks one of the package's flavors; by default its verified ONNX copy when it has
    one and onnxruntime is installed (it starts faster and unpickles nothing), else the
    original's (``flavor="sklearn"`` gives the scikit-learn estimator back).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise NotFound(f"model {str(path)!r}: no such folder")
    manifest = read_manifest(folder)
    chosen = _chosen_flavor(manifest, flavor)
    module_name(chosen)  # refuses an unknown flavor before importing anything
    files.verify(folder, manifest.files)
    flavor_module = get_flavor(chosen)
    info = manifest.flavors[chosen]
    source = source if source is not None else str(folder.resolve())
    trusted_sources = (settings or Settings.from_env()).trusted_model_sources
    trusted = is_trusted(source, trust=trust, trusted_sources=trusted_sources)
    pickled = flavor_module.requires_trust(info)
    if pickled is not None and not trusted:
        raise refusal(pickled, PICKLE_RISK, source)
    try:
        model = flavor_module.load(folder, info, trust=trusted)
    except Forbidden as exc:
        raise Forbidden(f"model {source!r}: {exc.message}") from None
    return LoadedModel(manifest=manifest, path=folder, model=model, flavor=chosen)


def _chosen_flavor(manifest: ModelManifest, flavor: str | None) -> str:
    if flavor is not None:
        if flavor not in manifest.flavors:
            raise InvalidArgument(
                f"flavor: this model has {', '.join(sorted(manifest.flavors))}, not {flavor!r}"
            )
        return flavor
    copy = manifest.flavors.get("onnx")
    if (
        copy is not None
        and copy.get("converted_from") == manifest.flavor
        and importlib.util.find_spec("onnxruntime") is not None
    ):
        return "onnx"
    return manifest.flavor
