"""``keel models audit``: who changed what in the registry, and when (``keel audit``
reads the whole log, every store's)."""

from __future__ import annotations

import typer

from keel.cli.audit import change_summary, parse_time
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
        since=parse_time(since),
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
                change_summary(r.before, r.after),
            )
            for r in page.records
        ],
    )
    if page.next_page_token:
        typer.echo(f"more records: --page-token {page.next_page_token}")
