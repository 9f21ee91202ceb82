"""What logging a model to a run gives back: where the package lives, and its manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keel.models.manifest import ModelManifest
    from keel.models.signature import Signature


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """A model package logged to a run: ``uri`` is its ``runs:/<run_id>/<path>`` address,
    what ``keel.register_model`` takes. ``registered_model_version`` is the version
    ``registered_model_name=`` created, if it was given."""

    uri: str
    run_id: str
    artifact_path: str
    manifest: ModelManifest
    registered_model_version: int | None = None

    @property
    def model_uri(self) -> str:
        """``uri``, by the name MLflow's ``ModelInfo`` gives it."""
        return self.uri

    @property
    def signature(self) -> Signature | None:
        return self.manifest.signature
