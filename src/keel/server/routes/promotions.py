"""Promotion requests: proposed under ``/api/v1/registered-models/{name}``, decided,
cancelled and listed under ``/api/v1/promotion-requests``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from keel.server.auth import Caller, requires
from keel.server.deps import ActorDep, RegistryDep
from keel.server.responses import JSON
from keel.wire.governance import (
    PromotionDecision,
    PromotionRequestCreate,
    PromotionRequestList,
    PromotionRequestPublic,
    request_to_dict,
)

router = APIRouter(tags=["promotion requests"])


@router.post(
    "/registered-models/{name}/promotion-requests",
    dependencies=[requires("model:write")],
    response_model=PromotionRequestPublic,
    status_code=201,
)
def create_promotion_request(
    name: str, body: PromotionRequestCreate, registry: RegistryDep, actor: ActorDep
) -> JSON:
    found = registry.create_promotion_request(name, body.version, body.alias, actor=actor)
    return JSON(request_to_dict(found), status_code=201)


@router.get("/promotion-requests", response_model=PromotionRequestList)
def list_promotion_requests(
    registry: RegistryDep,
    caller: Annotated[Caller, requires("model:read", from_body=True)],
    name: str | None = None,
    state: str | None = None,
    max_results: int = 100,
) -> JSON:
    """Requests, newest first: of ``name``, or of every model whose project the caller
    may read."""
    if name is not None:
        caller.check_resources("model:read", "model", [name])
    found = registry.list_promotion_requests(name, state=state, max_results=max_results)
    if name is None:
        found = caller.visible("model:read", "model", found, lambda r: r.name)
    return JSON({"requests": [request_to_dict(r) for r in found]})


@router.get(
    "/promotion-requests/{request_id}",
    dependencies=[requires("model:read")],
    response_model=PromotionRequestPublic,
)
def get_promotion_request(request_id: int, registry: RegistryDep) -> JSON:
    return JSON(request_to_dict(registry.get_promotion_request(request_id)))


@router.post(
    "/promotion-requests/{request_id}/decision",
    dependencies=[requires("model:review")],
    response_model=PromotionRequestPublic,
)
def decide_promotion_request(
    request_id: int, body: PromotionDecision, registry: RegistryDep, actor: ActorDep
) -> JSON:
    """Approve (the alias moves, the version becomes APPROVED) or reject an OPEN request.
    The reviewer (``X-Keel-User``) must not be the requester (else 403)."""
    found = registry.decide_promotion_request(
        request_id, approve=body.approve, reviewer=actor, comment=body.comment
    )
    return JSON(request_to_dict(found))


@router.post(
    "/promotion-requests/{request_id}/cancel",
    dependencies=[requires("model:write")],
    response_model=PromotionRequestPublic,
)
def cancel_promotion_request(request_id: int, registry: RegistryDep, actor: ActorDep) -> JSON:
    """Withdraw an OPEN request; only its requester may (else 403)."""
    return JSON(request_to_dict(registry.cancel_promotion_request(request_id, actor=actor)))
