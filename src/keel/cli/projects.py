"""``keel projects``: projects, the roles granted on them, and what they hold."""

from __future__ import annotations

import typer

from keel.cli.access_target import open_target
from keel.cli.output import Json, TrackingUri, print_json, print_table, when
from keel.entities.quota import format_size

app = typer.Typer(help="Create projects and grant roles on them.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Name: letters, digits, . _ -."),
    description: str = typer.Option("", "--description"),
    tracking_uri: str = TrackingUri,
) -> None:
    """Create a project."""
    with open_target(tracking_uri) as access:
        found = access.create_project(name, description=description)
    typer.echo(f"created project {found.name!r}")


@app.command("list")
def list_projects(json: bool = Json, tracking_uri: str = TrackingUri) -> None:
    """List projects and the roles granted on each."""
    with open_target(tracking_uri) as access:
        found = access.list_projects()
        grants = access.list_grants()
    if json:
        from keel.wire.access import grant_to_dict, project_to_dict

        print_json(
            {
                "projects": [project_to_dict(p) for p in found],
                "grants": [grant_to_dict(g) for g in grants],
            }
        )
        return
    held: dict[str, list[str]] = {}
    for g in grants:
        who = f"group:{g.principal}" if g.to_group else g.principal
        held.setdefault(g.project, []).append(f"{who}={g.role.value}")
    print_table(
        None,
        ["name", "created", "grants", "used", "quota", "description"],
        [
            (
                p.name,
                when(p.created),
                ", ".join(held.get(p.name, [])),
                format_size(p.used_bytes),
                "none" if p.quota_bytes is None else format_size(p.quota_bytes),
                p.description,
            )
            for p in found
        ],
    )


@app.command("quota")
def quota(
    project: str = typer.Argument(...),
    size: str = typer.Argument(
        ..., help="Bytes its uploads may hold: 10GiB, 500MB, a number of bytes, or none."
    ),
    tracking_uri: str = TrackingUri,
) -> None:
    """Set a project's storage quota: uploads of run artifacts and dataset objects through
    the server past it are refused (413). `none` lifts it."""
    with open_target(tracking_uri) as access:
        found = access.set_quota(project, size)
    limit = "none" if found.quota_bytes is None else format_size(found.quota_bytes)
    typer.echo(f"project {found.name!r}: quota {limit}, {format_size(found.used_bytes)} in use")


GroupFlag = typer.Option(False, "--group", help="NAME is a group (keel groups), not a user.")


@app.command("grant")
def grant(
    project: str = typer.Argument(...),
    name: str = typer.Argument(..., help="User, service account, or group with --group."),
    role: str = typer.Argument(..., help="reader, editor, maintainer or admin."),
    group: bool = GroupFlag,
    tracking_uri: str = TrackingUri,
) -> None:
    """Grant a role on a project (replacing the one held)."""
    with open_target(tracking_uri) as access:
        found = access.grant(project, name, role, group=group)
    who = f"group {found.principal!r}" if group else repr(found.principal)
    typer.echo(f"{who} is {found.role.value} on project {found.project!r}")


@app.command("revoke")
def revoke(
    project: str = typer.Argument(...),
    name: str = typer.Argument(..., help="User, service account, or group with --group."),
    group: bool = GroupFlag,
    tracking_uri: str = TrackingUri,
) -> None:
    """Take away the role a principal (or group) holds on a project."""
    with open_target(tracking_uri) as access:
        access.revoke_grant(project, name, group=group)
    typer.echo(f"{name!r} holds no role on project {project!r} now")


@app.command("move")
def move(
    project: str = typer.Argument(..., help="The project to place it in."),
    experiment: str = typer.Option(None, "--experiment", help="An experiment's id."),
    model: str = typer.Option(None, "--model", help="A registered model's name."),
    dataset: str = typer.Option(None, "--dataset", help="A dataset's name."),
    deployment: str = typer.Option(None, "--deployment", help="A deployment's name."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Place an experiment (with its runs), a registered model, a dataset or a deployment
    in a project."""
    named = (
        ("experiment", experiment),
        ("model", model),
        ("dataset", dataset),
        ("deployment", deployment),
    )
    chosen = [(k, v) for k, v in named if v]
    if len(chosen) != 1:
        from keel.errors import InvalidArgument

        raise InvalidArgument("name one of --experiment, --model, --dataset or --deployment")
    kind, key = chosen[0]
    with open_target(tracking_uri) as access:
        found = access.move(kind, key, project)
    typer.echo(f"{kind} {key!r} is in project {found.name!r} now")
