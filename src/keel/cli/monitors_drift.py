"""``keel monitors drift``: compare two files (or a saved reference profile and a file) now,
without a monitor or a server."""

from __future__ import annotations

from pathlib import Path

import typer

from keel.cli.output import Json, print_json, print_table


def drift(
    reference: str = typer.Argument(
        ..., help="The reference: a Parquet file, or a profile saved with --save-reference."
    ),
    current: str = typer.Argument(..., help="The current window: a Parquet file."),
    columns: str | None = typer.Option(
        None, "--columns", help="Comma-separated columns to compare (default: all)."
    ),
    as_json: bool = Json,
    html: Path | None = typer.Option(
        None, "--html", help="Also write a self-contained HTML report to this file."
    ),
    save_reference: Path | None = typer.Option(
        None,
        "--save-reference",
        help="Save the reference's statistics as JSON, to pass later in place of it.",
    ),
) -> None:
    """Test every column of CURRENT for drift from REFERENCE (Evidently's default tests
    and thresholds) and print the verdicts."""
    from keel.monitoring import ReferenceProfile
    from keel.monitoring import drift as compare

    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if reference.endswith(".json"):
        profile = ReferenceProfile.load(reference)
        profile = profile if names is None else profile.select(names)
    else:
        profile = ReferenceProfile.of(reference, names)
    if save_reference is not None:
        profile.save(save_reference)
    result = compare(profile, current, columns=names)
    if html is not None:
        html.write_text(result.to_html(), encoding="utf-8")
    if as_json:
        print_json(result.to_dict())
        return
    from rich.markup import escape

    print_table(
        None,
        ["column", "kind", "test", "score", "threshold", "drifted"],
        [
            [
                escape(c.column),
                c.kind,
                c.test or "-",
                c.status if c.score is None else f"{c.score:.4g}",
                "-" if c.threshold is None else f"{c.threshold:g}",
                "yes" if c.drifted else "no",
            ]
            for c in result.columns
        ],
    )
    dataset = result.dataset
    if dataset.status != "ok":
        typer.echo("Dataset: no data in the current window.")
    else:
        verdict = "drifted" if dataset.drifted else "no drift"
        typer.echo(
            f"Dataset: {verdict} ({dataset.drifted_columns} of {dataset.columns} columns, "
            f"share {dataset.share:.2f}, threshold {dataset.threshold:g})."
        )
