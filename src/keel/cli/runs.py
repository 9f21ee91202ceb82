"""``keel runs``"""

from __future__ import annotations

from typing import Any

import typer

from keel.cli.output import Json, TrackingUri, client, duration, print_json, print_table, when

app = typer.Typer(help="Find, inspect, compare and delete runs.", no_args_is_help=True)

Experiments = typer.Option(..., "--experiment", "-e", help="Experiment id or name; repeatable.")


def _experiment_ids(c: Any, given: list[str]) -> list[str]:
    from keel.cli.resolve import experiment_ids

    return experiment_ids(c, given)


def _run_id(c: Any, given: str) -> str:
    from keel.cli.resolve import run_id

    return run_id(c, given)


def _status(run: Any) -> str:
    status = str(run.info.status)
    if status == "RUNNING" and run.info.last_heartbeat:
        import time

        silent = time.time() - run.info.last_heartbeat / 1000
        if silent > 120:
            return f"RUNNING (no heartbeat for {int(silent // 60)}m)"
    return status


def _show_runs(
    runs: list[Any], json: bool, next_page_token: str | None, *, tree: bool = False
) -> None:
    from keel.wire.runs import run_to_dict

    if json:
        print_json({"runs": [run_to_dict(r) for r in runs], "next_page_token": next_page_token})
        return
    metric_keys = sorted({k for r in runs for k in r.data.metrics})[:6]
    shown = as_tree(runs) if tree else [(0, r) for r in runs]
    print_table(
        None,
        ["run id", "name", "status", "started", "duration", *metric_keys],
        [
            (
                r.info.run_id,
                ("  " * (depth - 1) + "└ " if depth else "") + r.info.run_name,
                _status(r),
                when(r.info.start_time),
                duration(r.info.start_time, r.info.end_time),
                *(_fmt(r.data.metrics.get(k)) for k in metric_keys),
            )
            for depth, r in shown
        ],
    )
    if next_page_token:
        typer.echo(f"more results: --page-token {next_page_token}")


def as_tree(runs: list[Any]) -> list[tuple[int, Any]]:
    """(depth, run) with each run's children right below it, in the order found; a run
    whose parent is not among ``runs`` is shown at the top."""
    present = {r.info.run_id for r in runs}
    children: dict[str, list[Any]] = {}
    roots = []
    for r in runs:
        parent = r.info.parent_run_id
        if parent in present and parent != r.info.run_id:
            children.setdefault(parent, []).append(r)
        else:
            roots.append(r)
    shown: list[tuple[int, Any]] = []
    seen: set[str] = set()
    stack = [(0, r) for r in reversed(roots)]
    while stack:
        depth, r = stack.pop()
        if r.info.run_id in seen:
            continue
        seen.add(r.info.run_id)
        shown.append((depth, r))
        stack.extend((depth + 1, c) for c in reversed(children.get(r.info.run_id, [])))
    shown.extend((0, r) for r in runs if r.info.run_id not in seen)  # a cycle: flat
    return shown


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


