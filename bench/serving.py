"""Serving benchmark: Keel side by side with BentoML and `mlflow models serve`, in one run.

The same 20-feature scikit-learn LogisticRegression behind each server (one worker each,
127.0.0.1, started fresh; only one server up at a time). The load comes from ``wrk``, a
process of its own (``apt-get install -y wrk``), with ``workloads/serving_load.lua``:

- time from spawning the server to its first 200 answer to a prediction request;
- single-row JSON requests at concurrency 1, 8 and 32 (after a warm-up at each): answered
  requests per second, p50 and p99 latency;
- one 1,000-row request at a time: p50 and p99 latency;
- Keel again with every prediction written to the prediction log, for the log's cost.

Before the load, each server's predictions for a few check rows are compared with the
trained model's. Figures go to ``bench/results/serving.{md,json}`` (a full run of every
server) or ``serving-partial.{md,json}``.

    .venv/bin/python bench/serving.py            # about 8 minutes
    .venv/bin/python bench/serving.py --quick    # 2-3 minutes: checks the harness
    .venv/bin/python bench/serving.py --only keel,keel-log --quick
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _report import Figures, machine_summary
from _servers import ServerProcess, free_port, loopback_env, post, start_server
from _serving_report import render
from _serving_tools import (
    KEEL_PYTHON,
    MODEL_FILE,
    SERVERS,
    WORKLOADS_DIR,
    ModelServer,
    run_model_script,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LOAD_SCRIPT = WORKLOADS_DIR / "serving_load.lua"
CONCURRENCY = (1, 8, 32)
BATCH_ROWS = 1000
START_TIMEOUT_S = 180.0
FIRST_ANSWER_POLL_S = 0.01
WRK_TIMEOUT = "10s"  # a request slower than this counts as a timeout, not a latency
_live: set[ServerProcess] = set()


@dataclass(frozen=True)
class Settings:
    """How long each measure runs (wrk takes whole seconds)."""

    warmup_s: int = 5
    duration_s: int = 20
    batch_duration_s: int = 15
    starts: int = 3

    @classmethod
    def quick(cls) -> Settings:
        return cls(warmup_s=1, duration_s=2, batch_duration_s=2, starts=1)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The model and the request bodies ---------------------------------------------------------


@dataclass(frozen=True)
class Bodies:
    """One server's request files: check rows, one row, a 1,000-row batch."""

    check: bytes
    row: Path
    batch: Path


def write_bodies(server: ModelServer, spec: dict[str, Any], folder: Path) -> Bodies:
    columns, check_rows = spec["columns"], spec["check_rows"]
    batch_rows = [check_rows[i % len(check_rows)] for i in range(BATCH_ROWS)]
    row, batch = folder / "row.json", folder / "batch.json"
    row.write_bytes(server.encode(check_rows[:1], columns))
    batch.write_bytes(server.encode(batch_rows, columns))
    return Bodies(server.encode(check_rows, columns), row, batch)


# Load -------------------------------------------------------------------------------------


