"""Dependencies the routes share: the stores, the artifact repository and the actor.

Each is ``async def`` because none blocks: FastAPI runs a plain ``def`` dependency in its
thread pool, a hand-off to a thread and back for every one on every request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from keel.artifacts.repository import RunArtifacts
from keel.server.auth import ANONYMOUS, request_actor
from keel.store import acting
from keel.store.base import TrackingStore
from keel.store.registry import RegistryStore


async def _store(request: Request) -> TrackingStore:
    return request.app.state.store


async def _artifacts(request: Request) -> RunArtifacts:
    return request.app.state.artifacts


StoreDep = Annotated[TrackingStore, Depends(_store)]
ArtifactsDep = Annotated[RunArtifacts, Depends(_artifacts)]


async def _registry(request: Request) -> RegistryStore:
    return request.app.state.registry


__all__ = [
    "ANONYMOUS",
    "ActorDep",
    "ArtifactsDep",
    "RegistryDep",
    "StoreDep",
    "bind_audit_actor",
]
RegistryDep = Annotated[RegistryStore, Depends(_registry)]
# The authenticated principal's name (keel.server.auth); X-Keel-User only on an open server.
ActorDep = Annotated[str, Depends(request_actor)]


async def bind_audit_actor(request: Request, actor: ActorDep) -> None:
    """Bind the request's actor and id (``X-Request-ID``) for the audit records the
    stores write while serving it (see ``keel.store.acting``)."""
    acting.bind(actor, request.scope.get("state", {}).get("request_id"))
