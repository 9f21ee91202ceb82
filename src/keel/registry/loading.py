"""Loading a model by its address: ``models:/fraud@champion``, ``models:/fraud/3`` or
``runs:/<run_id>/model``, with only what that needs.

A model server or a batch job loads a model and nothing else: a registry reader to
resolve the name and an artifact reader to fetch the package. No tracking client is
built, so no writer thread starts and no spool is opened.

>>> from keel.store import open_backend                               # doctest: +SKIP
>>> with open_backend("http://keel:5000", settings) as backend:       # doctest: +SKIP
...     model = load_model("models:/fraud@champion", backend, settings=settings)
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from keel.artifacts.repository import walk
from keel.artifacts.store import local_destination, write_local_atomically
from keel.entities.paths import safe_artifact_path
from keel.uri import RunArtifactUri, parse_model_uri, parse_run_artifact_uri

if TYPE_CHECKING:
    from keel.artifacts.repository import ArtifactRepository
    from keel.config import Settings
    from keel.models import LoadedModel
    from keel.store.registry import RegistryStore


class ModelSource:
    """Where the package a model address names lives, its digest checked against the one
    recorded at registration when it is a ``models:/`` address."""

    def __init__(self, registry: RegistryStore, artifacts: ArtifactRepository) -> None:
        self.registry = registry
        self.artifacts = artifacts

    def locate(self, uri: str) -> RunArtifactUri:
        if not uri.startswith("models:/"):
            return parse_run_artifact_uri(uri, field="model URI")
        parsed = parse_model_uri(uri)
        if parsed.alias is not None:
            version = self.registry.get_model_version_by_alias(parsed.name, parsed.alias)
        else:
            assert parsed.version is not None
            version = self.registry.get_model_version(parsed.name, parsed.version)
        source = parse_run_artifact_uri(version.source)
        manifest = self.artifacts.stat(source.run_id, source.manifest_path)
        version.check_manifest_digest(manifest.digest or "")
        return source

    def download(self, source: RunArtifactUri, destination: Path) -> Path:
        """Every file of the package, each checked against its recorded digest, under
        ``destination``; returns the package's folder."""
        base = safe_artifact_path(source.path, allow_root=True)
        # A path from a server is checked like any other, all before the first write: it
        # never leaves `destination`.
        files = walk(self.artifacts, source.run_id, source.path)
        for info, local in [(f, local_destination(destination, f.path)) for f in files]:
            write_local_atomically(local, self.artifacts.read_chunks(source.run_id, info.path))
        return destination / base if base else destination


def load_model(
    uri: str,
    source: ModelSource,
    *,
    settings: Settings,
    trust: bool = False,
    flavor: str | None = None,
) -> LoadedModel:
    """Download the package ``uri`` names into a private folder and load it from there
    (see :func:`keel.models.load_model` for ``trust`` and ``flavor``)."""
    from keel.models import load_model as load_package

    where = source.locate(uri)
    folder = Path(tempfile.mkdtemp(prefix="keel-model-"))
    try:
        local = source.download(where, folder / "pkg")
        return load_package(local, trust=trust, source=uri, settings=settings, flavor=flavor)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
