"""``/api/v1/audit``: the registry's audit log, read-only (there is no route, and no
store method, that changes or deletes a record)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter

from keel.server.auth import Caller, requires
from keel.server.deps import RegistryDep
from keel.server.responses import JSON
from keel.wire.governance import AuditPagePublic, audit_page_to_dict

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPagePublic)
def list_audit(
    registry: RegistryDep,
    caller: Annotated[Caller, requires("audit:read", from_body=True)],
    name: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: int | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
) -> JSON:
    """Audit records, oldest first; ``since`` in epoch milliseconds, inclusive. Of
    ``name`` (``audit:read`` on its project), or of every model whose project the caller
    holds ``audit:read`` on."""
    if name is not None:
        caller.check_resources("audit:read", "model", [name])
    page = registry.list_audit(
        name,
        action=action,
        actor=actor,
        since=since,
        max_results=max_results,
        page_token=page_token,
    )
    if name is None:
        records = caller.visible("audit:read", "model", page.records, lambda r: r.name)
        page = replace(page, records=records)
    return JSON(audit_page_to_dict(page))
