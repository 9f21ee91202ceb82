"""One drift measurement in a process of its own, run by ``bench/monitoring.py``.

Runs in Evidently's venv (``--tool evidently``) or Keel's (``--tool keel``,
``keel-parquet``, ``keel-stream``): reads the reference and current Parquet files into
pandas (both tools get the same in-memory frames; the read is not timed), times the drift
computation alone, and prints one JSON line: seconds, resident memory before the
computation, its own peak (``VmHWM``), and each column's test, score and verdict. The
parent reads the process's peak resident memory from ``wait4``.

``keel-parquet`` gives Keel the two Parquet paths instead (its own way in: the read is
timed, nothing is held in pandas). ``keel-stream`` times what a monitor does: a stored
reference profile (JSON) against a Parquet file read batch by batch, the read included.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _vm_hwm_mib() -> float | None:
    """This process's own peak resident set since exec (Linux), whatever its parent's."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def evidently(reference: str, current: str, numeric: list[str], categorical: list[str]) -> dict:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
    before = _rss_mib()
    start = time.perf_counter()
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )
    metrics = snapshot.dict()["metrics"]
    seconds = time.perf_counter() - start
    columns: dict[str, Any] = {}
    for metric in metrics:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        method, threshold, score = config["method"], config["threshold"], metric["value"]
        # p-values drift below the threshold; distances at or above it (Evidently's rule)
        drifted = score < threshold if "p_value" in method else score >= threshold
        columns[config["column"]] = {
            "test": method,
            "score": score,
            "threshold": threshold,
            "drifted": bool(drifted),
        }
    return {"seconds": seconds, "rss_before_mib": before, "columns": columns}


def keel(reference: str, current: str) -> dict:
    import pandas as pd

    from keel.monitoring import drift

    ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
    before = _rss_mib()
    start = time.perf_counter()
    result = drift(ref, cur)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_before_mib": before, "columns": _keel_columns(result)}


def keel_parquet(reference: str, current: str) -> dict:
    """Keel on its own input: both Parquet paths, read column by column and in batches."""
    from keel.monitoring import drift

    _reader_imported()
    before = _rss_mib()
    start = time.perf_counter()
    result = drift(reference, current)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_before_mib": before, "columns": _keel_columns(result)}


def keel_stream(profile: str, current: str) -> dict:
    from keel.monitoring import drift

    _reader_imported()
    before = _rss_mib()
    start = time.perf_counter()
    result = drift(profile, current)  # the profile's JSON path; the Parquet read in batches
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss_before_mib": before,
        "rows": result.dataset.current_rows,
        "columns": _keel_columns(result),
    }


def _reader_imported() -> None:
    """Import the Parquet reader before the clock starts: pyarrow's dataset module, which
    its first read loads, brings pandas (about a second), paid once per process, as
    Evidently's imports are paid before its clock."""
    import pyarrow.dataset
    import pyarrow.parquet  # noqa: F401


def _keel_columns(result: Any) -> dict:
    return {
        c.column: {
            "test": c.test,
            "score": c.score,
            "threshold": c.threshold,
            "drifted": bool(c.drifted),
        }
        for c in result.columns
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    tools = ["evidently", "keel", "keel-parquet", "keel-stream"]
    parser.add_argument("--tool", choices=tools, required=True)
    parser.add_argument("--reference", required=True, help="Parquet (or a profile's JSON)")
    parser.add_argument("--current", required=True)
    parser.add_argument("--numeric", default="")
    parser.add_argument("--categorical", default="")
    args = parser.parse_args()
    if args.tool == "evidently":
        out = evidently(
            args.reference, args.current, args.numeric.split(","), args.categorical.split(",")
        )
    elif args.tool == "keel":
        out = keel(args.reference, args.current)
    elif args.tool == "keel-parquet":
        out = keel_parquet(args.reference, args.current)
    else:
        out = keel_stream(args.reference, args.current)
    out["vm_hwm_mib"] = _vm_hwm_mib()
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
