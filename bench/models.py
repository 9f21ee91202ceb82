"""Models benchmark: Keel side by side with MLflow, in one run.

Each tool runs its own server on SQLite over 127.0.0.1 (one worker) in a fresh folder and
is driven by its own client (``bench/workloads/models_workload.py``):

- log and register a 100-tree random forest (with an input example) and set ``champion``;
- from a fresh process, load ``models:/<name>@champion`` and make a first prediction
  (wall time of the whole process, interpreter start included; median of 3);
- the registry: create N models x 5 versions, then list them all.

    .venv/bin/python bench/models.py            # N=1,000 models (5,000 versions)
    .venv/bin/python bench/models.py --quick    # N=100
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _anchors import KEEL, MLFLOW, REPO_DIR, Venv
from _report import machine_summary
from _servers import free_port, loopback_env, start_server

WORKLOAD = Path(__file__).resolve().parent / "workloads" / "models_workload.py"

# Keel as a user installs it for scikit-learn models (`pip install 'keel-mlops[sklearn]'`), in its
# own environment like the anchor: the project's .venv also holds the test extras (PyTorch
# among them), which scikit-learn's and skops' imports would pull in and time.
KEEL_MODELS_VENV = Venv("keel-models", f"--editable={REPO_DIR}[sklearn]")
KEEL_MODELS = replace(KEEL, venvs=(KEEL_MODELS_VENV,), client_python=KEEL_MODELS_VENV.bin("python"))
RESULTS = Path(__file__).resolve().parent / "results"


def run_phase(tool, phase: str, uri: str, *extra: str) -> tuple[dict, float]:  # type: ignore[no-untyped-def]
    argv = [str(tool.client_python), str(WORKLOAD), phase, "--tool", tool.key, "--uri", uri]
    start = time.perf_counter()
    done = subprocess.run(
        [*argv, *extra], capture_output=True, text=True, env=loopback_env(), cwd=REPO_DIR
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{tool.label} {phase} failed:\n{done.stderr[-3000:]}")
    last = [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last), wall


def measure(tool, count: int, folder: Path) -> dict:  # type: ignore[no-untyped-def]
    tool.ensure_installed()
    port = free_port()
    data = folder / tool.key
    data.mkdir()
    server = start_server(
        tool.key,
        tool.server_argv(port, data),
        port=port,
        health_path=tool.health_path,
        log_path=data / "server.log",
        cwd=REPO_DIR,
    )
    try:
        uri = server.base_url
        logged, _ = run_phase(tool, "log", uri)
        walls = [run_phase(tool, "predict", uri)[1] for _ in range(3)]
        registry, _ = run_phase(
            tool, "registry", uri, "--count", str(count), "--source", logged["source"]
        )
    finally:
        server.stop()
    return {
        "log_register_s": logged["seconds"],
        "first_prediction_s": statistics.median(walls),
        "first_prediction_samples_s": walls,
        "registry_create_s": registry["create_s"],
        "registry_list_s": registry["list_s"],
        "registry_listed": registry["listed"],
    }


def table(keel: dict, mlflow: dict, count: int) -> str:
    rows = [
        ("log + register a 100-tree random forest (s)", "log_register_s"),
        ("fresh process to first prediction from `models:/name@champion` (s)",
         "first_prediction_s"),
        (f"create {count:,} models x 5 versions (s)", "registry_create_s"),
        (f"list {count:,} registered models (s)", "registry_list_s"),
    ]  # fmt: skip
    lines = [
        "| measure | Keel | MLflow 3.17.2 | Keel / MLflow |",
        "|---|---|---|---|",
    ]
    for label, key in rows:
        k, m = keel[key], mlflow[key]
        lines.append(f"| {label} | {k:.3f} | {m:.3f} | {k / m:.2f} ({m / k:.1f}x faster) |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 models instead of 1,000")
    args = parser.parse_args()
    count = 100 if args.quick else 1000
    with tempfile.TemporaryDirectory(prefix="keel-bench-models-") as tmp:
        results = {tool.key: measure(tool, count, Path(tmp)) for tool in (KEEL_MODELS, MLFLOW)}
    report = "\n".join(
        [
            "# Models benchmark: Keel vs MLflow 3.17.2",
            "",
            "- machine: {nproc} cores, {cpu_model}, Python {python}, load average at start "
            "{load_average_start}".format(**machine_summary()),
            f"- command: `.venv/bin/python bench/models.py{' --quick' if args.quick else ''}`",
            "- setup: each server on SQLite, HTTP on 127.0.0.1, one worker, fresh folder; "
            "the same scikit-learn model and data for both; each client in its own virtual "
            "environment (Keel: `keel-mlops[sklearn]`; MLflow: `mlflow`), both in skops format; "
            "Keel also saves a verified ONNX copy at log time and serves from it by default",
            "",
            table(results["keel"], results["mlflow"], count),
            "",
        ]
    )
    print(report)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "models.md").write_text(report)
        (RESULTS / "models.json").write_text(json.dumps(results, indent=2))
    sys.exit(0)


if __name__ == "__main__":
    main()
