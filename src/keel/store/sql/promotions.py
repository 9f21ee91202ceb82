"""Promotion requests: a user asks for a version to take an alias, another user decides.

Approving marks the version APPROVED and moves the alias (through :func:`move_alias`, so
the alias's policy holds), in the transaction that closes the request; if the alias
cannot move, nothing changes and the request stays OPEN. An approval to an alias guarded
by a policy records the version's digest as approved (``approved_digest``): trust by
review is granted to that digest (``keel.registry.loading``), never to the alias's name.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from keel.entities.registry import (
    ALIASABLE,
    AuditAction,
    ModelVersionStatus,
    PromotionRequest,
    PromotionState,
)
from keel.errors import AlreadyExists, Conflict, Forbidden, NotFound
from keel.store.sql.aliases import lock_model, move_alias, require_version
from keel.store.sql.audit import Change
from keel.store.sql.checks import required_checks
from keel.store.sql.registry_rows import load_request
from keel.store.sql.tables import promotion_requests
from keel.store.sql.versions import change_version


def open_request(change: Change, version: int, alias: str) -> int:
    """Propose ``version`` for ``alias``; returns the new request's id."""
    conn, name = change.conn, change.name
    status = ModelVersionStatus(require_version(conn, name, version).status)
    if status not in ALIASABLE:
        raise Conflict(
            f"version {version} of model {name!r} is {status.value}; only PENDING_REVIEW or "
            "APPROVED versions can be proposed for an alias"
        )
    p = promotion_requests.c
    duplicate = conn.execute(
        select(p.id).where(
            p.name == name,
            p.version == version,
            p.alias == alias,
            p.state == PromotionState.OPEN.value,
        )
    ).scalar_one_or_none()
    if duplicate is not None:
        raise AlreadyExists(
            f"promotion request {duplicate}: already proposes version {version} of model "
            f"{name!r} for alias {alias!r}"
        )
    request_id: int = conn.execute(
        promotion_requests.insert()
        .values(
            name=name,
            version=version,
            alias=alias,
            requested_by=change.actor,
            state=PromotionState.OPEN.value,
            created=change.now,
        )
        .returning(p.id)
    ).scalar_one()
    change.record(
        AuditAction.PROMOTION_REQUEST,
        version=version,
        alias=alias,
        after={"request": request_id, "state": PromotionState.OPEN.value},
    )
    return request_id


def locked_request(conn: Connection, request_id: int) -> PromotionRequest:
    """The request as it stands once its model's row is locked."""
    found = load_request(conn, request_id)
    if found is not None:
        lock_model(conn, found.name)
        found = load_request(conn, request_id)
    if found is None:
        raise NotFound(f"promotion request {request_id}: no such request")
    return found


def _require_open(request: PromotionRequest) -> None:
    if request.state is not PromotionState.OPEN:
        raise Conflict(
            f"promotion request {request.id}: is {request.state.value}; only an OPEN request "
            "can be decided or cancelled"
        )


def decide_request(
    change: Change, request: PromotionRequest, *, approve: bool, comment: str | None
) -> None:
    """Approve or reject ``request``; ``change.actor`` is the reviewer."""
    reviewer = change.actor
    if reviewer == request.requested_by:
        raise Forbidden(
            f"reviewer {reviewer!r}: made promotion request {request.id}; another user must "
            "decide it"
        )
    _require_open(request)
    digest = None
    if approve:
        # APPROVED first: a guarded alias only ever points at an APPROVED version.
        change_version(change, request.version, status=ModelVersionStatus.APPROVED)
        move_alias(change, request.alias, request.version, approved=True)
        if required_checks(change.conn, change.name, request.alias):
            digest = require_version(change.conn, change.name, request.version).content_hash
        state, action = PromotionState.APPROVED, AuditAction.PROMOTION_APPROVE
    else:
        row = require_version(change.conn, change.name, request.version)
        if row.status == ModelVersionStatus.PENDING_REVIEW.value:
            # An APPROVED version keeps its status and the aliases it holds: this decision
            # refuses it one more alias, it does not undo the earlier review.
            change_version(change, request.version, status=ModelVersionStatus.REJECTED)
        state, action = PromotionState.REJECTED, AuditAction.PROMOTION_REJECT
    _close(change, request, state, action, reviewer=reviewer, comment=comment, digest=digest)


def cancel_request(change: Change, request: PromotionRequest) -> None:
    if change.actor != request.requested_by:
        raise Forbidden(
            f"actor {change.actor!r}: only {request.requested_by!r}, who made promotion "
            f"request {request.id}, may cancel it"
        )
    _require_open(request)
    _close(change, request, PromotionState.CANCELLED, AuditAction.PROMOTION_CANCEL)


def _close(
    change: Change,
    request: PromotionRequest,
    state: PromotionState,
    action: AuditAction,
    *,
    reviewer: str | None = None,
    comment: str | None = None,
    digest: str | None = None,
) -> None:
    change.conn.execute(
        update(promotion_requests)
        .where(promotion_requests.c.id == request.id)
        .values(
            state=state.value,
            reviewer=reviewer,
            comment=comment,
            decided=change.now,
            approved_digest=digest,
        )
    )
    after: dict[str, object] = {"request": request.id, "state": state.value, "comment": comment}
    if digest is not None:
        after["approved_digest"] = digest
    change.record(
        action,
        version=request.version,
        alias=request.alias,
        before={"request": request.id, "state": request.state.value},
        after=after,
    )
