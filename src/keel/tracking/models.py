"""Models logged to runs: save a model package into a run's artifacts, and load one back
from ``runs:/<run_id>/<path>`` with every file checked against its recorded digest."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.entities.paths import safe_artifact_path
from keel.uri import RunArtifactUri

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
    """Load the model ``uri`` names (``models:/`` through the registry, its digest checked;
    ``runs:/`` straight from the run) after sending what the client has buffered."""
    client.flush()  # the run and its model may still be on their way
    return client.registry.load_model(uri, trust=trust, flavor=flavor)
