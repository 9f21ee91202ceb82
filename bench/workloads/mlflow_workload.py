"""Tracking workload for servers that speak MLflow's REST API (MLflow, FastTrackML).

Run with the MLflow venv's interpreter against a running server; prints one JSON object:

    python mlflow_workload.py write --uri http://127.0.0.1:5000 --metric-points 300
"""

from __future__ import annotations

import time
from typing import Any

import mlflow
from _dataset import (
    SEARCH_FILTER,
    SEARCH_MAX_RESULTS,
    SEARCH_ORDER_BY,
    check_search,
    experiment_name,
)
from _timing import emit, parse_sizes, rate, repeat, time_searches, workload_parser
from mlflow import MlflowClient
from mlflow.entities import Metric

MLFLOW_BATCH_LIMIT = 1000  # MLflow rejects a log_batch with more metrics than this


def measure_log_metric(points: int) -> dict[str, float]:
    mlflow.set_experiment("bench-log-metric")
    mlflow.start_run()
    start = time.perf_counter()
    for step in range(points):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.end_run()
    return rate(points, time.perf_counter() - start)


def measure_log_batch(client: MlflowClient, points: int) -> tuple[str, dict[str, float]]:
    experiment_id = client.create_experiment("bench-log-batch")
    run_id = client.create_run(experiment_id).info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric("loss", 1.0 / (step + 1), now + step, step) for step in range(points)]
    start = time.perf_counter()
    for offset in range(0, points, MLFLOW_BATCH_LIMIT):
        client.log_batch(run_id, metrics=metrics[offset : offset + MLFLOW_BATCH_LIMIT])
    elapsed = time.perf_counter() - start
    client.set_terminated(run_id)
    return run_id, rate(points, elapsed)


def measure_create_runs(count: int) -> dict[str, float]:
    mlflow.set_experiment("bench-create-runs")
    start = time.perf_counter()
    for index in range(count):
        with mlflow.start_run():
            mlflow.log_params({f"param_{j}": f"{index}-{j}" for j in range(10)})
            mlflow.log_metrics({f"metric_{j}": index * 0.001 + j for j in range(5)})
            mlflow.set_tags({f"tag_{j}": f"value-{j}" for j in range(3)})
    return rate(count, time.perf_counter() - start)


def measure_history(client: MlflowClient, run_id: str, points: int, reps: int) -> dict[str, Any]:
    def fetch() -> None:
        history = client.get_metric_history(run_id, "loss")
        if len(history) != points:
            raise AssertionError(f"history has {len(history)} points, expected {points}")

    return {"points": points, **repeat(fetch, reps=reps, warmup=0)}


def run_write_phase(args: Any) -> dict[str, Any]:
    client = MlflowClient()
    log_metric = measure_log_metric(args.metric_points)
    run_id, log_batch = measure_log_batch(client, args.batch_points)
    create_runs = measure_create_runs(args.runs)
    history = measure_history(client, run_id, args.batch_points, args.history_reps)
    return {
        "log_metric": log_metric,
        "log_batch": log_batch,
        "create_runs": create_runs,
        "history": history,
    }


def run_experiments_phase(args: Any) -> dict[str, Any]:
    """Create the empty experiments the harness then fills with SQL."""
    client = MlflowClient()
    sizes = [int(size) for size in args.sizes.split(",")]
    return {"experiments": {str(s): client.create_experiment(experiment_name(s)) for s in sizes}}


def search(client: MlflowClient, experiment_id: str) -> list[Any]:
    return client.search_runs(
        [experiment_id],
        filter_string=SEARCH_FILTER,
        order_by=list(SEARCH_ORDER_BY),
        max_results=SEARCH_MAX_RESULTS,
    )


def count_matches(client: MlflowClient, experiment_id: str) -> int:
    total, token = 0, None
    while True:
        page = client.search_runs(
            [experiment_id], filter_string=SEARCH_FILTER, max_results=1000, page_token=token
        )
        total += len(page)
        token = page.token
        if not token:
            return total


def verify_search(client: MlflowClient, experiment_id: str, size: int) -> int:
    top_acc = [run.data.metrics["acc"] for run in search(client, experiment_id)]
    matching = count_matches(client, experiment_id)
    check_search(size, top_acc, matching)
    return matching


def run_search_phase(args: Any) -> dict[str, Any]:
    client = MlflowClient()
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
    "experiments": run_experiments_phase,
    "search": run_search_phase,
}


def main() -> None:
    args = workload_parser(__doc__ or "").parse_args()
    mlflow.set_tracking_uri(args.uri)
    result = PHASES[args.phase](args)
    emit({"client_version": mlflow.__version__, **result})


if __name__ == "__main__":
    main()
