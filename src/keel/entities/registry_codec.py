"""Registry entities to and from plain JSON-ready dicts: their shape on the wire."""

from __future__ import annotations

from typing import Any

from keel.entities.registry import (
    AliasPolicy,
    AuditAction,
    AuditPage,
    AuditRecord,
    CheckResult,
    ModelVersion,
    ModelVersionPage,
    ModelVersionStatus,
    PromotionRequest,
    PromotionState,
    RegisteredModel,
    RegisteredModelPage,
)


def model_to_dict(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "description": m.description,
        "tags": m.tags,
        "created": m.created,
        "updated": m.updated,
        "aliases": m.aliases,
    }


def model_from_dict(d: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(
        name=d["name"],
        description=d.get("description") or "",
        tags=dict(d.get("tags") or {}),
        created=d["created"],
        updated=d["updated"],
        aliases={str(k): int(v) for k, v in (d.get("aliases") or {}).items()},
    )


def model_page_to_dict(page: RegisteredModelPage) -> dict[str, Any]:
    return {
        "models": [model_to_dict(m) for m in page.models],
        "next_page_token": page.next_page_token,
    }


def model_page_from_dict(d: dict[str, Any]) -> RegisteredModelPage:
    return RegisteredModelPage([model_from_dict(m) for m in d["models"]], d.get("next_page_token"))


def version_to_dict(v: ModelVersion) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "source": v.source,
        "run_id": v.run_id,
        "content_hash": v.content_hash,
        "status": v.status.value,
        "description": v.description,
        "tags": v.tags,
        "signature": v.signature,
        "parent_version": v.parent_version,
        "created": v.created,
        "updated": v.updated,
        "created_by": v.created_by,
        "aliases": v.aliases,
    }


def version_from_dict(d: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        name=d["name"],
        version=int(d["version"]),
        source=d["source"],
        run_id=d["run_id"],
        content_hash=d["content_hash"],
        status=ModelVersionStatus(d["status"]),
        description=d.get("description") or "",
        tags=dict(d.get("tags") or {}),
        signature=d.get("signature"),
        parent_version=d.get("parent_version"),
        created=d["created"],
        updated=d["updated"],
        created_by=d["created_by"],
        aliases=list(d.get("aliases") or []),
    )


def version_page_to_dict(page: ModelVersionPage) -> dict[str, Any]:
    return {
        "versions": [version_to_dict(v) for v in page.versions],
        "next_page_token": page.next_page_token,
    }


def version_page_from_dict(d: dict[str, Any]) -> ModelVersionPage:
    return ModelVersionPage([version_from_dict(v) for v in d["versions"]], d.get("next_page_token"))


def check_to_dict(c: CheckResult) -> dict[str, Any]:
    return {
        "name": c.name,
        "version": c.version,
        "check": c.check,
        "passed": c.passed,
        "details": c.details,
        "created": c.created,
        "created_by": c.created_by,
    }


def check_from_dict(d: dict[str, Any]) -> CheckResult:
    return CheckResult(
        name=d["name"],
        version=int(d["version"]),
        check=d["check"],
        passed=bool(d["passed"]),
        details=d.get("details"),
        created=d["created"],
        created_by=d["created_by"],
    )


def request_to_dict(r: PromotionRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "version": r.version,
        "alias": r.alias,
        "requested_by": r.requested_by,
        "state": r.state.value,
        "reviewer": r.reviewer,
        "comment": r.comment,
        "created": r.created,
        "decided": r.decided,
    }


def request_from_dict(d: dict[str, Any]) -> PromotionRequest:
    return PromotionRequest(
        id=int(d["id"]),
        name=d["name"],
        version=int(d["version"]),
        alias=d["alias"],
        requested_by=d["requested_by"],
        state=PromotionState(d["state"]),
        reviewer=d.get("reviewer"),
        comment=d.get("comment"),
        created=d["created"],
        decided=d.get("decided"),
    )


def policy_to_dict(p: AliasPolicy) -> dict[str, Any]:
    return {"name": p.name, "alias": p.alias, "required_checks": p.required_checks}


def policy_from_dict(d: dict[str, Any]) -> AliasPolicy:
    return AliasPolicy(d["name"], d["alias"], list(d.get("required_checks") or []))


def audit_to_dict(a: AuditRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "at": a.at,
        "actor": a.actor,
        "action": a.action.value,
        "name": a.name,
        "version": a.version,
        "alias": a.alias,
        "before": a.before,
        "after": a.after,
    }


def audit_from_dict(d: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        id=int(d["id"]),
        at=d["at"],
        actor=d["actor"],
        action=AuditAction(d["action"]),
        name=d["name"],
        version=d.get("version"),
        alias=d.get("alias"),
        before=d.get("before"),
        after=d.get("after"),
    )


def audit_page_to_dict(page: AuditPage) -> dict[str, Any]:
    return {
        "records": [audit_to_dict(a) for a in page.records],
        "next_page_token": page.next_page_token,
    }


def audit_page_from_dict(d: dict[str, Any]) -> AuditPage:
    return AuditPage([audit_from_dict(a) for a in d["records"]], d.get("next_page_token"))
