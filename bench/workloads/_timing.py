"""Timing and summary helpers shared by the workload scripts (standard library only)."""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def rate(count: int, seconds: float) -> dict[str, float]:
    return {"count": count, "seconds": seconds, "per_s": count / seconds if seconds else 0.0}


def p95(samples: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def repeat(fn: Callable[[], Any], *, reps: int, warmup: int) -> dict[str, Any]:
    """Call ``fn`` ``warmup`` times untimed, then ``reps`` times; summarise in seconds."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(samples),
        "p95_s": p95(samples),
        "reps": reps,
        "warmup": warmup,
        "samples_s": samples,
    }


def time_searches(
    experiments: dict[int, str],
    search: Callable[[str], Any],
    verify: Callable[[str, int], int],
    *,
    reps: int,
    warmup: int,
) -> dict[str, Any]:
    """Verify each seeded experiment, then time ``search`` on it; keyed by run count."""
    results: dict[str, Any] = {}
    for size, experiment_id in sorted(experiments.items()):
        matching = verify(experiment_id, size)
        timing = repeat(functools.partial(search, experiment_id), reps=reps, warmup=warmup)
        results[str(size)] = {"runs": size, "matching": matching, **timing}
    return results


def emit(result: dict[str, Any]) -> None:
    """The one JSON line the harness reads from stdout."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def parse_sizes(text: str) -> dict[int, str]:
    """``"2000=1,20000=2"`` -> ``{2000: "1", 20000: "2"}``."""
    pairs = (item.split("=", 1) for item in text.split(",") if item)
    return {int(size): exp_id for size, exp_id in pairs}


def workload_parser(description: str) -> argparse.ArgumentParser:
    """The command line every workload script accepts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("phase", choices=("write", "experiments", "seed", "search"))
    parser.add_argument("--uri", required=True, help="tracking server URL")
    parser.add_argument("--metric-points", type=int, default=5000)
    parser.add_argument("--batch-points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--history-reps", type=int, default=3)
    parser.add_argument("--downsample-reps", type=int, default=20)
    parser.add_argument("--sizes", default="2000,20000", help="search experiment sizes")
    parser.add_argument("--experiments", default="", help="SIZE=EXPERIMENT_ID,...")
    parser.add_argument("--search-reps", type=int, default=20)
    parser.add_argument("--search-warmup", type=int, default=2)
    return parser
