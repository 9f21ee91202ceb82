"""``keel models validate`` and ``keel models card``: checks recorded on a version, and its
model card."""

from __future__ import annotations

from pathlib import Path

import typer

from keel.cli.output import Json, TrackingUri, client, print_json, print_table


def validate(
    ref: str = typer.Argument(..., metavar="NAME/VERSION|NAME@ALIAS", help="The candidate."),
    data: Path = typer.Option(..., "--data", exists=True, help="Held-out CSV or Parquet file."),
    target: str = typer.Option(..., "--target", help="Column holding the true values."),
    baseline: str = typer.Option(
        "champion", "--baseline", help="Alias or version to compare with; 'none' for none."
    ),
    metric: list[str] = typer.Option(
        [], "--metric", help="NAME=MIN_DELTA (e.g. accuracy=0.01; rmse=0 means no worse)."
    ),
    max_latency_ms: float = typer.Option(None, "--max-latency-ms", help="Per-row p95 limit."),
    task: str = typer.Option("classification", help="classification or regression."),
    trust: bool = typer.Option(False, "--trust", help="Allow pickle-based model formats."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Compare a candidate with the baseline on held-out data; record every check on the
    candidate (integrity, signature, metric.*, latency, validation). Exit 1 if one fails."""
    from keel.cli.models import resolve_version
    from keel.errors import InvalidArgument

    registry = client(tracking_uri).registry
    version = resolve_version(registry, ref)
    thresholds: dict[str, object] = {}
    for item in metric:
        name, sep, value = item.partition("=")
        try:
            thresholds[name] = float(value)
        except ValueError:
            raise InvalidArgument(f"--metric {item!r}: expected NAME=NUMBER") from None
        if not sep or not name:
            raise InvalidArgument(f"--metric {item!r}: expected NAME=NUMBER")
    base: str | int | None = None if baseline.lower() == "none" else baseline
    if isinstance(base, str) and base.isdigit():
        base = int(base)
    report = registry.validate(
        version.name,
        version.version,
        data,
        target,
        baseline=base,
        metrics=thresholds or None,
        max_latency_ms=max_latency_ms,
        task=task,
        trust=trust,
    )
    if json:
        print_json(report.to_dict())
    else:
        print_table(
            f"{version.name}/{version.version} vs "
            f"{'no baseline' if report.baseline_version is None else report.baseline_version}",
            ["check", "result", "details"],
            [
                (c.check, "passed" if c.passed else "FAILED", _summary(c.details))
                for c in report.checks
            ],
        )
    if not report.passed:
        raise typer.Exit(1)


def card(
    ref: str = typer.Argument(..., metavar="NAME/VERSION|NAME@ALIAS"),
    html: bool = typer.Option(False, "--html", help="A self-contained HTML page."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to a file."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Render the version's model card (Markdown, or HTML with --html)."""
    from keel.cli.models import resolve_version

    registry = client(tracking_uri).registry
    version = resolve_version(registry, ref)
    text = registry.card(version.name, version.version, fmt="html" if html else "markdown")
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


def _summary(details: dict[str, object]) -> str:
    message = details.get("message")
    if isinstance(message, str):
        return message
    return ", ".join(f"{key}={value}" for key, value in details.items())
