"""What governs a registered model, on the wire: alias policies, check results, promotion
requests (``/api/v1/registered-models/{name}/...``, ``/api/v1/promotion-requests``) and
the audit log (``/api/v1/audit``). The acting user is the ``X-Keel-User`` header."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from keel.entities.audit import ResourceType
from keel.entities.registry import (
    AliasPolicy,
    AuditAction,
    AuditPage,
    AuditRecord,
    CheckResult,
    PromotionRequest,
    PromotionState,
)
from keel.wire.base import Strict

RequestState = Literal["OPEN", "APPROVED", "REJECTED", "CANCELLED"]


# aliases and their policies -------------------------------------------------------------


ResourceTypeName = Literal[
    "model",
    "experiment",
    "run",
    "dataset",
    "deployment",
    "user",
    "token",
    "project",
    "grant",
    "group",
    "monitor",
]
"""What an audit record may be about (``keel.entities.audit.ResourceType``'s values)."""


class AliasSet(Strict):
    version: StrictInt


class AliasPolicySet(Strict):
    required_checks: list[str] = Field(description="Empty lifts the guard.")


class AliasPolicyPublic(BaseModel):
    name: str
    alias: str
    required_checks: list[str]


class AliasPolicyList(BaseModel):
    policies: list[AliasPolicyPublic]


def policy_to_dict(p: AliasPolicy) -> dict[str, Any]:
    return {"name": p.name, "alias": p.alias, "required_checks": p.required_checks}


def policy_from_dict(d: dict[str, Any]) -> AliasPolicy:
    return AliasPolicy(d["name"], d["alias"], list(d.get("required_checks") or []))


# checks ---------------------------------------------------------------------------------


class CheckCreate(Strict):
    check: str
    passed: StrictBool
    details: dict[str, Any] | None = None


class CheckPublic(BaseModel):
    name: str
    version: int
    check: str
    passed: bool
    details: dict[str, Any] | None
    created: int
    created_by: str


class CheckList(BaseModel):
    checks: list[CheckPublic]


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


# promotion requests ---------------------------------------------------------------------


class PromotionRequestCreate(Strict):
    version: StrictInt
    alias: str


class PromotionDecision(Strict):
    approve: StrictBool
    comment: str | None = None


class PromotionRequestPublic(BaseModel):
    id: int
    name: str
    version: int
    alias: str
    requested_by: str
    state: RequestState
    reviewer: str | None
    comment: str | None
    created: int
    decided: int | None
    approved_digest: str | None = Field(
        default=None,
        description="Set on an approval to an alias guarded by a policy: the version's "
        "digest as approved, which trust by review is granted to.",
    )


class PromotionRequestList(BaseModel):
    requests: list[PromotionRequestPublic]


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
        "approved_digest": r.approved_digest,
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
        approved_digest=d.get("approved_digest"),
    )


# audit ----------------------------------------------------------------------------------


class AuditRecordPublic(BaseModel):
    id: int
    at: int
    actor: str
    action: str
    name: str
    version: int | None
    alias: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    resource_type: ResourceTypeName
    request_id: str | None


class AuditPagePublic(BaseModel):
    records: list[AuditRecordPublic]
    next_page_token: str | None


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
        "resource_type": a.resource_type.value,
        "request_id": a.request_id,
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
        resource_type=ResourceType(d.get("resource_type") or "model"),
        request_id=d.get("request_id"),
    )


def audit_page_to_dict(page: AuditPage) -> dict[str, Any]:
    return {
        "records": [audit_to_dict(a) for a in page.records],
        "next_page_token": page.next_page_token,
    }


def audit_page_from_dict(d: dict[str, Any]) -> AuditPage:
    return AuditPage([audit_from_dict(a) for a in d["records"]], d.get("next_page_token"))
