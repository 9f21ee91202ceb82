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

import os
import platform
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel import __version__
from keel.config import Settings
from keel.entities.ids import new_id
from keel.errors import AlreadyExists, Forbidden, InvalidArgument, NotFound
from keel.models import files, inputs
from keel.models.example import read_example, write_example
from keel.models.flavors import Predictor, detect_flavor, get_flavor, module_name
from keel.models.flavors._common import version
from keel.models.manifest import MANIFEST_NAME, MAX_MANIFEST_BYTES, ModelManifest
from keel.models.signature import Signature, enforce, infer_signature
from keel.models.trust import PICKLE_RISK, is_trusted, refusal


@dataclass(frozen=True, slots=True, eq=False)
class LoadedModel:
    """A loaded package: ``predict`` checks input against the signature, then calls the
    flavor's model, and returns what it returns (numpy arrays, or pandas for tables)."""

    manifest: ModelManifest
    path: Path
    model: Predictor

    @property
    def signature(self) -> Signature | None:
        return self.manifest.signature

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.manifest.metadata

    @property
    def flavor(self) -> str:
        return self.manifest.flavor

    def predict(self, data: Any) -> Any:
        signature = self.signature
        prepared = inputs.normalise(data) if signature is None else enforce(signature, data)
        return self.model.predict(prepared)

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
    source_run_id: str | None = None,
    serialization: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ModelManifest:
    """Write ``model`` as a package folder at ``path`` (which must not exist yet).

    ``flavor`` is detected when not given; ``signature`` is inferred from
    ``input_example`` when not given; ``requirements`` are the flavor's libraries pinned
    to the installed versions when not given.
    """
    target = Path(path)
    if target.exists():
        raise AlreadyExists(f"path {str(target)!r}: already exists; pick a new folder")
    name = detect_flavor(model) if flavor is None else flavor
    flavor_module = get_flavor(name)
    if signature is not None and not isinstance(signature, Signature):
        raise InvalidArgument("signature: must be a keel.models.Signature")
    if isinstance(requirements, str):
        raise InvalidArgument("requirements: must be a list of requirements, not one string")
    example = None
    if input_example is not None:
        example = inputs.normalise(input_example)
        if signature is None:
            signature = infer_signature(input_example)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{new_id()[:12]}"
    staging.mkdir()
    try:
        info = flavor_module.save(
            model, staging, input_example=example, serialization=serialization
        )
        example_name = None if example is None else write_example(example, staging)
        manifest = ModelManifest(
            flavor=name,
            flavors={name: info},
            files=files.describe(staging),
            python_version=platform.python_version(),
            requirements=tuple(
                _pinned(flavor_module.REQUIREMENTS, signature)
                if requirements is None
                else requirements
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
) -> LoadedModel:
    """Load the package at ``path``, checking it first (see the module's docstring).

    ``source`` is where the model came from (``models:/fraud/3``, ``s3://...``; default:
    the folder's absolute path); a pickle-based model loads only with ``trust=True`` or
    when ``source`` is under a prefix in ``settings.trusted_model_sources``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise NotFound(f"model {str(path)!r}: no such folder")
    manifest = read_manifest(folder)
    module_name(manifest.flavor)  # refuses an unknown flavor before importing anything
    files.verify(folder, manifest.files)
    flavor_module = get_flavor(manifest.flavor)
    info = manifest.flavors[manifest.flavor]
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
    return LoadedModel(manifest=manifest, path=folder, model=model)
