"""Models logged to runs: save a model package into a run's artifacts, and load one back
from ``runs:/<run_id>/<path>`` with every file checked against its recorded digest."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.entities.paths import safe_artifact_path
from keel.uri import RunArtifactUri, parse_run_artifact_uri

if TYPE_CHECKING:
    from keel.models import LoadedModel, ModelManifest
    from keel.tracking.client import Client


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """Where a logged model lives, and what its manifest says."""

    uri: str
    run_id: str
    artifact_path: str
    manifest: ModelManifest


def log_model(
    client: Client,
    run_id: str,
    model: Any,
    name: str = "model",
    **save_options: Any,
) -> LoggedModel:
    from keel.models import save_model

    path = safe_artifact_path(name, field="name")
    with tempfile.TemporaryDirectory(prefix="keel-model-") as tmp:
        folder = Path(tmp) / "model"
        manifest = save_model(model, folder, source_run_id=run_id, **save_options)
        client.log_artifacts(run_id, folder, path)
    return LoggedModel(str(RunArtifactUri(run_id, path)), run_id, path, manifest)


def load_model(
    client: Client, uri: str, *, trust: bool = False, flavor: str | None = None
) -> LoadedModel:
    """Download a model package to a private folder and load it from there. A
    ``models:/`` URI is resolved through the registry to its version's run source, and
    the package's manifest must still have the digest recorded at registration."""
    from keel.models import load_model as load_package

    if isinstance(uri, str) and uri.startswith("models:/"):
        version = client.registry.resolve(uri)
        source = parse_run_artifact_uri(version.source)
        version.check_manifest_digest(
            client.artifacts.stat(source.run_id, source.manifest_path).digest or ""
        )
    else:
        source = parse_run_artifact_uri(uri, field="model URI")
    folder = Path(tempfile.mkdtemp(prefix="keel-model-"))
    try:
        client.download_artifacts(source.run_id, source.path, folder / "pkg")
        local = folder / "pkg" / source.path if source.path else folder / "pkg"
        return load_package(local, trust=trust, source=uri, settings=client.settings, flavor=flavor)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
