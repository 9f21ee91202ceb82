"""``keel monitors``: watch a deployment's predictions for drift, on a schedule, with alerts.

    keel monitors create fraud-drift --deployment fraud-api \\
        --reference datasets:/train@3 --every 1h \\
        --rule 'drift=dataset.drifted;for=2;severity=critical' \\
        --channel slack=https://hooks.slack.com/services/T/B/X
    keel monitors run fraud-drift
    keel monitors show fraud-drift
    keel monitors drift train.parquet window.parquet --html report.html
"""

from __future__ import annotations

import math
from typing import Any

import typer

from keel.cli import monitors_drift
from keel.cli.output import Json, TrackingUri, client, print_json, print_table, when
from keel.errors import InvalidArgument

app = typer.Typer(
    help="Drift and performance: compare two files now (drift), or monitor a deployment "
    "on a schedule, with alerts (create, run, show, ...).",
    no_args_is_help=True,
)
app.command("drift")(monitors_drift.drift)

SPARKS = "▁▂▃▄▅▆▇█"


def parse_rule(text: str) -> dict[str, Any]:
    """``NAME=CONDITION[;for=N][;severity=S][;renotify=SECONDS]``."""
    name, sep, rest = text.partition("=")
    if not sep or not name.strip():
        raise InvalidArgument(
            f"--rule {text!r}: must be NAME=CONDITION[;for=N][;severity=S][;renotify=SECONDS]"
        )
    condition, *options = rest.split(";")
    rule: dict[str, Any] = {"name": name.strip(), "condition": condition.strip()}
    keys = {"for": "for_windows", "severity": "severity", "renotify": "renotify_seconds"}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or key.strip() not in keys:
            raise InvalidArgument(
                f"--rule {text!r}: option {option!r} must be for=N, severity=S or renotify=SECONDS"
            )
        field = keys[key.strip()]
        if field == "severity":
            rule[field] = value.strip()
        elif value.strip().isdigit():
            rule[field] = int(value.strip())
        else:
            raise InvalidArgument(f"--rule {text!r}: {key.strip()} must be a whole number")
    return rule


def parse_test(text: str) -> tuple[str, str]:
    column, sep, test = text.partition("=")
    if not sep or not column or not test:
        raise InvalidArgument(f"--test {text!r}: must be COLUMN=TEST (e.g. amount=psi)")
    return column, test


