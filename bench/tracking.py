"""Tracking benchmark: Keel side by side with MLflow and FastTrackML, in one run.

Every tool runs its own server on SQLite over HTTP on 127.0.0.1 with one worker, started
fresh in a temporary folder; each workload is a script run with that tool's own
interpreter, printing one JSON object of figures. The result is a Markdown table of each
figure and Keel's ratio to each anchor, also written under ``bench/results/``.

    .venv/bin/python bench/tracking.py                 # full run, about 10-15 minutes
    .venv/bin/python bench/tracking.py --quick         # about 3 minutes
    .venv/bin/python bench/tracking.py --only mlflow,fasttrackml --quick
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
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from _anchors import REPO_DIR, TOOLS, Tool
from _report import Figures, Row, dig, format_number, machine_summary, markdown_table, scaled
from _servers import ServerProcess, free_port, loopback_env, start_server, tail
from workloads._dataset import generate_runs

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ANCHORS = ("mlflow", "fasttrackml")
IDLE_SETTLE_S = 2.0
WORKLOAD_TIMEOUT_S = 30 * 60
_live_servers: set[ServerProcess] = set()
NOTES = (
    "Notes:",
    "- Ratios: rates are Keel/anchor, times and memory anchor/Keel.",
    "- `log_metric`: Keel buffers points; its time runs until `keel.end_run()` and "
    "`keel.flush()` return, when every point is durable on the server. The anchors' MLflow "
    "client makes one HTTP call per point.",
    "- Creating runs times the fluent `with start_run(): log_params; log_metrics; set_tags` "
    "loop. Keel stores each run before `start_run` returns and its writes and end before "
    "the block exits (two round trips a run), as MLflow does.",
    "- Seeding search runs is a bulk import through Keel's client "
    "(`create_run(synchronous=False)`): creations ride the background batches.",
    "- Search: the anchors' runs are inserted with SQL into their own schema, Keel's through "
    "its client; before timing, each tool's answer is checked against the generated data.",
    "- Memory: the sum over every process of the server's session; MLflow 3.17 starts a "
    "uvicorn worker plus a job runner with huey consumers (on by default; "
    "`MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false` turns it off), PSS counts shared pages once.",
)


@dataclass(frozen=True)
class Settings:
    """How much work each measure does; Keel always does the full amount."""

    keel_metric_points: int = 5000
    anchor_metric_points: int = 5000
    batch_points: int = 100_000
    keel_runs: int = 2000
    anchor_runs: int = 2000
    search_sizes: tuple[int, ...] = (2000, 20_000)
    search_reps: int = 20
    search_warmup: int = 2
    history_reps: int = 3
    downsample_reps: int = 20
    process_reps: int = 5

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            anchor_metric_points=300,
            anchor_runs=200,
            search_reps=5,
            search_warmup=1,
            history_reps=1,
            downsample_reps=5,
            process_reps=3,
        )

    def write_args(self, tool: Tool) -> list[str]:
        is_keel = tool.key.startswith("keel")  # Keel and Keel with token auth
        points = self.keel_metric_points if is_keel else self.anchor_metric_points
        runs = self.keel_runs if is_keel else self.anchor_runs
        return [
            f"--metric-points={points}",
            f"--batch-points={self.batch_points}",
            f"--runs={runs}",
            f"--history-reps={self.history_reps}",
            f"--downsample-reps={self.downsample_reps}",
        ]

    def sizes_arg(self) -> str:
        return ",".join(str(size) for size in self.search_sizes)


class WorkloadError(RuntimeError):
    """A workload script failed; the message carries its log tail and the server's."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- process-level costs


def wall_time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def median_wall_time(argv: list[str], reps: int) -> float:
    wall_time(argv)  # warm the file cache
    return statistics.median(wall_time(argv) for _ in range(reps))


def net_import_time(python: str, module: str, reps: int) -> dict[str, float]:
    """``python -c "import module"`` minus ``python -c pass``, run in interleaved pairs so
    that a burst of other load on the machine hits both halves of a pair alike."""
    bare_argv, import_argv = [python, "-c", "pass"], [python, "-c", f"import {module}"]
    for argv in (bare_argv, import_argv):
        wall_time(argv)  # warm the file cache
    bare, loaded = [], []
    for _ in range(reps):
        bare.append(wall_time(bare_argv))
        loaded.append(wall_time(import_argv))
    return {
        "import_s": statistics.median(b - a for a, b in zip(bare, loaded, strict=True)),
        "import_wall_s": statistics.median(loaded),
        "bare_interpreter_s": statistics.median(bare),
    }


def measure_process_costs(tool: Tool, reps: int) -> Figures:
    """Import time net of a bare interpreter, and the CLI's ``--help`` wall time."""
    figures: Figures = {"cli_help_s": median_wall_time(list(tool.cli), reps)}
    if tool.import_module:
        figures.update(net_import_time(str(tool.client_python), tool.import_module, reps))
    return figures


