"""``keel tokens``: API tokens. Against a server (``-t http://...``) they are the caller's
own (an admin may name another's with ``--user``); against the database, name the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keel.cli.access_target import open_target
from keel.cli.output import Json, TrackingUri, print_json, print_table, when

if TYPE_CHECKING:
    from keel.entities.access import IssuedToken

app = typer.Typer(help="Create, list, revoke and rotate API tokens.", no_args_is_help=True)
User = typer.Option(None, "--user", "-u", help="Whose tokens (default: yours, on a server).")


def _print_issued(issued: IssuedToken, json: bool, verb: str) -> None:
    if json:
        from keel.wire.access import issued_to_dict

        print_json(issued_to_dict(issued))
        return
    typer.echo(f"{verb} token {issued.token.token_id} for {issued.token.principal!r}")
    typer.echo(f"API token (shown once, keep it safe): {issued.secret}")


@app.command("create")
def create(
    name: str = typer.Option("token", "--name", help="What the token is for."),
    user: str = User,
    expires_in_days: float = typer.Option(None, "--expires-in-days", help="Default: never."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Create a token and print it, once."""
    with open_target(tracking_uri) as access:
        issued = access.issue_token(user, name=name, expires_in_days=expires_in_days)
    _print_issued(issued, json, "created")


@app.command("list")
def list_tokens(user: str = User, json: bool = Json, tracking_uri: str = TrackingUri) -> None:
    """List tokens (never their values)."""
    with open_target(tracking_uri) as access:
        found = access.list_tokens(user)
    if json:
        from keel.wire.access import token_to_dict

        print_json([token_to_dict(t) for t in found])
        return
    print_table(
        None,
        ["id", "user", "name", "created", "expires", "revoked", "last used"],
        [
            (
                t.token_id,
                t.principal,
                t.name,
                when(t.created),
                when(t.expires_at),
                when(t.revoked_at),
                when(t.last_used_at),
            )
            for t in found
        ],
    )


@app.command("revoke")
def revoke(
    token_id: str = typer.Argument(..., help="The token's id (keel tokens list)."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Revoke a token: it stops working at once on this server (within the server's cache
    time when revoked on the database)."""
    with open_target(tracking_uri) as access:
        found = access.revoke_token(token_id)
    typer.echo(f"revoked token {found.token_id} of {found.principal!r}")


@app.command("rotate")
def rotate(
    token_id: str = typer.Argument(..., help="The token to replace."),
    grace: float = typer.Option(
        86_400, "--grace", min=0, help="Seconds the old token keeps working (default a day)."
    ),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Issue a new token in place of another, which keeps working for the grace period."""
    with open_target(tracking_uri) as access:
        issued = access.rotate_token(token_id, grace_seconds=grace)
    _print_issued(issued, json, "issued")
