"""What logging a model to a run gives back: where the package lives, and its manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keel.models.manifest import ModelManifest


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """A model package logged to a run: ``uri`` is its ``runs:/<run_id>/<path>`` address,
    what ``keel.register_model`` takes."""

    uri: str
    run_id: str
    artifact_path: str
    manifest: ModelManifest