# ---------------------------------------------------------------- workloads


def run_workload(
    tool: Tool, server: ServerProcess, phase: str, args: list[str], data_dir: Path
) -> Figures:
    """Run one phase of the tool's workload script; return the JSON it printed."""
    argv = [str(tool.client_python), str(tool.workload), phase, "--uri", server.base_url, *args]
    env = loopback_env(
        {"KEEL_TRACKING_URI": server.base_url, "MLFLOW_TRACKING_URI": server.base_url}
    )
    if tool.authenticated:
        env["KEEL_TRACKING_TOKEN"] = (data_dir / TOKEN_FILE).read_text()
    log_path = data_dir / f"workload-{phase}.log"
    log(f"{tool.key}: {phase} {' '.join(args)}")
    with log_path.open("wb") as stderr:
        done = subprocess.run(
            argv,
            cwd=data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            timeout=WORKLOAD_TIMEOUT_S,
        )
    if done.returncode != 0:
        raise WorkloadError(
            f"{tool.key} {phase} exited with {done.returncode}\n"
            f"--- {log_path.name} (tail)\n{tail(log_path)}\n"
            f"--- server log (tail)\n{server.log_tail()}"
        )
    return _last_json_line(done.stdout.decode(errors="replace"), f"{tool.key} {phase}")


def _last_json_line(stdout: str, what: str) -> Figures:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    raise WorkloadError(f"{what} printed no JSON object; stdout was:\n{stdout[-2000:]}")


def seed_search_data(
    tool: Tool, server: ServerProcess, settings: Settings, data_dir: Path
) -> tuple[dict[str, str], Figures]:
    """Create and fill one experiment per search size; return their ids and seeding figures."""
    sizes = f"--sizes={settings.sizes_arg()}"
    if tool.sql_seeder is None:
        seeded = run_workload(tool, server, "seed", [sizes], data_dir)
        return seeded["experiments"], seeded["seeding"]
    created = run_workload(tool, server, "experiments", [sizes], data_dir)
    seeding: Figures = {}
    for size, experiment_id in created["experiments"].items():
        start = time.perf_counter()
        tool.sql_seeder(data_dir / tool.db_file, str(experiment_id), generate_runs(int(size)))
        seeding[size] = {
            "method": "sql",
            "count": int(size),
            "seconds": time.perf_counter() - start,
        }
    return {size: str(eid) for size, eid in created["experiments"].items()}, seeding


TOKEN_FILE = "bench-token"


def create_bench_user(tool: Tool, data_dir: Path) -> None:
    """A non-admin editor on the default project, so each request's role is checked; its
    token goes to the workloads through KEEL_TRACKING_TOKEN."""
    keel = str(Path(tool.cli[0]))
    target = ["-t", f"sqlite:///{data_dir / tool.db_file}"]
    created = subprocess.run(
        [keel, "users", "create", "bench", "--json", *target],
        check=True, capture_output=True, text=True, env=loopback_env({}),
    )  # fmt: skip
    token = json.loads(created.stdout)["token"]["token"]
    subprocess.run(
        [keel, "projects", "grant", "default", "bench", "editor", *target],
        check=True, capture_output=True, env=loopback_env({}),
    )  # fmt: skip
    (data_dir / TOKEN_FILE).write_text(token)


def launch(tool: Tool, data_dir: Path, log_name: str) -> ServerProcess:
    if tool.authenticated and not (data_dir / TOKEN_FILE).exists():
        create_bench_user(tool, data_dir)
    port = free_port()
    server = start_server(
        tool.key,
        tool.server_argv(port, data_dir),
        port=port,
        health_path=tool.health_path,
        log_path=data_dir / log_name,
        cwd=data_dir,
    )
    _live_servers.add(server)
    return server


def shut_down(server: ServerProcess) -> None:
    server.stop()
    _live_servers.discard(server)


def measure_server_workloads(tool: Tool, settings: Settings, data_dir: Path) -> Figures:
    """Fresh server: start-up, idle memory, the workloads, memory after; then a restart."""
    server = launch(tool, data_dir, "server.log")
    log(f"{tool.key}: healthy after {server.startup_s:.2f}s at {server.base_url}")
    try:
        time.sleep(IDLE_SETTLE_S)
        stats: Figures = {"startup_s": server.startup_s, "idle": server.memory()}
        figures = run_workload(tool, server, "write", settings.write_args(tool), data_dir)
        experiments, seeding = seed_search_data(tool, server, settings, data_dir)
        searched = run_workload(
            tool,
            server,
            "search",
            [
                "--experiments=" + ",".join(f"{s}={e}" for s, e in experiments.items()),
                f"--search-reps={settings.search_reps}",
                f"--search-warmup={settings.search_warmup}",
            ],
            data_dir,
        )
        time.sleep(IDLE_SETTLE_S)
        stats["after_workloads"] = server.memory()
    finally:
        shut_down(server)
    restarted = launch(tool, data_dir, "server-restart.log")
    stats["restart_s"] = restarted.startup_s
    shut_down(restarted)
    return {**figures, **searched, "seeding": seeding, "server": stats}


