"""``keel audit``: who changed what, when, and in which request, across the store:
experiments, runs' lifecycle, registered models and their versions, aliases, policies,
checks, promotion decisions, datasets, and users, tokens, projects, grants and groups.
Read-only; the log cannot be changed."""

from __future__ import annotations

import json as jsonlib
from datetime import UTC, datetime
from typing import Any

import typer

from keel.cli.output import Json, TrackingUri, client, print_json, print_table, when


def audit(
    resource: str = typer.Option(
        None,
        "--resource",
        "-r",
        help="A model's, dataset's, deployment's, user's, project's or group's name, an "
        "experiment's, "
        "run's or token's id.",
    ),
    resource_type: str = typer.Option(
        None,
        "--resource-type",
        help="model, experiment, run, dataset, deployment, user, token, project, grant or group.",
    ),
    action: str = typer.Option(None, "--action", help="e.g. alias.set, run.delete."),
    actor: str = typer.Option(None, "--actor", help="Only changes by this user."),
    since: str = typer.Option(None, "--since", help="ISO time (UTC if no zone) or epoch ms."),
    until: str = typer.Option(None, "--until", help="Before this time; as --since."),
    limit: int = typer.Option(1000, "--limit", "-n", help="At most this many records."),
    page_token: str = typer.Option(None, "--page-token"),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """The audit log, oldest first, filtered."""
    from keel.wire.governance import audit_page_to_dict

    with client(tracking_uri) as keel_client:
        page = keel_client.registry.list_audit(
            resource,
            resource_type=resource_type,
            action=action,
            actor=actor,
            since=parse_time(since, "--since"),
            until=parse_time(until, "--until"),
            max_results=limit,
            page_token=page_token,
        )
    if json:
        print_json(audit_page_to_dict(page))
        return
    print_table(
        None,
        ["at", "actor", "action", "type", "resource", "version", "alias", "change", "request"],
        [
            (
                when(r.at),
                r.actor,
                r.action,
                r.resource_type,
                r.name,
                r.version,
                r.alias,
                change_summary(r.before, r.after),
                r.request_id or "",
            )
            for r in page.records
        ],
    )
    if page.next_page_token:
        typer.echo(f"more records: --page-token {page.next_page_token}")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else jsonlib.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:39] + "…"


def change_summary(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """What changed, field by field: ``status: PENDING_REVIEW→APPROVED``."""
    before, after = before or {}, after or {}
    parts = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key not in before:
            if new in (None, "", {}, []):
                continue  # a creation's empty fields say nothing
            parts.append(f"{key}={_short(new)}")
        elif key not in after:
            parts.append(f"-{key}")
        else:
            parts.append(f"{key}: {_short(old)}→{_short(new)}")
    return "; ".join(parts)


def parse_time(value: str | None, option: str = "--since") -> int | None:
    from keel.errors import InvalidArgument

    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(
            f"{option} {value!r}: must be an ISO time (2024-05-01T12:00) or epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
