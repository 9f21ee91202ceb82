"""Artifact bytes: one store over fsspec, safe paths, content hashes."""

from __future__ import annotations

from keel.artifacts.store import ArtifactStore
from keel.entities.paths import safe_artifact_path

__all__ = ["ArtifactStore", "safe_artifact_path"]
