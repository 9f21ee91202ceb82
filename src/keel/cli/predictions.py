"""``keel predictions``: read the prediction log (``list``, ``export``) and attach labels
to earlier predictions (``feedback``)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import typer

from keel.cli.output import Json, TrackingUri, client, print_json, print_table, when

app = typer.Typer(
    help="The prediction log: what deployed models answered, and the labels that came later.",
    no_args_is_help=True,
)

Deployment = typer.Option(..., "--deployment", "-d", help="The deployment's name.")
Since = typer.Option(
    None, "--since", help="From: a duration back from now (30m, 1h, 7d) or an ISO time (UTC)."
)
Until = typer.Option(None, "--until", help="Before: as --since.")

_AGO = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_moment(value: str | None, option: str, *, now_ms: int | None = None) -> int | None:
    """Milliseconds since the epoch: ``1h`` (an hour ago), an ISO time or epoch ms.

    >>> parse_moment("2h", "--since", now_ms=10_000_000)
    2800000
    """
    if value is None:
        return None
    found = _AGO.fullmatch(value.strip().lower())
    if found is not None:
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return now - int(found[1]) * _UNIT_MS[found[2]]
    from keel.cli.audit import parse_time
    from keel.errors import InvalidArgument

    try:
        return parse_time(value, option)
    except InvalidArgument:
        raise InvalidArgument(
            f"{option} {value!r}: must be a duration back from now (30m, 1h, 7d, 2w), "
            "an ISO time (2026-05-01T12:00, UTC without a zone) or epoch milliseconds"
        ) from None


@app.command("list")
def list_predictions(
    deployment: str = Deployment,
    since: str = Since,
    until: str = Until,
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="The newest this many."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """The newest predictions of a deployment, newest first."""
    from keel.predictions.reader import json_rows, read_predictions

    with client(tracking_uri) as keel_client:
        frame = read_predictions(
            keel_client.backend.prediction_files,
            deployment,
            parse_moment(since, "--since"),
            parse_moment(until, "--until"),
        )
        rows = json_rows(frame.tail(limit).reverse().collect())  # read in time order
    if json:
        print_json(rows)
        return
    if not rows:
        window = f" from {since}" if since else ""
        window += f" until {until}" if until else ""
        typer.echo(f"no predictions of {deployment!r}{window}", err=True)
        return
    print_table(
        None,
        ["prediction id", "time", "model", "prediction", "latency ms", "inputs"],
        [
            (
                r["prediction_id"],
                when(r["time"]),
                f"{r['model_name']}/{r['model_version']}" + (" (shadow)" if r["shadow"] else ""),
                r["prediction"],
                f"{r['latency_ms']:.2f}",
                _inputs(r),
            )
            for r in rows
        ],
    )


def _inputs(row: dict[str, Any]) -> str:
    text = ", ".join(
        f"{k[6:]}={v:.6g}" if isinstance(v, float) else f"{k[6:]}={v}"
        for k, v in row.items()
        if k.startswith("input.")
    )
    return text if len(text) <= 80 else text[:79] + "…"


@app.command("export")
def export(
    deployment: str = Deployment,
    output: Path = typer.Option(..., "--output", "-o", help="out.parquet or out.csv"),
    since: str = Since,
    until: str = Until,
    with_feedback: bool = typer.Option(
        False, "--with-feedback", help="Add each prediction's latest label (label, feedback_time)."
    ),
    tracking_uri: str = TrackingUri,
) -> None:
    """Write a deployment's predictions (in time order) to a Parquet or CSV file."""
    from keel.errors import InvalidArgument
    from keel.predictions.export import write_frame
    from keel.predictions.reader import read_feedback, read_predictions
    from keel.predictions.reader import with_feedback as join_feedback

    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InvalidArgument(f"--output {str(output)!r}: must end in .parquet or .csv")
    start, end = parse_moment(since, "--since"), parse_moment(until, "--until")
    with client(tracking_uri) as keel_client:
        files = keel_client.backend.prediction_files
        frame = read_predictions(files, deployment, start, end)
        if with_feedback:  # labels arrive after their predictions: no upper bound
            frame = join_feedback(frame, read_feedback(files, deployment, start))
        rows = write_frame(frame.collect(), output)
    typer.echo(f"wrote {rows} predictions to {output}")


@app.command("feedback")
def feedback(
    labels: list[str] = typer.Argument(..., help="PREDICTION_ID=LABEL, one or more."),
    deployment: str = Deployment,
    tracking_uri: str = TrackingUri,
) -> None:
    """Attach labels to earlier predictions: numbers when every label is one, else text."""
    from keel.predictions import log_feedback

    ids, values = parse_labels(labels)
    count = log_feedback(deployment, ids, values, tracking_uri=tracking_uri)
    typer.echo(f"logged {count} labels for {deployment}")


def parse_labels(pairs: list[str]) -> tuple[list[str], list[Any]]:
    """``ID=LABEL`` pairs as ids and labels: numbers when every label reads as one.

    >>> parse_labels(["a=1", "b=0.5"])
    (['a', 'b'], [1.0, 0.5])
    >>> parse_labels(["a=fraud", "b=1"])
    (['a', 'b'], ['fraud', '1'])
    """
    from keel.errors import InvalidArgument

    ids, texts = [], []
    for pair in pairs:
        pid, sep, label = pair.partition("=")
        if not sep or not pid.strip() or not label.strip():
            raise InvalidArgument(f"label {pair!r}: write PREDICTION_ID=LABEL")
        ids.append(pid.strip().lower())
        texts.append(label.strip())
    try:
        numbers = [float(t) for t in texts]
    except ValueError:
        return ids, list(texts)
    if any(n != n or n in (float("inf"), float("-inf")) for n in numbers):
        return ids, list(texts)
    return ids, list(numbers)
