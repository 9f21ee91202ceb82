"""``keel lineage <prediction-id>``: a prediction back to the model version, the run, the
dataset versions and the git commit that made it."""

from __future__ import annotations

import typer

from keel.cli.output import Json, TrackingUri, client, print_json


def lineage(
    prediction_id: str = typer.Argument(..., help="A prediction's id (32 hex characters)."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Where a prediction came from: deployment, model version, run, dataset versions and
    the git commit."""
    from keel.serving.lineage import trace_prediction

    with client(tracking_uri) as keel_client:
        backend = keel_client.backend
        found = trace_prediction(
            prediction_id.strip().lower(),
            files=backend.prediction_files,
            registry=backend.registry,
            tracking=backend.tracking,
            datasets=backend.datasets,
        )
    if json:
        print_json(found.to_dict())
        return
    for line in found.lines():
        typer.echo(line)
