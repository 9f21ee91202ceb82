"""Check results and the alias policies that require them.

A result is appended, never replaced: the latest result of each check for a version is
the one a policy looks at, so a check that failed and then passed lets the alias move, and
one that passed and then failed stops it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select

from keel.entities.registry import AliasPolicy, AuditAction
from keel.store.sql.audit import Change
from keel.store.sql.registry_rows import to_json
from keel.store.sql.tables import alias_policy_checks, check_results


def unmet_checks(conn: Connection, name: str, alias: str, version: int) -> list[str]:
    """The alias's required checks whose latest result for ``version`` is not a pass,
    each as ``"<check> (failed)"`` or ``"<check> (missing)"``, in one query."""
    cr = check_results.c
    p = alias_policy_checks.c
    latest = (
        select(cr.check_name, func.max(cr.id).label("id"))
        .where(cr.name == name, cr.version == version)
        .group_by(cr.check_name)
        .subquery()
    )
    query = (
        select(p.check_name, cr.passed)
        .select_from(
            alias_policy_checks.outerjoin(latest, latest.c.check_name == p.check_name).outerjoin(
                check_results, cr.id == latest.c.id
            )
        )
        .where(p.name == name, p.alias == alias)
        .order_by(p.check_name)
    )
    return [
        f"{check} ({'missing' if passed is None else 'failed'})"
        for check, passed in conn.execute(query)
        if not passed
    ]


def required_checks(conn: Connection, name: str, alias: str) -> list[str]:
    """The checks the alias's policy requires; empty when no policy guards it."""
    p = alias_policy_checks.c
    return list(
        conn.execute(
            select(p.check_name).where(p.name == name, p.alias == alias).order_by(p.check_name)
        ).scalars()
    )


def append_check(
    change: Change, version: int, check: str, passed: bool, details: dict[str, Any] | None
) -> None:
    change.conn.execute(
        check_results.insert().values(
            name=change.name,
            version=version,
            check_name=check,
            passed=passed,
            details=to_json(details),
            created=change.now,
            created_by=change.actor,
        )
    )
    change.record(
        AuditAction.CHECK_RECORD, version=version, after={"check": check, "passed": passed}
    )


def replace_policy(change: Change, alias: str, required: list[str]) -> None:
    """Make ``required`` (sorted, distinct) the alias's checks; empty lifts the guard."""
    p = alias_policy_checks.c
    where = (p.name == change.name) & (p.alias == alias)
    before = required_checks(change.conn, change.name, alias)
    if before == required:
        return
    change.conn.execute(delete(alias_policy_checks).where(where))
    if required:
        change.conn.execute(
            alias_policy_checks.insert(),
            [{"name": change.name, "alias": alias, "check_name": c} for c in required],
        )
    change.record(
        AuditAction.ALIAS_POLICY_SET,
        alias=alias,
        before={"required_checks": before},
        after={"required_checks": required},
    )


def load_policies(conn: Connection, name: str) -> list[AliasPolicy]:
    p = alias_policy_checks.c
    found = conn.execute(
        select(p.alias, p.check_name).where(p.name == name).order_by(p.alias, p.check_name)
    ).all()
    policies: dict[str, list[str]] = {}
    for alias, check in found:
        policies.setdefault(alias, []).append(check)
    return [AliasPolicy(name, alias, checks) for alias, checks in policies.items()]
