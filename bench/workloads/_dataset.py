"""The runs that the search benchmark searches, identical for every tool.

Standard library only: this module is imported by the harness (Keel's interpreter) and by
the workload scripts (each tool's own interpreter).

>>> runs = generate_runs(8)
>>> len(runs), sorted(runs[0].params)[:2]
(8, ['learning_rate', 'max_depth'])
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

SEED = 20240611
BASE_TIME_MS = 1_700_000_000_000
EXPERIMENT_PREFIX = "bench-search-"

MODELS = ("rf", "gb", "lr", "svm")
SEARCH_FILTER = "metrics.acc > 0.5 and params.model = 'rf'"
SEARCH_ORDER_BY = ("metrics.acc DESC",)
SEARCH_MAX_RESULTS = 100


@dataclass(frozen=True, slots=True)
class SeedRun:
    run_id: str
    name: str
    start_time: int
    end_time: int
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]


def generate_runs(count: int, seed: int = SEED) -> list[SeedRun]:
    """``count`` runs with 5 params, 4 metrics and 2 tags each, the same for a given seed."""
    rng = random.Random(seed * 1_000_003 + count)
    return [_one_run(rng, index) for index in range(count)]


def _one_run(rng: random.Random, index: int) -> SeedRun:
    start = BASE_TIME_MS + index * 1000
    params = {
        "model": rng.choice(MODELS),
        "learning_rate": rng.choice(("0.001", "0.01", "0.1")),
        "max_depth": str(rng.randint(2, 12)),
        "n_estimators": rng.choice(("50", "100", "200", "400")),
        "optimizer": rng.choice(("adam", "sgd", "lbfgs")),
    }
    metrics = {
        "acc": rng.random(),
        "loss": rng.uniform(0.0, 2.0),
        "f1": rng.random(),
        "auc": rng.random(),
    }
    tags = {"team": rng.choice(("vision", "nlp", "tabular")), "stage": rng.choice(("dev", "prod"))}
    return SeedRun(
        run_id=uuid.UUID(int=rng.getrandbits(128)).hex,
        name=f"run-{index}",
        start_time=start,
        end_time=start + 500,
        params=params,
        metrics=metrics,
        tags=tags,
    )


def matches_filter(run: SeedRun) -> bool:
    """What ``SEARCH_FILTER`` selects, evaluated in Python."""
    return run.metrics["acc"] > 0.5 and run.params["model"] == "rf"


def expected_top_acc(runs: list[SeedRun], limit: int = SEARCH_MAX_RESULTS) -> list[float]:
    """The ``acc`` values a correct search returns, in order."""
    return sorted((r.metrics["acc"] for r in runs if matches_filter(r)), reverse=True)[:limit]


def experiment_name(size: int) -> str:
    return f"{EXPERIMENT_PREFIX}{size}"


def check_search(size: int, top_acc: list[float], matching: int) -> None:
    """Fail loudly unless a seeded experiment answered exactly as the dataset says.

    ``top_acc``: the ``acc`` of each run the benchmark search returned, in order;
    ``matching``: how many runs the filter selects when paged through to the end.
    """
    runs = generate_runs(size)
    want = expected_top_acc(runs)
    if len(top_acc) != len(want) or any(
        abs(got - exp) > 1e-12 for got, exp in zip(top_acc, want, strict=True)
    ):
        raise AssertionError(f"search over {size} runs returned wrong runs: {top_acc[:3]}...")
    expected = sum(1 for run in runs if matches_filter(run))
    if matching != expected:
        raise AssertionError(f"{matching} runs match over {size} runs, expected {expected}")