def wrk(
    url: str, body: Path, connections: int, seconds: int, *, bodies: Path | None = None
) -> Figures:
    """One wrk run (one thread) of POSTs of ``body``, or of each line of ``bodies`` in turn;
    figures from the Lua script's line."""
    argv = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", WRK_TIMEOUT,
        "-s", str(LOAD_SCRIPT), url,
    ]  # fmt: skip
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=loopback_env({"BENCH_BODY": str(body), "BENCH_BODIES": str(bodies or "")}),
        timeout=seconds + 60,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    raw = json.loads(lines[-1])
    errors = raw["errors"]
    answered = raw["requests"] - errors["status"]
    seconds_run = raw["duration_us"] / 1e6
    latency = raw["latency_us"]
    return {
        "connections": connections,
        "seconds": seconds_run,
        "requests": raw["requests"],
        "ok": answered,
        "rps": answered / seconds_run if seconds_run else 0.0,
        "p50_ms": latency["p50"] / 1000,
        "p90_ms": latency["p90"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "max_ms": latency["max"] / 1000,
        "mean_ms": latency["mean"] / 1000,
        "failed": sum(errors.values()),
        "errors": errors,
    }


def load(url: str, body: Path, connections: int, settings: Settings, seconds: int) -> Figures:
    """A warm-up, then the measured run; ``warmup_ok`` counts the warm-up's answers."""
    warmup = wrk(url, body, connections, settings.warmup_s)
    return {**wrk(url, body, connections, seconds), "warmup_ok": warmup["ok"]}


# One server -------------------------------------------------------------------------------


def answers(check: bytes, route: str) -> Any:
    def ready(server: ServerProcess) -> bool:
        return post(server.base_url + route, check)[0] == 200

    return ready


def start(server: ModelServer, folder: Path, bodies: Bodies) -> ServerProcess:
    port = free_port()
    process = start_server(
        server.key,
        server.argv(port, folder),
        port=port,
        health_path=server.route,
        log_path=folder / "server.log",
        cwd=server.cwd,
        timeout_s=START_TIMEOUT_S,
        env=server.env(folder),
        ready=answers(bodies.check, server.route),
        poll_s=FIRST_ANSWER_POLL_S,
    )
    _live.add(process)
    return process


def stop(process: ServerProcess) -> None:
    process.stop()
    _live.discard(process)


def stop_all() -> None:
    """Stop every server still up (a run that failed or was interrupted)."""
    for process in list(_live):
        stop(process)


def check_answers(
    server: ModelServer, process: ServerProcess, bodies: Bodies, spec: Figures
) -> None:
    status, answer = post(process.base_url + server.route, bodies.check)
    if status != 200:
        raise RuntimeError(f"{server.label} answered {status}: {answer[:500]!r}")
    got = [int(value) for value in server.decode(answer)]
    if got != spec["check_predictions"]:
        raise RuntimeError(f"{server.label} predicts {got}, the model {spec['check_predictions']}")


def measure(server: ModelServer, settings: Settings, spec: Figures, workdir: Path) -> Figures:
    folder = workdir / server.key
    folder.mkdir()
    shutil.copy(workdir / MODEL_FILE, folder / MODEL_FILE)
    server.prepare(folder)
    bodies = write_bodies(server, spec, folder)
    first_answers = []
    for attempt in range(settings.starts):
        process = start(server, folder, bodies)
        first_answers.append(process.startup_s)
        log(f"  first answer after {process.startup_s:.3f} s")
        if attempt < settings.starts - 1:
            stop(process)
    figures: Figures = {
        "first_answer_s": statistics.median(first_answers),
        "first_answer_samples_s": first_answers,
    }
    try:
        check_answers(server, process, bodies, spec)
        url = process.base_url + server.route
        figures["concurrency"] = {}
        for connections in CONCURRENCY:
            done = load(url, bodies.row, connections, settings, settings.duration_s)
            log(f"  c={connections}: {done['rps']:.0f} req/s, p99 {done['p99_ms']:.2f} ms")
            figures["concurrency"][str(connections)] = done
        figures["batch"] = load(url, bodies.batch, 1, settings, settings.batch_duration_s)
        figures["batch"]["rows"] = BATCH_ROWS
        log(f"  {BATCH_ROWS:,} rows: p50 {figures['batch']['p50_ms']:.1f} ms")
        figures["memory"] = process.memory()
    finally:
        stop(process)
    phases = [*figures["concurrency"].values(), figures["batch"]]
    figures["failed_requests"] = sum(phase["failed"] for phase in phases)
    # What the log should hold, give or take the requests in flight when wrk stopped:
    # every answered request (warm-ups too) and the check rows of each start and the check.
    figures["rows_predicted"] = sum(
        (phase["ok"] + phase["warmup_ok"]) * phase.get("rows", 1) for phase in phases
    ) + len(spec["check_rows"]) * (settings.starts + 1)
    if server.log_sampling is not None:
        figures["prediction_log"] = logged_rows(folder, server.log_sampling)
    return figures


def logged_rows(folder: Path, sampling: float) -> Figures:
    """What Keel's prediction log holds after the run (the server was stopped, so it
    flushed): Parquet files and rows under ``predictions/`` folders, those delivered to the
    store and those left in the local spool (the store was unreachable) apart."""
    import pyarrow.parquet as pq

    home = folder / "keel-home"
    found: Figures = {"sampling": sampling, "files": 0, "rows": 0, "spooled_rows": 0}
    for path in sorted(home.glob("**/predictions/**/*.parquet")):
        rows = pq.read_metadata(path).num_rows
        if "spool" in path.relative_to(home).parts:
            found["spooled_rows"] += rows
        else:
            found["files"] += 1
            found["rows"] += rows
    return found


# The run ----------------------------------------------------------------------------------


def run(servers: list[ModelServer], settings: Settings, workdir: Path) -> Figures:
    model = workdir / MODEL_FILE
    trained = run_model_script(KEEL_PYTHON, "train", "--out", str(model))
    spec = json.loads(model.read_text())
    tools: Figures = {}
    for server in servers:
        log(f"=== {server.label}")
        try:
            tools[server.key] = measure(server, settings, spec, workdir)
        except Exception as error:  # one server failing must not hide the others' figures
            log(f"  FAILED: {error}")
            tools[server.key] = {"error": str(error)}
    return {"model": trained, "tools": tools}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds-long runs, one start")
    parser.add_argument(
        "--only", default=",".join(SERVERS), help=f"comma-separated subset of {list(SERVERS)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--results", type=Path, help="output path without suffix (default: bench/results/"
        "serving for a full run of every server, bench/results/serving-partial otherwise)"
    )  # fmt: skip
    return parser.parse_args(argv)


def selected(only: str) -> list[ModelServer]:
    keys = [key.strip() for key in only.split(",") if key.strip()]
    unknown = sorted(set(keys) - set(SERVERS))
    if unknown:
        raise SystemExit(f"unknown server(s) {unknown}; choose from {list(SERVERS)}")
    return [server for key, server in SERVERS.items() if key in keys]


def raise_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings.quick() if args.quick else Settings()
    servers = selected(args.only)
    if shutil.which("wrk") is None:
        raise SystemExit("the serving benchmark drives servers with wrk: apt-get install -y wrk")
    signal.signal(signal.SIGTERM, raise_on_signal)
    signal.signal(signal.SIGHUP, raise_on_signal)
    for server in servers:
        server.ensure_installed()
    results: Figures = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/serving.py", *(argv or sys.argv[1:])]),
        "mode": "quick" if args.quick else "full",
        "machine": machine_summary(),
        "settings": asdict(settings),
        "notes": {server.key: list(server.notes) for server in servers},
    }
    workdir = Path(tempfile.mkdtemp(prefix="keel-bench-serving-"))
    try:
        results.update(run(servers, settings, workdir))
    finally:
        stop_all()
        if args.keep:
            log(f"temporary files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["machine"]["load_average_end"] = os.getloadavg()
    markdown = render(results, {key: server.label for key, server in SERVERS.items()})
    print(markdown)
    full = not args.quick and len(servers) == len(SERVERS)
    prefix = args.results or RESULTS_DIR / ("serving" if full else "serving-partial")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".md").write_text(markdown)
    prefix.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    log(f"results in {prefix.with_suffix('.md')} and .json")
    failed = any("error" in figures for figures in results["tools"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
