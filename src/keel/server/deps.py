"""Dependencies the routes share: the stores, the artifact repository and the actor.

Each is ``async def`` because none blocks: FastAPI runs a plain ``def`` dependency in its
thread pool, a hand-off to a thread and back for every one on every request."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Header, Request

from keel.artifacts.repository import RunArtifacts
from keel.entities.rules import check_actor
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


async def request_actor(x_keel_user: str | None = Header(default=None)) -> str:
    """Who is acting: the ``X-Keel-User`` header (percent-encoded UTF-8), else
    ``anonymous``. Recorded in the registry's audit log; not an authentication."""
    if not x_keel_user:
        return ANONYMOUS
    return check_actor(unquote(x_keel_user), "X-Keel-User")


ANONYMOUS = "anonymous"
RegistryDep = Annotated[RegistryStore, Depends(_registry)]
ActorDep = Annotated[str, Depends(request_actor)]


async def bind_audit_actor(request: Request, actor: ActorDep) -> None:
    """Bind the request's actor and id (``X-Request-ID``) for the audit records the
    stores write while serving it (see ``keel.store.acting``)."""
    acting.bind(actor, request.scope.get("state", {}).get("request_id"))
