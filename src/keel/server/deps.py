"""Dependencies the routes share: the store and the artifact repository."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from keel.artifacts.repository import RunArtifacts
from keel.store.base import TrackingStore


def _store(request: Request) -> TrackingStore:
    return request.app.state.store


def _artifacts(request: Request) -> RunArtifacts:
    return request.app.state.artifacts


StoreDep = Annotated[TrackingStore, Depends(_store)]
ArtifactsDep = Annotated[RunArtifacts, Depends(_artifacts)]