def bench_tool(tool: Tool, settings: Settings, workdir: Path) -> Figures:
    """Every figure for one tool; a failure is recorded and the other tools still run."""
    figures: Figures = {"label": tool.label}
    steps = (
        ("process costs", lambda: measure_process_costs(tool, settings.process_reps)),
        ("server workloads", lambda: measure_server_workloads(tool, settings, workdir / tool.key)),
    )
    if tool.authenticated:  # the same client and CLI as Keel's: only the server differs
        steps = steps[1:]
    (workdir / tool.key).mkdir(parents=True, exist_ok=True)
    for name, step in steps:
        try:
            figures.update(step())
        except Exception as error:  # report, keep going with the next measure and tool
            log(f"{tool.key}: {name} FAILED: {error}")
            figures.setdefault("errors", []).append(f"{name}: {error}")
    return figures


# ---------------------------------------------------------------- report


def table_rows(settings: Settings) -> list[Row]:
    rows = [
        Row("`log_metric` per call, one run (points/s)", scaled("log_metric.per_s"),
            count_path="log_metric.count"),
        Row("`log_batch`, one run (points/s)", scaled("log_batch.per_s"),
            count_path="log_batch.count"),
        Row("create runs: 10 params, 5 metrics, 3 tags each (runs/s)",
            scaled("create_runs.per_s"), count_path="create_runs.count"),
    ]  # fmt: skip
    for size in settings.search_sizes:
        for stat in ("median", "p95"):
            rows.append(
                Row(f"`search_runs` over {size:,} runs, {stat} (ms)",
                    scaled(f"search.{size}.{stat}_s", 1000), better="lower")
            )  # fmt: skip
    rows += [
        Row("`get_metric_history`, full, median (s)", scaled("history.median_s"),
            better="lower", count_path="history.points"),
        Row("`get_metric_history`, `max_points=1000`, median (ms)",
            scaled("history.downsampled.median_s", 1000), better="lower"),
        Row(f"seed {settings.search_sizes[-1]:,} search runs through the client (runs/s)",
            scaled(f"seeding.{settings.search_sizes[-1]}.per_s"), kind="info"),
        Row("`import` of the client, net of `python -c pass`, median of pairs (ms)",
            scaled("import_s", 1000),
            better="lower"),
        Row("CLI `--help` wall time (ms)", scaled("cli_help_s", 1000), better="lower"),
        Row("server start to healthy, new database (s)", scaled("server.startup_s"),
            better="lower"),
        Row("server start to healthy, existing database (s)", scaled("server.restart_s"),
            better="lower"),
        Row("server processes", scaled("server.idle.processes"), kind="info"),
        Row("server RSS, idle after start (MiB)", scaled("server.idle.rss_mib"),
            better="lower", kind="memory"),
        Row("server RSS after the workloads (MiB)", scaled("server.after_workloads.rss_mib"),
            better="lower", kind="memory"),
        Row("server PSS, idle after start (MiB)", scaled("server.idle.pss_mib"),
            better="lower", kind="memory"),
        Row("server PSS after the workloads (MiB)", scaled("server.after_workloads.pss_mib"),
            better="lower", kind="memory"),
    ]  # fmt: skip
    return rows


def command_line() -> str:
    python = Path(sys.executable)
    shown = os.path.relpath(python, REPO_DIR) if python.is_relative_to(REPO_DIR) else str(python)
    script = os.path.relpath(Path(sys.argv[0]).resolve(), REPO_DIR)
    return shlex.join([shown, script, *sys.argv[1:]])


def render(results: Figures, settings: Settings) -> str:
    tools: dict[str, Figures] = results["tools"]
    labels = {key: tool.label for key, tool in TOOLS.items()}
    machine = results["machine"]
    lines = [
        "# Tracking benchmark: Keel vs " + " vs ".join(labels[a] for a in ANCHORS),
        "",
        f"- date: {results['date']}",
        f"- machine: {machine['nproc']} cores, {machine['cpu_model']}, "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']}, Python {machine['python']}",
        f"- load average (1, 5, 15 min) at start {_loads(machine['load_average_start'])}, "
        f"at end {_loads(machine['load_average_end'])}: other work on the machine skews figures",
        f"- command: `{results['command']}` ({results['mode']} mode)",
        "- setup: each server on SQLite, HTTP on 127.0.0.1, one worker, fresh database; "
        "FastTrackML driven with the MLflow client; anchors' search data seeded with SQL",
        "",
        markdown_table(table_rows(settings), tools, labels, list(ANCHORS)),
    ]
    if "keel" in tools and "keel-auth" in tools:
        lines += ["", *auth_cost_table(tools["keel"], tools["keel-auth"], settings)]
    lines += ["", *NOTES]
    errors = [f"- {key}: {err}" for key, fig in tools.items() for err in fig.get("errors", [])]
    if errors:
        lines += ["", "Errors (first line each):", *(e.splitlines()[0] for e in errors)]
    return "\n".join(lines) + "\n"


