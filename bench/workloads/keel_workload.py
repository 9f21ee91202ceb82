"""Tracking workload for Keel, the same user code shape as ``mlflow_workload.py``.

Run with Keel's interpreter against a running ``keel server``; prints one JSON object:

    .venv/bin/python bench/workloads/keel_workload.py write --uri http://127.0.0.1:5000

Everything that touches Keel's API beyond the fluent calls sits in a small function here,
so an API change means editing one place.
"""

from __future__ import annotations

import time
from typing import Any

from _dataset import (
    SEARCH_FILTER,
    SEARCH_MAX_RESULTS,
    SEARCH_ORDER_BY,
    SeedRun,
    check_search,
    experiment_name,
    generate_runs,
)
from _timing import emit, parse_sizes, rate, repeat, time_searches, workload_parser

import keel

DOWNSAMPLED_POINTS = 1000


def connect(uri: str) -> Any:
    """Point the fluent API at ``uri`` and return a client for the same server."""
    set_uri = getattr(keel, "set_tracking_uri", None)
    if set_uri is not None:  # KEEL_TRACKING_URI is set by the harness as well
        set_uri(uri)
    return keel.Client(uri)


def run_id_of(run: Any) -> str:
    return run.info.run_id if hasattr(run, "info") else run.run_id


def runs_of(page: Any) -> list[Any]:
    """``search_runs`` may return a page object or a plain list."""
    return list(page.runs) if hasattr(page, "runs") else list(page)


def measure_log_metric(points: int) -> dict[str, float]:
    keel.set_experiment("bench-log-metric")
    keel.start_run()
    start = time.perf_counter()
    for step in range(points):
        keel.log_metric("loss", 1.0 / (step + 1), step=step)
    keel.end_run()
    keel.flush()  # returns once every point is durable on the server
    return rate(points, time.perf_counter() - start)


def measure_log_batch(client: Any, points: int) -> tuple[str, dict[str, float]]:
    experiment_id = client.create_experiment("bench-log-batch")
    run_id = run_id_of(client.create_run(experiment_id))
    now = int(time.time() * 1000)
    metrics = [keel.Metric("loss", 1.0 / (step + 1), now + step, step) for step in range(points)]
    start = time.perf_counter()
    client.log_batch(run_id, metrics=metrics)  # the client chunks by itself
    client.flush()
    return run_id, rate(points, time.perf_counter() - start)


def measure_create_runs(count: int) -> dict[str, float]:
    keel.set_experiment("bench-create-runs")
    start = time.perf_counter()
    for index in range(count):
        with keel.start_run():
            keel.log_params({f"param_{j}": f"{index}-{j}" for j in range(10)})
            keel.log_metrics({f"metric_{j}": index * 0.001 + j for j in range(5)})
            keel.set_tags({f"tag_{j}": f"value-{j}" for j in range(3)})
    keel.flush()
    return rate(count, time.perf_counter() - start)


def measure_history(
    client: Any, run_id: str, points: int, reps: int, downsample_reps: int
) -> dict[str, Any]:
    def fetch_full() -> None:
        history = client.get_metric_history(run_id, "loss")
        if len(history) != points:
            raise AssertionError(f"history has {len(history)} points, expected {points}")

    def fetch_downsampled() -> None:
        history = client.get_metric_history(run_id, "loss", max_points=DOWNSAMPLED_POINTS)
        if not 0 < len(history) <= 2 * DOWNSAMPLED_POINTS:
            raise AssertionError(f"downsampled history has {len(history)} points")

    downsampled_len = len(client.get_metric_history(run_id, "loss", max_points=DOWNSAMPLED_POINTS))
    return {
        "points": points,
        **repeat(fetch_full, reps=reps, warmup=0),
        "downsampled": {
            "max_points": DOWNSAMPLED_POINTS,
            "returned": downsampled_len,
            **repeat(fetch_downsampled, reps=downsample_reps, warmup=2),
        },
    }


def run_write_phase(args: Any) -> dict[str, Any]:
    client = connect(args.uri)
    log_metric = measure_log_metric(args.metric_points)
    run_id, log_batch = measure_log_batch(client, args.batch_points)
    create_runs = measure_create_runs(args.runs)
    history = measure_history(
        client, run_id, args.batch_points, args.history_reps, args.downsample_reps
    )
    return {
        "log_metric": log_metric,
        "log_batch": log_batch,
        "create_runs": create_runs,
        "history": history,
    }


def seed_experiment(client: Any, name: str, runs: list[SeedRun]) -> str:
    """Fill a new experiment with ``runs`` through Keel's own client; return its id.

    A bulk import: ``synchronous=False`` lets each creation ride the background writer's
    batches with the run's params, metrics, tags and end; one ``flush`` makes them all
    durable. (``start_run`` and ``create_run`` store each run before returning.)
    """
    experiment_id = str(client.create_experiment(name))
    experiment = client.get_experiment(experiment_id)
    for run in runs:
        run_id = client.begin_run(
            experiment, run_name=run.name, tags=run.tags, synchronous=False
        ).info.run_id
        client.log_params(run_id, run.params)
        client.log_metrics(run_id, run.metrics, timestamp=run.start_time)
        client.set_terminated(run_id, end_time=run.end_time)
    client.flush()
    return experiment_id


def run_seed_phase(args: Any) -> dict[str, Any]:
    client = connect(args.uri)
    experiments: dict[str, str] = {}
    seeding: dict[str, Any] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        runs = generate_runs(size)
        start = time.perf_counter()
        experiments[str(size)] = seed_experiment(client, experiment_name(size), runs)
        seeding[str(size)] = rate(size, time.perf_counter() - start)
    return {"experiments": experiments, "seeding": seeding}


def search(client: Any, experiment_id: str) -> list[Any]:
    page = client.search_runs(
        experiment_ids=[experiment_id],
        filter_string=SEARCH_FILTER,
        order_by=list(SEARCH_ORDER_BY),
        max_results=SEARCH_MAX_RESULTS,
    )
    return runs_of(page)


def count_matches(client: Any, experiment_id: str) -> int:
    total, token = 0, None
    while True:
        page = client.search_runs(
            experiment_ids=[experiment_id],
            filter_string=SEARCH_FILTER,
            max_results=1000,
            page_token=token,
        )
        total += len(runs_of(page))
        token = getattr(page, "next_page_token", None) or getattr(page, "token", None)
        if not token:
            return total


def verify_search(client: Any, experiment_id: str, size: int) -> int:
    top_acc = [run.data.metrics["acc"] for run in search(client, experiment_id)]
    matching = count_matches(client, experiment_id)
    check_search(size, top_acc, matching)
    return matching


def run_search_phase(args: Any) -> dict[str, Any]:
    client = connect(args.uri)
    results = time_searches(
        parse_sizes(args.experiments),
        lambda experiment_id: search(client, experiment_id),
        lambda experiment_id, size: verify_search(client, experiment_id, size),
        reps=args.search_reps,
        warmup=args.search_warmup,
    )
    return {"search": results}


PHASES = {
    "write": run_write_phase,
    "seed": run_seed_phase,
    "search": run_search_phase,
}


def main() -> None:
    args = workload_parser(__doc__ or "").parse_args()
    result = PHASES[args.phase](args)
    emit({"client_version": getattr(keel, "__version__", "unknown"), **result})


if __name__ == "__main__":
    main()
