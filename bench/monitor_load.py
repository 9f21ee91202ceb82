"""A monitor's cost to serving: a deployment under load, with and without a monitor reading
its prediction log, alternated in one run (issue 15: it slows serving by < 5%).

``keel serve deployments:/bench-api`` (one worker, the prediction log at 100%) serves the
serving benchmark's 20-feature LogisticRegression (``bench/serving.py``'s model, store and
wrk script), under single-row JSON requests at concurrency 32 from ``wrk`` (one process of
its own), the rows cycling through 1,000 drawn from the training distribution. A monitor on
the deployment (``keel.Client().monitors.create``, the training data as its reference)
runs in a separate process, ``client.monitors.run`` every second or back to back when a run
takes longer, each run reading the last ``--window`` of the log.

The two conditions alternate, off/on, ``rounds`` times on the same server, after one
warm-up, so that the machine's drift falls on both. For each: answered requests per second
and p99 latency; the slowdown; the monitor's run time and rows read per run. Figures go to
``bench/results/monitor_load.{md,json}`` (``monitor_load-quick`` with ``--quick``).

    .venv/bin/python bench/monitor_load.py            # about 4 minutes
    .venv/bin/python bench/monitor_load.py --quick    # 1-2 minutes: checks the harness
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
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from _anchors import REPO_DIR
from _report import Figures, format_number, machine_summary
from _servers import ServerProcess, loopback_env, tail
from _serving_tools import KEEL, KEEL_PYTHON, MODEL_FILE, WORKLOADS_DIR, keel_argv, run_model_script

import serving

MONITOR_SCRIPT = WORKLOADS_DIR / "monitor_loop.py"
DEPLOYMENT = "bench-api"
MONITOR = "bench-drift"
CONNECTIONS = 32
SLOWDOWN_TARGET = 0.05
MONITOR_START_TIMEOUT_S = 120.0
MONITOR_STOP_TIMEOUT_S = 300.0
CONDITIONS = ("off", "on")

DEPLOYED = replace(
    KEEL,
    key="keel-deployment",
    label="Keel, deployment, log 100%",
    argv=keel_argv(1, f"deployments:/{DEPLOYMENT}"),
    log_sampling=1.0,
    notes=(f"`keel serve deployments:/{DEPLOYMENT} --workers 1 --sampling 1`: the deployment "
           "on `models:/bench-logreg@champion`, every prediction written to the log",),
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """How long each part runs (wrk takes whole seconds)."""

    rounds: int = 4
    # longer than the prediction log's first flush (5 s), which imports its Parquet writer
    warmup_s: int = 10
    duration_s: int = 20
    interval_s: float = 1.0
    window: str = "5m"

    @classmethod
    def quick(cls) -> Settings:
        return cls(rounds=2, warmup_s=6, duration_s=3)


# The monitor's process --------------------------------------------------------------------


class MonitorLoop:
    """``workloads/monitor_loop.py loop`` in its own process: started (and imported) before
    the load, told to go when the load starts, stopped when it ends."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.log_path = folder / "monitor.log"
        self._log: IO[bytes] = self.log_path.open("ab")
        argv = [str(KEEL_PYTHON), str(MONITOR_SCRIPT), "loop", "--monitor", MONITOR,
                "--interval", str(settings.interval_s)]  # fmt: skip
        self.process = subprocess.Popen(
            argv,
            cwd=REPO_DIR,
            env=loopback_env(KEEL.env(folder)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin, self._stdout = self.process.stdin, self.process.stdout
        self._expect("ready", MONITOR_START_TIMEOUT_S)

    def _expect(self, word: str, timeout_s: float) -> str:
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(self._stdout, selectors.EVENT_READ)
            if not selector.select(timeout_s):
                self.kill()
                raise RuntimeError(f"the monitor loop said nothing in {timeout_s:.0f} s")
        line = self._stdout.readline().strip()
        if not line.startswith(word):
            self.kill()
            raise RuntimeError(f"the monitor loop failed:\n{tail(self.log_path, 20)}")
        return line

    def go(self) -> None:
        self._stdin.write("go\n")
        self._stdin.flush()

    def finish(self) -> Figures:
        """Close its stdin (it ends after the run in progress) and read what it ran."""
        self._stdin.close()
        line = self._expect("{", MONITOR_STOP_TIMEOUT_S)
        self.process.wait(timeout=MONITOR_STOP_TIMEOUT_S)
        self._log.close()
        return dict(json.loads(line))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


def monitor_figures(loop: Figures) -> Figures:
    runs = loop["runs"]
    seconds = [run["seconds"] for run in runs]
    rows = [run["rows"] for run in runs]
    return {
        "runs": len(runs),
        "errors": loop["errors"],
        "loop_s": loop["seconds"],
        "run_s_median": statistics.median(seconds) if seconds else None,
        "run_s_max": max(seconds, default=None),
        "cpu_s": sum(run["cpu_s"] for run in runs),
        "rows_median": statistics.median(rows) if rows else None,
        "rows_min": min(rows, default=None),
        "rows_max": max(rows, default=None),
        "samples": runs,
    }


# The run ----------------------------------------------------------------------------------


def phase(condition: str, url: str, bodies: serving.Bodies, rows: Path, folder: Path,
          settings: Settings) -> Figures:  # fmt: skip
    """One measured load, with the monitor looping through it when ``condition`` is on."""
    monitor = MonitorLoop(folder, settings) if condition == "on" else None
    try:
        if monitor is not None:
            monitor.go()
        load = serving.wrk(url, bodies.row, CONNECTIONS, settings.duration_s, bodies=rows)
    except BaseException:
        if monitor is not None:
            monitor.kill()
        raise
    figures: Figures = {"condition": condition, **load}
    if monitor is not None:
        figures["monitor"] = monitor_figures(monitor.finish())
    return figures


def measure(settings: Settings, spec: Figures, workdir: Path) -> Figures:
    folder = workdir / DEPLOYED.key
    folder.mkdir()
    shutil.copy(workdir / MODEL_FILE, folder / MODEL_FILE)
    DEPLOYED.prepare(folder)
    setup = run_model_script(
        KEEL_PYTHON, "setup", "--folder", str(folder), "--deployment", DEPLOYMENT,
        "--monitor", MONITOR, "--window", settings.window,
        env=DEPLOYED.env(folder), script=MONITOR_SCRIPT,
    )  # fmt: skip
    rows = Path(setup["bodies"])
    bodies = serving.write_bodies(DEPLOYED, spec, folder)
    process: ServerProcess = serving.start(DEPLOYED, folder, bodies)
    phases = []
    try:
        serving.check_answers(DEPLOYED, process, bodies, spec)
        url = process.base_url + DEPLOYED.route
        warmup = serving.wrk(url, bodies.row, CONNECTIONS, settings.warmup_s, bodies=rows)
        serving.log(f"  warm-up: {warmup['rps']:.0f} req/s")
        for round_number in range(1, settings.rounds + 1):
            for condition in CONDITIONS:
                done = phase(condition, url, bodies, rows, folder, settings)
                done["round"] = round_number
                phases.append(done)
                serving.log(f"  round {round_number}, monitor {condition}: "
                            f"{done['rps']:.0f} req/s, p99 {done['p99_ms']:.2f} ms"
                            + _monitor_line(done.get("monitor")))  # fmt: skip
        memory = process.memory()
    finally:
        serving.stop(process)
    answered = warmup["ok"] + sum(p["ok"] for p in phases)
    return {
        "setup": setup,
        # every answered request, and the check rows of the start probe and of the check
        "rows_predicted": answered + 2 * len(spec["check_rows"]),
        "warmup": warmup,
        "phases": phases,
        "memory": memory,
        "prediction_log": serving.logged_rows(folder, 1.0),
    }


def _monitor_line(monitor: Figures | None) -> str:
    if monitor is None:
        return ""
    return (f"; {monitor['runs']} monitor runs, median {format_number(monitor['run_s_median'])}"
            f" s, {format_number(monitor['rows_median'])} rows each")  # fmt: skip


# The summary and the report ---------------------------------------------------------------


def summarize(phases: list[Figures]) -> Figures:
    """Per condition: throughput over all its phases (answered requests / seconds), the
    median of its phases' p99; the slowdown, overall and per round (on against the off
    phase just before it)."""
    by: dict[str, Figures] = {}
    for condition in CONDITIONS:
        mine = [p for p in phases if p["condition"] == condition]
        seconds = sum(p["seconds"] for p in mine)
        by[condition] = {
            "phases": len(mine),
            "rps": sum(p["ok"] for p in mine) / seconds if seconds else None,
            "p99_ms_median": statistics.median(p["p99_ms"] for p in mine) if mine else None,
            "failed": sum(p["failed"] for p in mine),
        }
    off, on = by["off"]["rps"], by["on"]["rps"]
    pairs: dict[int, dict[str, Figures]] = {}
    for p in phases:
        pairs.setdefault(p["round"], {})[p["condition"]] = p
    per_round = [1 - pair["on"]["rps"] / pair["off"]["rps"] for pair in pairs.values()
                 if "on" in pair and "off" in pair and pair["off"]["rps"]]  # fmt: skip
    monitors = [p["monitor"] for p in phases if "monitor" in p]
    run_s = [s["seconds"] for m in monitors for s in m["samples"]]
    rows = [s["rows"] for m in monitors for s in m["samples"]]
    p99_off, p99_on = by["off"]["p99_ms_median"], by["on"]["p99_ms_median"]
    return {
        **by,
        "slowdown": 1 - on / off if on is not None and off else None,
        "slowdown_per_round": per_round,
        "p99_change": p99_on / p99_off - 1 if p99_on is not None and p99_off else None,
        "monitor_runs": len(run_s),
        "monitor_errors": sum(len(m["errors"]) for m in monitors),
        # the monitor's CPU time over its loops' time: the share of one core it took
        "monitor_cpu_share": _share(
            sum(m["cpu_s"] for m in monitors), sum(m["loop_s"] for m in monitors)
        ),
        "monitor_run_s_median": statistics.median(run_s) if run_s else None,
        "monitor_run_s_max": max(run_s, default=None),
        "monitor_rows_median": statistics.median(rows) if rows else None,
        "monitor_rows_min": min(rows, default=None),
        "monitor_rows_max": max(rows, default=None),
    }


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def render(results: Figures) -> str:
    settings, machine = results["settings"], results["machine"]
    lines = [
        "# A monitor's cost to serving: a deployment under load, monitor off vs on",
        "",
        f"- date: {results['date']}; mode: {results['mode']}; command: `{results['command']}`",
        "- machine: {nproc} cores, {cpu_model}, Python {python}, load average at start "
        "{load_average_start}, at end {load_average_end}".format(**machine),
        f"- server: {DEPLOYED.notes[0]}",
        f"- load: wrk, one thread, {CONNECTIONS} connections, single-row JSON requests "
        "cycling through 1,000 rows of the training distribution; "
        f"{settings['warmup_s']} s warm-up, then {settings['rounds']} rounds of "
        f"{settings['duration_s']} s with the monitor off, then on",
        f"- monitor: `client.monitors.run('{MONITOR}')` in a process of its own, every "
        f"{settings['interval_s']:g} s or back to back when a run takes longer, each reading "
        f"the last {settings['window']} of the deployment's prediction log (the reference, "
        "the 5,000 training rows, profiled at setup)",
    ]
    if "error" in results:
        return "\n".join([*lines, "", f"**Failed:** {results['error']}", ""])
    figures = results["figures"]
    lines += ["", "| round | monitor | req/s | p99 (ms) | failed | monitor runs |"
              " run time, median / max (s) | rows read per run, median (min to max) |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for p in figures["phases"]:
        m = p.get("monitor")
        runs = ("—", "—", "—") if m is None else (
            str(m["runs"]),
            f"{format_number(m['run_s_median'])} / {format_number(m['run_s_max'])}",
            f"{format_number(m['rows_median'])} ({format_number(m['rows_min'])} to "
            f"{format_number(m['rows_max'])})",
        )  # fmt: skip
        cells = [str(p["round"]), p["condition"], format_number(p["rps"]),
                 format_number(p["p99_ms"]), str(p["failed"]), *runs]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    s = figures["summary"]
    per_round = ", ".join(_percent(x) for x in s["slowdown_per_round"])
    lines += [
        "",
        "| | monitor off | monitor on | change |",
        "|---|---|---|---|",
        f"| req/s (all phases) | {format_number(s['off']['rps'])} | "
        f"{format_number(s['on']['rps'])} | slowdown {_percent(s['slowdown'])} "
        f"(per round: {per_round}) |",
        f"| p99 (ms, median of phases) | {format_number(s['off']['p99_ms_median'])} | "
        f"{format_number(s['on']['p99_ms_median'])} | {_percent(s['p99_change'])} |",
        f"| monitor runs | — | {s['monitor_runs']} ({s['monitor_errors']} failed) | |",
        f"| monitor run time, median / max (s) | — | {format_number(s['monitor_run_s_median'])}"
        f" / {format_number(s['monitor_run_s_max'])} | |",
        f"| monitor CPU while on (share of one core) | — | {_percent(s['monitor_cpu_share'])} | |",
        f"| rows read per run, median (min to max) | — | {format_number(s['monitor_rows_median'])}"
        f" ({format_number(s['monitor_rows_min'])} to {format_number(s['monitor_rows_max'])}) | |",
    ]
    lines += ["", *_verdict(figures, quick=results["mode"] == "quick")]
    return "\n".join([*lines, ""])


def _met(slowdown: float | None) -> str:
    return "—" if slowdown is None else ("yes" if slowdown < SLOWDOWN_TARGET else "**no**")


def _verdict(figures: Figures, *, quick: bool) -> list[str]:
    s, logged = figures["summary"], figures["prediction_log"]
    lines = [f"Prediction log after the run: {logged['rows']:,} rows in {logged['files']:,} "
             f"Parquet files ({logged['spooled_rows']:,} left in the spool); rows predicted: "
             f"{figures['rows_predicted']:,}, give or take the requests in flight when wrk "
             "stopped."]  # fmt: skip
    if not s["monitor_runs"] or not s["monitor_rows_max"] or s["monitor_errors"]:
        lines.append("**The monitor did not read the log on every run (no run, no rows, or "
                     "failed runs): the slowdown below is not a monitor's.**")  # fmt: skip
        met = "—"
    elif quick:
        met = "not judged: a quick run checks the harness"
    else:
        met = _met(s["slowdown"])
    return [*lines, "", "| target (issue 15) | measured | met |", "|---|---|---|",
            f"| a monitor reading the log slows serving by < 5% (c={CONNECTIONS}) | "
            f"{_percent(s['slowdown'])} | {met} |"]  # fmt: skip


# The command ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two short rounds")
    parser.add_argument("--rounds", type=int, help="off/on pairs (default 4; quick 2)")
    parser.add_argument("--duration", type=int, help="seconds per phase (default 20)")
    parser.add_argument("--interval", type=float, help="seconds between monitor runs (1)")
    parser.add_argument("--window", help="the log window each run reads (default 5m)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--results", type=Path, help="output path without suffix")
    return parser.parse_args(argv)


def chosen_settings(args: argparse.Namespace) -> Settings:
    settings = Settings.quick() if args.quick else Settings()
    given = {"rounds": args.rounds, "duration_s": args.duration,
             "interval_s": args.interval, "window": args.window}  # fmt: skip
    settings = replace(settings, **{k: v for k, v in given.items() if v is not None})
    if settings.rounds < 1 or settings.duration_s < 1 or settings.interval_s < 0:
        raise SystemExit("--rounds and --duration: at least 1; --interval: 0 or more")
    return settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = chosen_settings(args)
    if shutil.which("wrk") is None:
        raise SystemExit("the benchmark drives the server with wrk: apt-get install -y wrk")
    signal.signal(signal.SIGTERM, serving.raise_on_signal)
    signal.signal(signal.SIGHUP, serving.raise_on_signal)
    results: Figures = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/monitor_load.py", *(argv or sys.argv[1:])]),
        "mode": "quick" if args.quick else "full",
        "machine": machine_summary(),
        "settings": asdict(settings),
    }
    workdir = Path(tempfile.mkdtemp(prefix="keel-bench-monitor-load-"))
    try:
        model = workdir / MODEL_FILE
        results["model"] = run_model_script(KEEL_PYTHON, "train", "--out", str(model))
        figures = measure(settings, json.loads(model.read_text()), workdir)
        figures["summary"] = summarize(figures["phases"])
        results["figures"] = figures
    except Exception as error:  # the report says what failed, with the server's log tail
        serving.log(f"FAILED: {error}")
        results["error"] = str(error)
    finally:
        serving.stop_all()
        if args.keep:
            serving.log(f"temporary files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["machine"]["load_average_end"] = os.getloadavg()
    markdown = render(results)
    print(markdown)
    name = "monitor_load-quick" if args.quick else "monitor_load"
    prefix = args.results or serving.RESULTS_DIR / name
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".md").write_text(markdown)
    prefix.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    serving.log(f"results in {prefix.with_suffix('.md')} and .json")
    return 1 if "error" in results else 0


if __name__ == "__main__":
    sys.exit(main())
