"""Registry table rows to entities, in bulk, and the registry's keyset page tokens."""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, select

from keel.entities.audit import ResourceType
from keel.entities.json_depth import stored_json
from keel.entities.registry import (
    AuditAction,
    AuditRecord,
    CheckResult,
    ModelVersion,
    ModelVersionStatus,
    PromotionRequest,
    PromotionState,
    RegisteredModel,
)
from keel.errors import InvalidArgument
from keel.store.sql.tables import (
    check_results,
    model_aliases,
    model_version_tags,
    model_versions,
    promotion_requests,
    registered_model_tags,
    registered_models,
)


def load_models(conn: Connection, names: Sequence[str]) -> list[RegisteredModel]:
    """Whole models for ``names``, in that order, with three queries."""
    if not names:
        return []
    rows = {
        row.name: row
        for row in conn.execute(
            select(registered_models).where(registered_models.c.name.in_(names))
        )
    }
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    t = registered_model_tags.c
    for name, key, value in conn.execute(select(t.name, t.key, t.value).where(t.name.in_(names))):
        tags[name][key] = value
    aliases: dict[str, dict[str, int]] = defaultdict(dict)
    a = model_aliases.c
    for name, alias, version in conn.execute(
        select(a.name, a.alias, a.version).where(a.name.in_(names)).order_by(a.alias)
    ):
        aliases[name][alias] = version
    return [
        RegisteredModel(
            name=name,
            description=rows[name].description,
            tags=tags.get(name, {}),
            created=rows[name].created,
            updated=rows[name].updated,
            aliases=aliases.get(name, {}),
        )
        for name in names
        if name in rows
    ]


def load_versions(conn: Connection, name: str, versions: Sequence[int]) -> list[ModelVersion]:
    """Whole versions of one model, in the order of ``versions``, with three queries."""
    if not versions:
        return []
    mv = model_versions.c
    rows = {
        row.version: row
        for row in conn.execute(
            select(model_versions).where(mv.name == name, mv.version.in_(versions))
        )
    }
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    t = model_version_tags.c
    for version, key, value in conn.execute(
        select(t.version, t.key, t.value).where(t.name == name, t.version.in_(versions))
    ):
        tags[version][key] = value
    aliases: dict[int, list[str]] = defaultdict(list)
    a = model_aliases.c
    for version, alias in conn.execute(
        select(a.version, a.alias).where(a.name == name, a.version.in_(versions)).order_by(a.alias)
    ):
        aliases[version].append(alias)
    p = promotion_requests.c
    approved = dict(
        conn.execute(
            select(p.version, p.approved_digest)
            .where(p.name == name, p.version.in_(versions), p.approved_digest.is_not(None))
            .distinct()
        ).all()
    )
    return [
        ModelVersion(
            name=name,
            version=v,
            source=rows[v].source,
            run_id=rows[v].run_id,
            content_hash=rows[v].content_hash,
            status=ModelVersionStatus(rows[v].status),
            description=rows[v].description,
            tags=tags.get(v, {}),
            signature=rows[v].signature,
            parent_version=rows[v].parent_version,
            created=rows[v].created,
            updated=rows[v].updated,
            created_by=rows[v].created_by,
            aliases=aliases.get(v, []),
            # A version's digest never changes, so an approval of it is of this digest;
            # compared anyway, so that trust never outlives the bytes it was granted to.
            approved_digest=(
                rows[v].content_hash if approved.get(v) == rows[v].content_hash else None
            ),
        )
        for v in versions
        if v in rows
    ]


CHECK_COLUMNS = (
    check_results.c.name,
    check_results.c.version,
    check_results.c.check_name,
    check_results.c.passed,
    check_results.c.details,
    check_results.c.created,
    check_results.c.created_by,
)


def check_result(row: Sequence[Any]) -> CheckResult:
    return CheckResult(
        name=row[0],
        version=row[1],
        check=row[2],
        passed=bool(row[3]),
        details=stored_json(row[4]),  # one stored too deep before the limit reads as None
        created=row[5],
        created_by=row[6],
    )


def promotion_request(row: Any) -> PromotionRequest:
    return PromotionRequest(
        id=row.id,
        name=row.name,
        version=row.version,
        alias=row.alias,
        requested_by=row.requested_by,
        state=PromotionState(row.state),
        reviewer=row.reviewer,
        comment=row.comment,
        created=row.created,
        decided=row.decided,
        approved_digest=row.approved_digest,
    )


def load_request(conn: Connection, request_id: int) -> PromotionRequest | None:
    row = conn.execute(
        select(promotion_requests).where(promotion_requests.c.id == request_id)
    ).first()
    return None if row is None else promotion_request(row)


def audit_record(row: Any) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=AuditAction(row.action),
        name=row.resource,
        version=row.version,
        alias=row.alias,
        before=from_json(row.before),
        after=from_json(row.after),
        resource_type=ResourceType(row.resource_type),
        request_id=row.request_id,
    )


def to_json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def from_json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


# keyset page tokens: the sort key of the last row of the page, tagged with what it pages


def encode_token(kind: str, after: str | int) -> str:
    raw = orjson.dumps({"kind": kind, "after": after})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(kind: str, token: str | None, expect: type) -> Any:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        found = orjson.loads(base64.urlsafe_b64decode(padded))
        if found["kind"] == kind and type(found["after"]) is expect:
            return found["after"]
    except Exception:
        pass
    raise InvalidArgument(f"page_token: not a token returned by a listing of {kind}")
