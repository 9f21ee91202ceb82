"""``/api/v1/audit``: the audit log of every store, read-only (there is no route, and no
store method, that changes or deletes a record; the database refuses both)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from keel.server.deps import RegistryDep
from keel.server.responses import JSON
from keel.wire.governance import AuditPagePublic, audit_page_to_dict

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPagePublic)
def list_audit(
    registry: RegistryDep,
    name: str | None = None,
    resource_type: Literal["model", "experiment", "run", "dataset"] | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: int | None = None,
    until: int | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
) -> JSON:
    """Audit records, oldest first. ``name``: the resource's name or id (a model's unless
    ``resource_type`` says otherwise); ``since`` (inclusive) and ``until`` (exclusive) in
    epoch milliseconds."""
    page = registry.list_audit(
        name,
        resource_type=resource_type,
        action=action,
        actor=actor,
        since=since,
        until=until,
        max_results=max_results,
        page_token=page_token,
    )
    return JSON(audit_page_to_dict(page))