@app.command("create")
def create(
    name: str = typer.Argument(..., help="The monitor's name (lowercase letters, digits, '-')."),
    deployment: str = typer.Option(..., "--deployment", "-d", help="The deployment to watch."),
    reference: str = typer.Option(
        ...,
        "--reference",
        "-r",
        help="datasets:/<name>@<version>, window:<start>/<end> (a past window of the "
        "deployment's log) or file:<path> (.parquet or a saved reference profile .json).",
    ),
    every: str = typer.Option("1h", "--every", help="How often it runs: 15m, 1h, 1d."),
    window: str | None = typer.Option(None, "--window", help="How much log a run reads."),
    columns: list[str] = typer.Option([], "--column", "-c", help="Watch only these columns."),
    tests: list[str] = typer.Option([], "--test", help="COLUMN=TEST, e.g. amount=psi."),
    rules: list[str] = typer.Option(
        [], "--rule", help="NAME=CONDITION[;for=N][;severity=S][;renotify=SECONDS]."
    ),
    channels: list[str] = typer.Option(
        [], "--channel", help="webhook=URL,secret=SECRET | slack=URL | email=ADDRESS[,ADDRESS]."
    ),
    performance: str | None = typer.Option(
        None,
        "--performance",
        help="classifier or regressor: also score each window against its labels "
        "(keel predictions feedback), as metric:<name> results and rules.",
    ),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Create a monitor; the server runs it every --every (or run it: keel monitors run)."""
    from keel.monitoring.channel_specs import parse_channel_option

    with client(tracking_uri) as c:
        monitor = c.monitors.create(
            name,
            deployment=deployment,
            reference=reference,
            every=every,
            window=window,
            columns=columns or None,
            tests=dict(parse_test(t) for t in tests),
            rules=[parse_rule(r) for r in rules],
            channels=[parse_channel_option(ch) for ch in channels],
            performance=performance,
        )
    if json:
        print_json(monitor.to_dict())
        return
    typer.echo(f"created monitor {monitor.name!r} on {deployment!r}, every {every}")


@app.command("list")
def list_monitors(json: bool = Json, tracking_uri: str = TrackingUri) -> None:
    """List monitors and when each runs next."""
    with client(tracking_uri) as c:
        found = c.monitors.list_monitors()
    if json:
        print_json({"monitors": [m.to_dict() for m in found]})
        return
    print_table(
        None,
        ["name", "deployment", "reference", "every", "next run", "firing"],
        [
            (
                m.name,
                m.spec.deployment,
                m.spec.reference,
                every_text(m.spec.every_seconds),
                when(m.next_run_at),
                ", ".join(r for r, s in m.alert_states.items() if s.get("status") == "firing"),
            )
            for m in found
        ],
    )


def sparkline(
    values: list[float | None], threshold: float | None = None, test: str | None = None
) -> str:
    """One character per window; a window without data is a space.

    With a threshold, the bars measure drift on one scale from none to twice the threshold
    (or the largest score), so the threshold sits at most halfway up, a steady drift
    stays high and a calm series stays low; a p-value test's scores are drawn as
    -log10(p), so a smaller p (more drift) is a higher bar. Without a threshold (a
    performance metric) the bars span the smallest to the largest value."""
    if threshold is not None and test is not None and _is_p_value(test):
        values = [None if v is None else -math.log10(max(v, 1e-300)) for v in values]
        threshold = -math.log10(max(threshold, 1e-300))
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    if threshold is None:
        low, high = min(known), max(known)
        if high == low:  # a steady metric: level, halfway up
            return "".join(" " if v is None else SPARKS[len(SPARKS) // 2 - 1] for v in values)
    else:
        low, high = 0.0, max(max(known), 2 * threshold)
    span = high - low
    return "".join(
        " "
        if v is None
        else SPARKS[0 if span <= 0 else min(len(SPARKS) - 1, int((v - low) / span * len(SPARKS)))]
        for v in values
    )


def _is_p_value(test: str) -> bool:
    from keel.monitoring.stattests import TESTS

    known = TESTS.get(test)
    return known is not None and known.score == "p_value"


def every_text(seconds: int) -> str:
    """3600 -> 1h, 90 -> 90s: the way --every is written."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@app.command("show")
def show(
    name: str = typer.Argument(...),
    windows: int = typer.Option(24, "--windows", "-n", help="How many recent windows to show."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """A monitor, a sparkline of each column's drift score over its recent windows, and
    its alerts."""
    from keel.monitoring.notes import drift_rule

    with client(tracking_uri) as c:
        monitor = c.monitors.get(name)
        rows = c.monitors.results(name, limit=10_000)
        alerts = c.monitors.alerts(name)
    ends = sorted({r.window_end for r in rows})[-windows:]
    if json:
        print_json(
            {
                "monitor": monitor.to_dict(),
                "results": [_row(r) for r in rows if r.window_end in set(ends)],
                "alerts": [a.to_dict() for a in alerts],
            }
        )
        return
    typer.echo(
        f"{monitor.name}: deployment {monitor.spec.deployment}, reference "
        f"{monitor.spec.reference}, every {every_text(monitor.spec.every_seconds)}, next run "
        f"{when(monitor.next_run_at)}"
    )
    if not ends:
        typer.echo(
            f"no runs yet: keel server runs it on its schedule (next at "
            f"{when(monitor.next_run_at)}); run it now with: keel monitors run {monitor.name}"
        )
    series: dict[str | None, dict[int, Any]] = {}
    for r in rows:
        if r.window_end in ends:
            series.setdefault(r.column, {})[r.window_end] = r
    table = []
    for column in sorted(series, key=lambda c: (c is not None, c or "")):
        by_end = series[column]
        latest = by_end[max(by_end)]
        scores = [by_end[e].score if e in by_end else None for e in ends]
        drifted = sum(1 for e in ends if e in by_end and by_end[e].drifted)
        metric = column is not None and column.startswith("metric:")
        table.append(
            (
                "(dataset: share drifted)" if column is None else column,
                latest.test or "",
                sparkline(scores, latest.threshold, latest.test),
                "no data"
                if latest.no_data
                else f"{latest.score:.4g}"
                if latest.score is not None
                else "",
                drift_rule(latest.test, latest.threshold) if latest.threshold is not None else "",
                "" if metric else "DRIFT" if latest.drifted else "ok",
                "" if metric else f"{drifted} of {len(ends)}",
            )
        )
    if ends:
        header = ["column", "test", f"last {len(ends)} windows", "score", "drifts when"]
        print_table(None, [*header, "latest", "drifted"], table)
    if alerts:
        print_table(
            "alerts",
            ["rule", "status", "severity", "fired", "resolved", "sent", "last error"],
            [
                (a.rule, a.status, a.severity, when(a.fired_at), when(a.resolved_at),
                 a.notifications, a.last_error or "")
                for a in alerts
            ],
        )  # fmt: skip


def _row(r: Any) -> dict[str, Any]:
    from keel.entities.monitor import result_row_to_dict

    return result_row_to_dict(r)


@app.command("run")
def run(
    name: str = typer.Argument(...), json: bool = Json, tracking_uri: str = TrackingUri
) -> None:
    """Run a monitor now, whatever its schedule."""
    with client(tracking_uri) as c:
        outcome = c.monitors.run(name)
    if json:
        print_json(outcome.to_dict())
        return
    result = outcome.result
    if result.get("no_data"):
        typer.echo(f"{name}: no predictions in the window {when(outcome.window_start)} to "
                   f"{when(outcome.window_end)}; nothing compared")  # fmt: skip
        return
    dataset = result["dataset"]
    verdict = "DRIFTED" if dataset["drifted"] else "no drift"
    typer.echo(f"{name}: {verdict} ({dataset['share']:.0%} of columns drifted)")
    for note in result.get("notes", []):
        typer.echo(f"note: {note}")
    for note in outcome.notifications:
        typer.echo(f"alert {note['rule']}: {note['status']}")
    for error in outcome.delivery_errors:
        typer.echo(f"delivery failed: {error}", err=True)


@app.command("delete")
def delete(name: str = typer.Argument(...), tracking_uri: str = TrackingUri) -> None:
    """Delete a monitor with its results and alerts (the audit log keeps its record)."""
    with client(tracking_uri) as c:
        c.monitors.delete(name)
    typer.echo(f"deleted monitor {name!r}")


@app.command("alerts")
def alerts(
    monitor: str | None = typer.Option(None, "--monitor", "-m"),
    status: str | None = typer.Option(None, "--status", help="firing or resolved"),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Alerts, newest first."""
    with client(tracking_uri) as c:
        found = c.monitors.alerts(monitor, status)
    if json:
        print_json({"alerts": [a.to_dict() for a in found]})
        return
    print_table(
        None,
        ["monitor", "rule", "status", "severity", "fired", "resolved", "sent"],
        [(a.monitor, a.rule, a.status, a.severity, when(a.fired_at), when(a.resolved_at),
          a.notifications) for a in found],
    )  # fmt: skip


@app.command("events")
def events(
    after: int = typer.Option(0, "--after", help="Only events after this id."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Events (alerts firing and resolving), oldest first: what pipelines trigger on."""
    with client(tracking_uri) as c:
        found = c.monitors.events(after_id=after)
    if json:
        print_json({"events": [e.to_dict() for e in found]})
        return
    print_table(
        None,
        ["id", "at", "kind", "monitor", "rule"],
        [(e.id, when(e.at), e.kind, e.subject, e.payload.get("rule", "")) for e in found],
    )
