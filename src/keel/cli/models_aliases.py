"""``keel models alias``: point aliases at versions and guard them with required checks."""

from __future__ import annotations

import typer

from keel.cli.output import Json, TrackingUri, client, print_json, print_table

app = typer.Typer(help="Set, delete and guard a model's aliases.", no_args_is_help=True)


@app.command("set")
def set_alias(
    name: str = typer.Argument(...),
    alias: str = typer.Argument(...),
    version: int = typer.Argument(...),
    tracking_uri: str = TrackingUri,
) -> None:
    """Point ALIAS at VERSION (refused for an alias a policy guards: request a promotion)."""
    client(tracking_uri).registry.set_alias(name, alias, version)
    typer.echo(f"{name}@{alias} → {version}")


@app.command("delete")
def delete_alias(
    name: str = typer.Argument(...),
    alias: str = typer.Argument(...),
    tracking_uri: str = TrackingUri,
) -> None:
    """Remove ALIAS from the model (refused for an alias a policy guards)."""
    client(tracking_uri).registry.delete_alias(name, alias)
    typer.echo(f"deleted {name}@{alias}")


@app.command("policy")
def policy(
    name: str = typer.Argument(...),
    alias: str = typer.Argument(...),
    require: list[str] = typer.Option(
        [], "--require", help="A check the version must have passed; repeatable. None clears."
    ),
    tracking_uri: str = TrackingUri,
) -> None:
    """Guard ALIAS: it then moves only by an approved promotion of a version that passed
    the checks (none given: the guard is lifted; either way it is audited)."""
    saved = client(tracking_uri).registry.set_alias_policy(name, alias, require)
    if saved.required_checks:
        typer.echo(f"{name}@{alias} requires: {', '.join(saved.required_checks)}")
    else:
        typer.echo(f"{name}@{alias} requires no checks")


@app.command("list")
def list_aliases(
    name: str = typer.Argument(...),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """A model's aliases, their versions and the checks each requires."""
    from keel.wire.governance import policy_to_dict

    registry = client(tracking_uri).registry
    aliases = registry.get_registered_model(name).aliases
    policies = registry.get_alias_policies(name)
    if json:
        print_json({"aliases": aliases, "policies": [policy_to_dict(p) for p in policies]})
        return
    required = {p.alias: p.required_checks for p in policies}
    print_table(
        None,
        ["alias", "version", "requires"],
        [
            (alias, aliases.get(alias), ", ".join(required.get(alias, [])))
            for alias in sorted(set(aliases) | set(required))
        ],
    )
