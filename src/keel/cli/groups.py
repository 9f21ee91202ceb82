"""``keel groups``: principals granted roles together (``keel projects grant --group``)."""

from __future__ import annotations

import typer

from keel.cli.access_target import open_target
from keel.cli.output import Json, TrackingUri, print_json, print_table, when

app = typer.Typer(help="Create groups and manage their members.", no_args_is_help=True)


@app.command("create")
def create(name: str = typer.Argument(...), tracking_uri: str = TrackingUri) -> None:
    """Create a group."""
    with open_target(tracking_uri) as access:
        found = access.create_group(name)
    typer.echo(f"created group {found.name!r}")


@app.command("list")
def list_groups(json: bool = Json, tracking_uri: str = TrackingUri) -> None:
    """List groups and their members."""
    with open_target(tracking_uri) as access:
        found = access.list_groups()
    if json:
        from keel.wire.access import group_to_dict

        print_json([group_to_dict(g) for g in found])
        return
    print_table(
        None,
        ["name", "created", "members"],
        [(g.name, when(g.created), ", ".join(g.members)) for g in found],
    )


@app.command("add")
def add(
    group: str = typer.Argument(...),
    user: str = typer.Argument(..., help="User or service account."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Add a member: it holds every role the group is granted."""
    with open_target(tracking_uri) as access:
        access.add_member(group, user)
    typer.echo(f"{user!r} is in group {group!r}")


@app.command("remove")
def remove(
    group: str = typer.Argument(...),
    user: str = typer.Argument(..., help="User or service account."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Remove a member."""
    with open_target(tracking_uri) as access:
        access.remove_member(group, user)
    typer.echo(f"{user!r} is no longer in group {group!r}")


@app.command("delete")
def delete(group: str = typer.Argument(...), tracking_uri: str = TrackingUri) -> None:
    """Delete a group and the roles granted to it."""
    with open_target(tracking_uri) as access:
        access.delete_group(group)
    typer.echo(f"deleted group {group!r}")
