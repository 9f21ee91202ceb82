"""``keel monitors drift``: compare two files (or a saved reference profile and a file) now,
without a monitor or a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from keel.cli.output import Json, print_json, print_table


def drift(
    reference: str = typer.Argument(
        ...,
        help="The reference: a Parquet or CSV file, or a profile saved with --save-reference.",
    ),
    current: str = typer.Argument(
        ..., help="The current window: a Parquet file (read in batches) or a CSV file."
    ),
    columns: str | None = typer.Option(
        None, "--columns", help="Comma-separated columns to compare (default: all)."
    ),
    tests: list[str] = typer.Option(
        [], "--test", help="COLUMN=TEST (ks, chisquare, z, psi, wasserstein, jensenshannon)."
    ),
    thresholds: list[str] = typer.Option(
        [], "--threshold", help="COLUMN=VALUE: the column's threshold for its test."
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
    _check_output(html, "--html", ".html")
    _check_output(save_reference, "--save-reference", ".json")
    if reference.endswith(".json"):
        profile = ReferenceProfile.load(reference)
        profile = profile if names is None else profile.select(names)
    else:
        profile = ReferenceProfile.of(_table(reference, "reference"), names)
    if save_reference is not None:
        profile.save(save_reference)
    result = compare(
        profile,
        _table(current, "current"),
        columns=names,
        tests=dict(_pair(t, "--test", "amount=ks") for t in tests),
        thresholds={
            c: _number(v, c) for c, v in (_pair(t, "--threshold", "amount=0.2") for t in thresholds)
        },
    )
    if html is not None:
        html.write_text(result.to_html(), encoding="utf-8")
    if as_json:
        print_json(result.to_dict())
        return
    from rich.markup import escape

    from keel.monitoring.notes import drift_rule

    print_table(
        None,
        ["column", "kind", "test", "score", "drifts when", "verdict", "nulls (ref)"],
        [
            [
                escape(c.column),
                c.kind,
                c.test or "-",
                "-" if c.score is None else f"{c.score:.4g}",
                drift_rule(c.test, c.threshold),
                c.status if c.status != "ok" else "DRIFT" if c.drifted else "ok",
                _nulls(c.quality),
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
            f"share {dataset.share:.2f}, drifts at {dataset.threshold:g}); reference "
            f"{dataset.reference_rows:,} rows, current {dataset.current_rows:,} rows."
        )
    for line in [*result.violations, *result.notes]:
        typer.echo(f"Note: {line}")


def _table(path: str, role: str) -> Any:
    """A CSV file read as a table (polars infers the column types); anything else is
    passed on as a path, for Parquet's streamed reading and its errors."""
    if not path.lower().endswith(".csv"):
        return path
    import polars as pl

    from keel.errors import InvalidArgument

    if not Path(path).is_file():
        raise InvalidArgument(f"{role}: no such CSV file: {path}")
    try:
        return pl.read_csv(path, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"{role}: {path} is not a readable CSV file: {error}") from None


def _check_output(path: Path | None, option: str, suffix: str) -> None:
    """Refuse, before any work, a file that could not be written or read back."""
    from keel.errors import InvalidArgument

    if path is None:
        return
    if path.suffix != suffix:
        raise InvalidArgument(f"{option} {path}: must end in {suffix}")
    if not path.parent.is_dir():
        raise InvalidArgument(f"{option} {path}: no such folder {path.parent}")


def _pair(text: str, option: str, example: str) -> tuple[str, str]:
    from keel.errors import InvalidArgument

    column, sep, value = text.partition("=")
    if not sep or not column.strip() or not value.strip():
        raise InvalidArgument(f"{option} {text!r}: must be COLUMN=VALUE, e.g. {example}")
    return column.strip(), value.strip()


def _number(text: str, column: str) -> float:
    from keel.errors import InvalidArgument

    try:
        return float(text)
    except ValueError:
        raise InvalidArgument(
            f"--threshold {column}={text}: the threshold must be a number"
        ) from None


def _nulls(quality: Any) -> str:
    if quality is None or quality.rows == 0:
        return "-"
    return f"{quality.null_share:.0%} ({quality.reference_null_share:.0%})"
