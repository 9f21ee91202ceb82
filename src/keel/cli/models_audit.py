"""``keel models audit``: who changed what in the registry, and when."""

from __future__ import annotations

import json as jsonlib
from datetime import UTC, datetime
from typing import Any

import typer

from keel.cli.output import Json, TrackingUri, client, print_json, print_table, when


def audit(
    name: str = typer.Argument(None, help="Only this model."),
    action: str = typer.Option(None, "--action", help="e.g. alias.set, promotion.approve."),
    actor: str = typer.Option(None, "--actor", help="Only changes by this user."),
    since: str = typer.Option(None, "--since", help="ISO time (UTC if no zone) or epoch ms."),
    max_results: int = typer.Option(1000, "--max-results", "-n"),
    page_token: str = typer.Option(None, "--page-token"),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """The registry's audit trail, oldest first."""
    from keel.wire.governance import audit_page_to_dict

    registry = client(tracking_uri).registry
    page = registry.list_audit(
        name,
        action=action,
        actor=actor,
        since=_parse_since(since),
        max_results=max_results,
        page_token=page_token,
    )
    if json:
        print_json(audit_page_to_dict(page))
        return
    print_table(
        None,
        ["at", "actor", "action", "model", "version", "alias", "change"],
        [
            (
                when(r.at),
                r.actor,
                r.action,
                r.name,
                r.version,
                r.alias,
                _change(r.before, r.after),
            )
            for r in page.records
        ],
    )
    if page.next_page_token:
        typer.echo(f"more records: --page-token {page.next_page_token}")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else jsonlib.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:39] + "…"


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
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


def _parse_since(value: str | None) -> int | None:
    from keel.errors import InvalidArgument

    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(
            f"--since {value!r}: must be an ISO time (2024-05-01T12:00) or epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
