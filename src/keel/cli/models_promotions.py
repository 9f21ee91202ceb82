"""``keel models promote``: ask for an alias to move; someone else approves or rejects."""

from __future__ import annotations

import typer

from keel.cli.output import Json, TrackingUri, client, print_json, print_table, when

app = typer.Typer(
    help="Promotion requests: one user asks for an alias to move, another decides.",
    no_args_is_help=True,
)


@app.command("request")
def request(
    name: str = typer.Argument(...),
    version: int = typer.Argument(...),
    to: str = typer.Option(..., "--to", help="The alias to move to VERSION."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Open a request to point --to ALIAS at VERSION; prints the request's id."""
    opened = client(tracking_uri).registry.request_promotion(name, version, to)
    typer.echo(f"opened promotion request {opened.id}: {name}/{version} → @{to}")


@app.command("approve")
def approve(
    request_id: int = typer.Argument(..., metavar="ID"),
    comment: str = typer.Option(None, "--comment", "-m"),
    tracking_uri: str = TrackingUri,
) -> None:
    """Approve a request (not your own): the alias moves and the version is APPROVED."""
    decided = client(tracking_uri).registry.approve(request_id, comment)
    typer.echo(f"approved request {decided.id}: {decided.name}@{decided.alias} → {decided.version}")


@app.command("reject")
def reject(
    request_id: int = typer.Argument(..., metavar="ID"),
    comment: str = typer.Option(None, "--comment", "-m"),
    tracking_uri: str = TrackingUri,
) -> None:
    """Reject a request (not your own)."""
    decided = client(tracking_uri).registry.reject(request_id, comment)
    typer.echo(f"rejected request {decided.id}: {decided.name}/{decided.version}")


@app.command("cancel")
def cancel(
    request_id: int = typer.Argument(..., metavar="ID"),
    tracking_uri: str = TrackingUri,
) -> None:
    """Withdraw an open request."""
    cancelled = client(tracking_uri).registry.cancel(request_id)
    typer.echo(f"cancelled request {cancelled.id}")


@app.command("list")
def list_requests(
    name: str = typer.Argument(None, help="Only this model."),
    state: str = typer.Option(None, "--state", help="OPEN, APPROVED, REJECTED or CANCELLED."),
    max_results: int = typer.Option(100, "--max-results", "-n"),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """List promotion requests, all states unless --state."""
    from keel.wire.governance import request_to_dict

    found = client(tracking_uri).registry.list_promotion_requests(
        name, state=state, max_results=max_results
    )
    if json:
        print_json([request_to_dict(r) for r in found])
        return
    print_table(
        None,
        [
            "id",
            "model",
            "version",
            "alias",
            "state",
            "requested by",
            "opened",
            "reviewer",
            "comment",
        ],
        [
            (
                r.id,
                r.name,
                r.version,
                r.alias,
                r.state,
                r.requested_by,
                when(r.created),
                r.reviewer,
                r.comment,
            )
            for r in found
        ],
    )