@app.command("list")
def list_runs(
    experiment: list[str] = Experiments,
    max_results: int = typer.Option(50, "--max-results", "-n"),
    view: str = typer.Option("active", help="active, deleted or all."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """List the newest runs of experiments, child runs indented under their parent."""
    c = client(tracking_uri)
    page = c.search_runs(_experiment_ids(c, experiment), view=view, max_results=max_results)
    _show_runs(page, json, page.token, tree=True)


@app.command("search")
def search(
    filter_string: str = typer.Argument(
        "", metavar="FILTER", help="e.g. \"metrics.acc > 0.9 and params.model = 'rf'\""
    ),
    experiment: list[str] = Experiments,
    order_by: list[str] = typer.Option([], "--order-by", "-o", help="e.g. 'metrics.acc DESC'."),
    max_results: int = typer.Option(100, "--max-results", "-n"),
    page_token: str = typer.Option(None, "--page-token"),
    view: str = typer.Option("active", help="active, deleted or all."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Search runs with a filter and an order."""
    from keel.entities.search import parse_filter, parse_order_by

    parse_filter(filter_string or None)  # a typo is reported before anything else
    parse_order_by(order_by or None)
    c = client(tracking_uri)
    page = c.search_runs(
        _experiment_ids(c, experiment),
        filter_string or None,
        order_by=order_by or None,
        max_results=max_results,
        page_token=page_token,
        view=view,
    )
    _show_runs(page, json, page.token)


@app.command("show")
def show(
    run_id: str = typer.Argument(...),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Show a run (its id, or a unique prefix of 4+ characters): info, params, latest
    metrics, tags, code version, the dataset versions it used."""
    from keel.wire.datasets import dataset_input_to_dict
    from keel.wire.runs import run_to_dict

    c = client(tracking_uri)
    run_id = _run_id(c, run_id)
    run = c.get_run(run_id)
    inputs = c.backend.datasets.run_inputs(run_id)
    if json:
        print_json({**run_to_dict(run), "inputs": [dataset_input_to_dict(i) for i in inputs]})
        return
    i = run.info
    print_table(
        f"run {i.run_id}",
        ["field", "value"],
        [
            ("name", i.run_name),
            ("experiment", i.experiment_id),
            ("status", _status(run)),
            ("started", when(i.start_time)),
            ("ended", when(i.end_time)),
            ("duration", duration(i.start_time, i.end_time)),
            ("parent", i.parent_run_id),
            ("user", i.user_id),
            ("artifacts", i.artifact_uri),
        ],
    )
    for title, values in (
        ("params", run.data.params),
        ("metrics (latest)", {k: _fmt(val) for k, val in run.data.metrics.items()}),
        ("tags", run.data.tags),
    ):
        if values:
            print_table(title, ["key", "value"], sorted(values.items()))
    if inputs:
        print_table(
            "dataset inputs",
            ["dataset", "context"],
            [(f"datasets:/{i.name}@{i.version}", i.context) for i in inputs],
        )


@app.command("compare")
def compare(
    run_ids: list[str] = typer.Argument(..., help="Two or more run ids (or unique prefixes)."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Compare runs side by side: params and latest metrics that differ come first. Each
    column is labelled with the run's name and the start of its id."""
    c = client(tracking_uri)
    run_ids = [_run_id(c, r) for r in run_ids]
    runs = [c.get_run(r) for r in run_ids]
    rows: list[tuple[str, ...]] = []
    for kind, getter in (("param", lambda r: r.data.params), ("metric", lambda r: r.data.metrics)):
        keys = sorted({k for r in runs for k in getter(r)})
        for key in keys:
            values = [getter(r).get(key) for r in runs]
            shown = [_fmt(x) if kind == "metric" and x is not None else (x or "") for x in values]
            differs = len({str(x) for x in values}) > 1
            rows.append((("* " if differs else "  ") + f"{kind}s.{key}", *shown))
    rows.sort(key=lambda row: not row[0].startswith("*"))
    if json:
        labels = column_labels(runs)
        print_json({"run_ids": run_ids, "labels": labels, "rows": [list(r) for r in rows]})
        return
    print_table(None, ["key", *column_labels(runs)], rows)


def column_labels(runs: list[Any]) -> list[str]:
    """``name (3f2a9c01)``: the name, and as much of the id as tells the runs apart (at
    least 8 characters)."""
    ids = [r.info.run_id for r in runs]
    width = 8
    while width < 32 and len({i[:width] for i in ids}) < len(set(ids)):
        width += 4
    return [f"{r.info.run_name} ({r.info.run_id[:width]})" for r in runs]


@app.command("delete")
def delete(run_id: str = typer.Argument(...), tracking_uri: str = TrackingUri) -> None:
    """Delete a run (restorable); its id or a unique prefix."""
    c = client(tracking_uri)
    run_id = _run_id(c, run_id)
    c.delete_run(run_id)
    typer.echo(f"deleted run {run_id}")


@app.command("restore")
def restore(run_id: str = typer.Argument(...), tracking_uri: str = TrackingUri) -> None:
    """Restore a deleted run; its id or a unique prefix."""
    c = client(tracking_uri)
    run_id = _run_id(c, run_id)
    c.restore_run(run_id)
    typer.echo(f"restored run {run_id}")


@app.command("reap")
def reap(
    silent_for: float = typer.Option(
        None, help="Seconds without heartbeat (default KEEL_RUN_TIMEOUT)."
    ),
    tracking_uri: str = TrackingUri,
) -> None:
    """Mark RUNNING runs whose process died (no heartbeat) as KILLED."""
    lost = client(tracking_uri).reap_lost_runs(silent_for)
    typer.echo(f"marked {len(lost)} lost run(s) KILLED" + (": " + ", ".join(lost) if lost else ""))
