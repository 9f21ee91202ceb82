"""The filters of an audit listing, checked: each names its field and rule when wrong."""

from __future__ import annotations

from keel.entities import rules as v
from keel.entities.audit import AuditAction, ResourceType
from keel.entities.rules import check_actor, check_text
from keel.errors import InvalidArgument
from keel.store.sql.audit import AuditFilter


def audit_filter(
    resource: str | None,
    *,
    resource_type: ResourceType | str | None,
    action: AuditAction | str | None,
    actor: str | None,
    since: int | None,
    until: int | None,
) -> AuditFilter:
    if resource is not None:
        check_text("resource", resource, 250)
        if not resource:
            raise InvalidArgument("resource: must not be empty")
    if actor is not None:
        check_actor(actor)
    if since is not None:
        v.check_int("since", since)
    if until is not None:
        v.check_int("until", until)
    if since is not None and until is not None and until <= since:
        raise InvalidArgument(f"until: must be after since ({since}), got {until}")
    # A name with no type is a model's, as the registry's log has always been read.
    kind = ResourceType.parse(resource_type) if resource_type else None
    if resource is not None and kind is None:
        kind = ResourceType.MODEL
    return AuditFilter(
        resource_type=kind,
        resource=resource,
        action=AuditAction.parse(action) if action else None,
        actor=actor,
        since=since,
        until=until,
    )
