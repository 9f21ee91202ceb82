"""The monitor side of ``bench/monitor_load.py``, run with Keel's interpreter against the
store in ``KEEL_HOME`` (the one ``keel serve`` logs predictions to). Phases:

- ``setup --folder DIR --deployment NAME --monitor NAME --window S``:
  create the deployment on ``models:/bench-logreg@champion`` with the prediction log at
  100%, write the training data as ``DIR/reference.parquet`` and a monitor on the
  deployment with it as reference, run the monitor once (it computes and stores the
  reference's statistics, as a first scheduled run would), and write ``DIR/rows.jsonl``:
  single-row request bodies drawn from the training distribution, for the load to cycle
  through (so the window the monitor reads holds varied rows, as in production);
- ``loop --monitor NAME --interval S``: run the monitor once (imports warm, not counted),
  print ``ready``, wait for a line on stdin, then run it (``keel.Client().monitors.run``)
  every ``interval`` seconds, or back to back when a run takes longer, until stdin closes;
  print one JSON object: each run's start (s after the go), seconds, CPU seconds (threads
  included) and rows read, and the errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from serving_model import COLUMNS, NAME, SEED, TRAIN_ROWS, rows

LOAD_ROWS = 1000
LOAD_SEED = SEED + 4


def setup(args: argparse.Namespace) -> dict[str, Any]:
    import polars as pl

    import keel

    client = keel.Client()
    client.deployments.create(args.deployment, f"models:/{NAME}@champion", sampling=1.0)
    reference = args.folder / "reference.parquet"
    pl.DataFrame(rows(TRAIN_ROWS, SEED), schema=COLUMNS, orient="row").write_parquet(reference)
    client.monitors.create(
        args.monitor,
        deployment=args.deployment,
        reference=f"file:{reference}",
        every="1h",
        window=args.window,
    )
    client.monitors.run(args.monitor)
    bodies = args.folder / "rows.jsonl"
    with bodies.open("w") as out:
        for row in rows(LOAD_ROWS, LOAD_SEED).tolist():
            out.write(json.dumps({"records": [dict(zip(COLUMNS, row, strict=True))]}) + "\n")
    return {"reference": str(reference), "bodies": str(bodies), "bodies_count": LOAD_ROWS}


def rows_read(result: dict[str, Any]) -> int:
    """The rows of the window the run compared (0 for an empty window)."""
    if result.get("no_data"):
        return 0
    return max((c.get("quality", {}).get("rows", 0) for c in result["columns"]), default=0)


def loop(args: argparse.Namespace) -> dict[str, Any]:
    import keel

    monitors = keel.Client().monitors
    # One run before the load, not counted: a scheduler that has run before has its
    # libraries (polars, scipy) imported, and this fails here if the monitor is absent.
    monitors.run(args.monitor)
    print("ready", flush=True)
    sys.stdin.readline()
    stop = threading.Event()

    def stop_at_end_of_input() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=stop_at_end_of_input, daemon=True).start()
    go = time.perf_counter()
    runs: list[dict[str, Any]] = []
    errors: list[str] = []
    while not stop.is_set():
        began, cpu = time.perf_counter(), time.process_time()
        try:
            result = monitors.run(args.monitor).result
        except Exception as error:  # a failed run is reported, and the loop goes on
            errors.append(f"{type(error).__name__}: {error}"[:500])
        else:
            runs.append({
                "at_s": began - go,
                "seconds": time.perf_counter() - began,
                "cpu_s": time.process_time() - cpu,
                "rows": rows_read(result),
            })  # fmt: skip
        stop.wait(max(0.0, args.interval - (time.perf_counter() - began)))
    return {"runs": runs, "errors": errors, "seconds": time.perf_counter() - go}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("setup", "loop"))
    parser.add_argument("--folder", type=Path, help="where setup writes its files")
    parser.add_argument("--deployment", default="bench-api")
    parser.add_argument("--monitor", default="bench-drift")
    parser.add_argument("--window", default="5m", help="the window each run reads")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between runs")
    args = parser.parse_args()
    print(json.dumps(setup(args) if args.phase == "setup" else loop(args)), flush=True)


if __name__ == "__main__":
    main()
