"""``/api/v1/audit``: the audit log of every store, read-only (there is no route, and no
store method, that changes or deletes a record; the database refuses both)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from keel.access.permissions import permission
from keel.entities.access import DEFAULT_PROJECT_ID
from keel.entities.audit import ACCESS_RESOURCE_TYPES, AuditPage, AuditRecord
from keel.errors import Forbidden
from keel.server.auth import Caller, requires
from keel.server.deps import RegistryDep
from keel.server.responses import JSON
from keel.wire.governance import AuditPagePublic, ResourceTypeName, audit_page_to_dict

router = APIRouter(prefix="/audit", tags=["audit"])

PROJECTLESS_TYPES = frozenset({"monitor"})
"""Resources that belong to no project: their records are judged on the default one, as
the routes that change them are."""


@router.get("", response_model=AuditPagePublic)
def list_audit(
    registry: RegistryDep,
    caller: Annotated[Caller, requires("audit:read", from_body=True)],
    name: str | None = None,
    resource_type: ResourceTypeName | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: int | None = None,
    until: int | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
) -> JSON:
    """Audit records, oldest first. ``name``: the resource's name or id (a model's unless
    ``resource_type`` says otherwise); ``since`` (inclusive) and ``until`` (exclusive) in
    epoch milliseconds. Only records of resources on whose project the caller holds
    ``audit:read``; records of users, tokens, projects, grants and groups only for admins."""
    if resource_type in ACCESS_RESOURCE_TYPES:
        caller.check_default("admin")  # who may do what belongs to no project
    elif resource_type in PROJECTLESS_TYPES:
        caller.check_default("audit:read")  # monitors belong to no project of their own
    elif name is not None:
        caller.check_resources("audit:read", resource_type or "model", [name])
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
    if name is None:
        page = AuditPage(_visible(caller, page), page.token)
    return JSON(audit_page_to_dict(page))


def _visible(caller: Caller, records: list[AuditRecord]) -> list[AuditRecord]:
    """The records of resources whose project the caller may audit: one query per kind of
    named resource, and one (cached) per run. Records of access changes (users, tokens,
    projects, grants, groups) are an admin's only, so they are never kept here."""
    if caller.identity is None or caller.identity.principal.is_admin:
        return records
    kept: set[int] = set()
    for kind in ("model", "experiment", "dataset", "deployment"):
        of_kind = [r for r in records if r.resource_type == kind]
        kept.update(r.id for r in caller.visible("audit:read", kind, of_kind, lambda r: r.name))
    if caller.allows(permission("audit:read"), DEFAULT_PROJECT_ID):
        kept.update(r.id for r in records if r.resource_type in PROJECTLESS_TYPES)
    for record in records:
        if record.resource_type == "run":
            try:
                caller.check_resources("audit:read", "run", [record.name])
            except Forbidden:
                continue
            kept.add(record.id)
    return [r for r in records if r.id in kept]
