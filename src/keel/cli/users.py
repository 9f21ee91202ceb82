"""``keel users``: users and service accounts.

Run on the server's machine against its database (``-t sqlite:///...`` or
``postgresql+psycopg://...``) to make the first admin; later, admins may also manage
users through the server (``-t http://...`` with their token)."""

from __future__ import annotations

import typer

from keel.cli.access_target import open_target
from keel.cli.output import Json, TrackingUri, print_json, print_table, when

app = typer.Typer(help="Create, list and disable users and service accounts.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Name: letters, digits, . _ - (case does not matter)."),
    admin: bool = typer.Option(False, "--admin", help="An admin: every role on every project."),
    service_account: bool = typer.Option(
        False, "--service-account", help="A service account (for CI and services), not a person."
    ),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Create a user and print its first API token, once (only its hash is stored)."""
    with open_target(tracking_uri) as access:
        principal, issued = access.create_principal(
            name, admin=admin, service_account=service_account
        )
    if json:
        from keel.wire.access import issued_to_dict, principal_to_dict

        print_json({"principal": principal_to_dict(principal), "token": issued_to_dict(issued)})
        return
    kind = "service account" if service_account else ("admin" if admin else "user")
    typer.echo(f"created {kind} {principal.name!r}")
    typer.echo(f"API token (shown once, keep it safe): {issued.secret}")


@app.command("list")
def list_users(json: bool = Json, tracking_uri: str = TrackingUri) -> None:
    """List users and service accounts."""
    with open_target(tracking_uri) as access:
        found = access.list_principals()
    if json:
        from keel.wire.access import principal_to_dict

        print_json([principal_to_dict(p) for p in found])
        return
    print_table(
        None,
        ["name", "kind", "admin", "created", "disabled"],
        [
            (
                p.name,
                p.kind.value,
                "yes" if p.is_admin else "",
                when(p.created),
                "yes" if p.disabled else "",
            )
            for p in found
        ],
    )


@app.command("disable")
def disable(
    name: str = typer.Argument(..., help="The user or service account."),
    enable: bool = typer.Option(False, "--enable", help="Enable it again instead."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Disable a principal: its tokens stop working (within the server's cache time)."""
    with open_target(tracking_uri) as access:
        found = access.set_disabled(name, not enable)
    typer.echo(f"{'enabled' if enable else 'disabled'} {found.name!r}")
