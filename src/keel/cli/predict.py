"""``keel predict``: score a Parquet or CSV file with a registered model, here or on Ray."""

from __future__ import annotations

from pathlib import Path

import typer

from keel.cli.output import Json, TrackingUri, print_json

ON = ("local", "ray")


def predict(
    model: str = typer.Argument(
        ..., help="models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/PATH."
    ),
    input_path: Path = typer.Option(
        ...,
        "--input",
        "-i",
        help="Rows to score: a .parquet or .csv file (a folder of Parquet files with --on ray).",
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Where the predictions go: a file (a folder with --on ray)."
    ),
    output_format: str = typer.Option(
        None, "--format", help="Output format, csv or parquet (default: the output's suffix)."
    ),
    chunk_rows: int = typer.Option(
        50_000, "--chunk-rows", min=1, help="Rows read, scored and written at a time."
    ),
    keep: list[str] = typer.Option(
        [], "--keep", help="An input column copied to the output (an id to join on); repeatable."
    ),
    on: str = typer.Option("local", "--on", help="Where to score: local or ray."),
    ray_address: str = typer.Option(
        None,
        "--ray-address",
        help="A Ray cluster to join (ray://host:10001 or auto); default: start a local one.",
    ),
    concurrency: int = typer.Option(
        2, "--concurrency", min=1, help="With --on ray: scoring actors (each loads the model once)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    trust: bool = typer.Option(
        False, "--trust", help="Load a pickle-based model (it can run code: only your own)."
    ),
    tracking_uri: str = TrackingUri,
    as_json: bool = Json,
) -> None:
    """Score every row of a file and write the predictions with their ids and the model
    version; nothing is written to --output unless every row is scored."""
    if on not in ON:
        raise typer.BadParameter(f"must be one of {', '.join(ON)}, got {on!r}", param_hint="--on")
    if on == "local" and ray_address is not None:
        raise typer.BadParameter("only with --on ray", param_hint="--ray-address")
    if on == "ray":
        from keel.serving.ray_batch import predict_on_ray

        result = predict_on_ray(
            model,
            input_path,
            output,
            batch_rows=chunk_rows,
            keep=keep,
            concurrency=concurrency,
            ray_address=ray_address,
            overwrite=overwrite,
            trust=trust,
            tracking_uri=tracking_uri,
            output_format=output_format,
        )
    else:
        from keel.cli.progress import scoring
        from keel.serving.batch import predict_file

        resume = f"nothing was written to {str(output)!r}; run the same command again"
        with scoring("scoring", resume=resume) as bar:
            result = predict_file(
                model,
                input_path,
                output,
                output_format=output_format,
                chunk_rows=chunk_rows,
                keep=keep,
                overwrite=overwrite,
                trust=trust,
                tracking_uri=tracking_uri,
                progress=bar,
            )
    if as_json:
        print_json(
            {
                "output": str(result.output),
                "rows": result.rows,
                "model_uri": result.model_uri,
                "model_name": result.model_name,
                "model_version": result.model_version,
            }
        )
        return
    by = (
        result.model_uri
        if result.model_name is None
        else f"{result.model_name} version {result.model_version}"
    )
    typer.echo(f"scored {result.rows:,} rows with {by} into {result.output}")
