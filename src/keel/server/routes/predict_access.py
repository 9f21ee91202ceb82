"""``/api/v1/deployments/{name}/access`` and ``/api/v1/registered-models/{name}/access``:
may the caller predict from the model servers of this deployment (or of this model,
served bare with ``keel serve models:/...``)?

A model server whose tracking URI is this server keeps no tokens: for each token it has
not seen lately it asks here, forwarding the caller's ``Authorization`` header, never its
own. The caller is authenticated as on every route, and the answer is this server's:
200 with who the token belongs to, 401 for a token it does not accept, 403 for a
principal without ``deployment:predict`` (the reader role) on the project of the
deployment, or of the model. On a server without users everyone may: 200, not
authenticated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from keel.errors import InvalidArgument
from keel.server.auth import Caller, requires
from keel.server.responses import JSON
from keel.wire.deployments import AccessPublic

PREDICT = "deployment:predict"

router = APIRouter(tags=["deployments"])
Permission = Annotated[
    str, Query(description="The permission asked about; only deployment:predict is answered")
]


@router.get("/deployments/{name}/access", response_model=AccessPublic)
async def deployment_access(
    name: str,
    request: Request,
    caller: Annotated[Caller, requires(PREDICT)],
    permission: Permission = PREDICT,
) -> JSON:
    """200 when the caller holds ``deployment:predict`` on the deployment's project; 404
    for a name that is no deployment (after the check: whether one exists is not told to
    a caller who may not predict on the default project)."""
    _check_question(permission)
    await run_in_threadpool(request.app.state.deployments.get_deployment, name)
    return _allowed(caller, permission)


@router.get("/registered-models/{name}/access", response_model=AccessPublic)
async def model_access(
    name: str,
    request: Request,
    caller: Annotated[Caller, requires(PREDICT, from_body=True)],
    permission: Permission = PREDICT,
) -> JSON:
    """200 when the caller holds ``deployment:predict`` on the model's project (checked
    here: the path names a model, not the deployment the permission is about); 404 for a
    name that is no registered model."""
    _check_question(permission)
    await run_in_threadpool(caller.check_resources, PREDICT, "model", [name])
    await run_in_threadpool(request.app.state.registry.get_registered_model, name)
    return _allowed(caller, permission)


def _check_question(permission: str) -> None:
    if permission != PREDICT:
        raise InvalidArgument(
            f"permission {permission!r}: this route answers {PREDICT} only "
            "(the other permissions are checked by the routes that need them)"
        )


def _allowed(caller: Caller, permission: str) -> JSON:
    _check_question(permission)
    return JSON(
        {
            "allowed": True,
            "permission": permission,
            "principal": caller.name,
            "authenticated": not caller.open,
        }
    )
