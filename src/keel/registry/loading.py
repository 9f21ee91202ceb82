"""Loading a model by its address: ``models:/fraud@champion``, ``models:/fraud/3`` or
``runs:/<run_id>/model``, with only what that needs.

A registered version's package is trusted to unpickle only with ``trust=True`` or when
``KEEL_TRUSTED_MODEL_SOURCES`` names it and a reviewer approved its digest (see
:mod:`keel.models.trust`): an alias that anyone moved is not a review.

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keel.artifacts.repository import walk
from keel.artifacts.store import local_destination, write_local_atomically
from keel.entities.paths import safe_artifact_path
from keel.errors import NotFound
from keel.models.trust import ReviewedVersion, trusted_by_review
from keel.uri import ModelUri, RunArtifactUri, parse_model_uri, parse_run_artifact_uri

if TYPE_CHECKING:
    from keel.artifacts.repository import ArtifactRepository
    from keel.config import Settings
    from keel.entities.registry import ModelVersion
    from keel.models import LoadedModel
    from keel.store.registry import RegistryStore


def resolve_model_uri(registry: RegistryStore, uri: ModelUri) -> ModelVersion:
    """The version a ``models:/`` URI names: by number, by alias, or the highest number
    (``latest``, whatever its status, as MLflow has it)."""
    if uri.alias is not None:
        return registry.get_model_version_by_alias(uri.name, uri.alias)
    if uri.latest:
        newest = registry.search_model_versions(uri.name, max_results=1)  # newest first
        if not newest:
            raise NotFound(f"model {uri.name!r}: has no versions, so {uri} names none")
        return newest[0]
    assert uri.version is not None
    return registry.get_model_version(uri.name, uri.version)


@dataclass(frozen=True, slots=True)
class Located:
    """Where a package lives and, for a registered version, what the registry says of it
    (its digest checked against the stored manifest's)."""

    source: RunArtifactUri
    version: ReviewedVersion | None = None

    def trusted(self, settings: Settings) -> bool:
        """Trusted by review (see :func:`keel.models.trust.trusted_by_review`)."""
        if self.version is None:
            return False
        return trusted_by_review(self.version, settings.trusted_model_sources)


class ModelSource:
    """Where the package a model address names lives, its digest checked against the one
    recorded at registration when it is a ``models:/`` address."""

    def __init__(self, registry: RegistryStore, artifacts: ArtifactRepository) -> None:
        self.registry = registry
        self.artifacts = artifacts

    def locate(self, uri: str) -> Located:
        if not uri.startswith("models:/"):
            return Located(parse_run_artifact_uri(uri, field="model URI"))
        version = resolve_model_uri(self.registry, parse_model_uri(uri))
        source = parse_run_artifact_uri(version.source)
        manifest = self.artifacts.stat(source.run_id, source.manifest_path)
        version.check_manifest_digest(manifest.digest or "")
        reviewed = ReviewedVersion(
            name=version.name,
            version=version.version,
            aliases=tuple(version.aliases),
            digest=version.content_hash,  # verified just above, and file by file below
            approved_digest=version.approved_digest,
        )
        return Located(source, reviewed)

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
    return load_located(
        uri, source.locate(uri), source, settings=settings, trust=trust, flavor=flavor
    )


def load_located(
    uri: str,
    where: Located,
    source: ModelSource,
    *,
    settings: Settings,
    trust: bool = False,
    flavor: str | None = None,
    workdir: Path | None = None,
) -> LoadedModel:
    """Load the package ``where`` (what ``source.locate(uri)`` answered) points at: for a
    caller that also needs the version it resolved to (a batch job writes it beside every
    prediction), without resolving an alias twice. ``workdir``: an empty folder to
    download into, which the caller removes once done with the model (default: a private
    folder that lives as long as the process)."""
    from keel.models import load_model as load_package

    # Trust follows review, not names: a models:/ address is trusted only for a digest a
    # reviewer approved (or pinned), never because the alias it names is listed.
    trusted = trust or where.trusted(settings)
    folder = Path(tempfile.mkdtemp(prefix="keel-model-", dir=workdir))
    try:
        local = source.download(where.source, folder / "pkg")
        return load_package(local, trust=trusted, source=uri, settings=settings, flavor=flavor)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