def auth_cost_table(open_: Figures, authed: Figures, settings: Settings) -> list[str]:
    """What authentication costs: the same workloads, open and with a bearer token checked
    on every request (a non-admin editor, so its role on the run's project is looked up)."""
    largest = settings.search_sizes[-1]
    rows = [
        ("`log_metric` per call (points/s)", "log_metric.per_s", "higher"),
        ("`log_batch` (points/s)", "log_batch.per_s", "higher"),
        ("create runs (runs/s)", "create_runs.per_s", "higher"),
        (f"`search_runs` over {largest:,} runs, median (ms)",
         f"search.{largest}.median_s", "lower"),
        ("`get_metric_history`, full, median (s)", "history.median_s", "lower"),
    ]  # fmt: skip
    lines = [
        "Authentication's cost (same server; token auth: a non-admin editor's bearer token on "
        "every request):",
        "",
        "| measure | open | token auth | cost |",
        "|---|---|---|---|",
    ]
    for label, path, better in rows:
        plain, checked = dig(open_, path), dig(authed, path)
        if plain is None or checked is None:
            continue
        factor = 1000 if path.endswith("median_s") and "search" in path else 1
        slower = plain / checked - 1 if better == "higher" else checked / plain - 1
        lines.append(
            f"| {label} | {format_number(plain * factor)} | {format_number(checked * factor)} "
            f"| {slower:+.1%} |"
        )
    return lines


def _loads(loads: tuple[float, ...]) -> str:
    return " / ".join(f"{load:.2f}" for load in loads)


def write_results(prefix: Path, markdown: str, results: Figures) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".md").write_text(markdown)
    prefix.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"wrote {prefix.with_suffix('.md')} and {prefix.with_suffix('.json')}")


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller anchor counts, fewer repetitions"
    )
    parser.add_argument(
        "--only", default="keel,keel-auth,mlflow,fasttrackml", help="comma-separated tools"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--anchor-points", type=int, help="log_metric calls for the anchors")
    parser.add_argument("--anchor-runs", type=int, help="runs the anchors create")
    parser.add_argument("--batch-points", type=int, help="points in the log_batch run")
    parser.add_argument(
        "--results",
        type=Path,
        help="output path without suffix (default: bench/results/tracking for a full run of "
        "all tools, bench/results/tracking-partial otherwise)",
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings.quick() if args.quick else Settings()
    if args.anchor_points:
        settings = replace(settings, anchor_metric_points=args.anchor_points)
    if args.anchor_runs:
        settings = replace(settings, anchor_runs=args.anchor_runs)
    if args.batch_points:
        settings = replace(settings, batch_points=args.batch_points)
    return settings


def selected_tools(only: str) -> list[Tool]:
    keys = [key.strip() for key in only.split(",") if key.strip()]
    unknown = [key for key in keys if key not in TOOLS]
    if unknown:
        raise SystemExit(f"unknown tool(s) {unknown}; choose from {sorted(TOOLS)}")
    return [TOOLS[key] for key in TOOLS if key in keys]


def results_prefix(args: argparse.Namespace, tools: list[Tool]) -> Path:
    if args.results:
        return Path(args.results)
    is_full = not args.quick and len(tools) == len(TOOLS)
    return RESULTS_DIR / ("tracking" if is_full else "tracking-partial")


def _raise_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    tools = selected_tools(args.only)
    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGHUP, _raise_on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="keel-bench-tracking-"))
    results: Figures = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(),
        "mode": "quick" if args.quick else "full",
        "machine": machine_summary(),
        "settings": asdict(settings),
        "tools": {},
    }
    failed = False
    try:
        for tool in tools:
            tool.ensure_installed()
        for tool in tools:
            log(f"=== {tool.label}")
            figures = bench_tool(tool, settings, workdir)
            results["tools"][tool.key] = figures
            failed = failed or bool(figures.get("errors"))
    finally:
        for server in list(_live_servers):
            shut_down(server)
        if args.keep or failed:
            log(f"temporary files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["machine"]["load_average_end"] = os.getloadavg()
    markdown = render(results, settings)
    print(markdown)
    write_results(results_prefix(args, tools), markdown, results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
