"""``keel experiments``"""

from __future__ import annotations

import typer

from keel.cli.output import Json, TrackingUri, client, print_json, print_table, when

app = typer.Typer(help="Create, list and delete experiments.", no_args_is_help=True)


@app.command("list")
def list_experiments(
    view: str = typer.Option("active", help="active, deleted or all."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """List experiments."""
    from keel.entities import ViewType
    from keel.wire.experiments import experiment_to_dict

    found = client(tracking_uri).search_experiments(ViewType.parse(view))
    if json:
        print_json([experiment_to_dict(e) for e in found])
        return
    print_table(
        None,
        ["id", "name", "stage", "created", "artifact location"],
        [
            (e.experiment_id, e.name, e.lifecycle_stage, when(e.creation_time), e.artifact_location)
            for e in found
        ],
    )


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Name of the new experiment."),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE, repeatable."),
    project: str = typer.Option(None, "--project", help="Its project (default: default)."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Create an experiment."""
    tags = dict(_pair(t) for t in tag)
    experiment_id = client(tracking_uri).create_experiment(name, tags=tags, project=project)
    if json:
        print_json({"experiment_id": experiment_id, "name": name})
    else:
        typer.echo(f"created experiment {name!r} with id {experiment_id}")


@app.command("delete")
def delete(
    experiment: str = typer.Argument(..., help="Id or name of the experiment."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Delete an experiment and its runs (restorable)."""
    c = client(tracking_uri)
    experiment_id = c.resolve_experiment(experiment).experiment_id
    c.delete_experiment(experiment_id)
    typer.echo(f"deleted experiment {experiment_id}")


@app.command("restore")
def restore(
    experiment: str = typer.Argument(..., help="Id or name of the experiment."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Restore a deleted experiment and its runs."""
    c = client(tracking_uri)
    experiment_id = c.resolve_experiment(experiment).experiment_id
    c.restore_experiment(experiment_id)
    typer.echo(f"restored experiment {experiment_id}")


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        from keel.errors import InvalidArgument

        raise InvalidArgument(f"--tag {text!r}: expected KEY=VALUE")
    return key, value
