"""Artifact bytes: one store over fsspec, safe paths, content hashes."""

from __future__ import annotations

from keel.artifacts.paths import safe_artifact_path
from keel.artifacts.store import ArtifactStore

__all__ = ["ArtifactStore", "safe_artifact_path"]
