"""Monitoring benchmark: ``keel.monitoring.drift`` side by side with Evidently's
``DataDriftPreset``, in one run, on the same generated data.

The data (``bench/_monitoring_data.py``): 20 columns, 15 numeric and 5 categorical, a
reference and a current window of the same size, 8 columns shifted in the current one.
Every measurement runs in a process of its own (``bench/workloads/monitoring_workload.py``):
Evidently in its own venv (``bench/.venvs/evidently``, pandas < 3), Keel in this one. Both
read the same Parquet files into pandas before the clock starts; the time is the drift
computation; the memory is the process's peak resident set (``wait4``'s rusage), the
loaded frames included. Keel is also measured on its own way in, the two Parquet paths
(read column by column and in batches, the read timed).

- time and peak memory at 100,000 and 1,000,000 rows a side (targets: >= 50x faster,
  <= 1/3 of Evidently's peak);
- per-column verdict agreement over five seeds at the smaller size (target >= 95%);
- 10,000,000 rows x 20 columns streamed from Parquet against a stored reference profile
  (JSON, computed once from the reference): < 10 s and < 1 GiB resident.

    .venv/bin/python bench/monitoring.py            # the sizes above
    .venv/bin/python bench/monitoring.py --quick    # 10,000 and 50,000 rows; 1,000,000 streamed

Results: bench/results/monitoring.json and .md (``--quick`` writes monitoring-quick.*).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _anchors import REPO_DIR, Venv
from _monitoring_data import CATEGORICAL, NUMERIC
from _report import format_number, machine_summary

EVIDENTLY_VERSION = ">=0.7,<0.8"
EVIDENTLY_VENV = Venv("evidently", f"evidently{EVIDENTLY_VERSION}", extras=("pandas<3",))
WORKLOAD = Path(__file__).resolve().parent / "workloads" / "monitoring_workload.py"
RESULTS = Path(__file__).resolve().parent / "results"
FULL = {"sizes": [100_000, 1_000_000], "seeds": 5, "stream_rows": 10_000_000}
QUICK = {"sizes": [10_000, 50_000], "seeds": 5, "stream_rows": 1_000_000}
TARGETS = {"speedup": 50.0, "memory_share": 1 / 3, "agreement": 0.95}
STREAM_TARGETS = {"seconds": 10.0, "rss_mib": 1024.0}


KEEL_ENV = {**os.environ, "PYTHONPATH": str(REPO_DIR / "src")}  # this checkout's Keel
DATA_SCRIPT = Path(__file__).resolve().parent / "_monitoring_data.py"


def helper(*argv: str) -> None:
    """Generate data or a profile in a process of its own: this one stays small (see
    ``_monitoring_data``'s docstring on why a child's peak starts from its parent's)."""
    done = subprocess.run(
        [sys.executable, str(DATA_SCRIPT), *argv], env=KEEL_ENV, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"_monitoring_data.py {' '.join(argv)} failed:\n{done.stderr[-3000:]}")


def write(path: Path, rows: int, seed: int, *, current: bool) -> Path:
    helper("write", str(path), str(rows), str(seed), "current" if current else "reference")
    return path


def measure(tool: str, reference: Path, current: Path) -> dict[str, Any]:
    """Run one measurement in a fresh process; its figures and its peak RSS (MiB): the
    child's rusage from ``wait4``, and the peak it read from /proc (``VmHWM``) to check."""
    if tool == "evidently":
        python = str(EVIDENTLY_VENV.bin("python"))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    else:
        python = sys.executable
        env = KEEL_ENV
    argv = [
        python, str(WORKLOAD), "--tool", tool,
        "--reference", str(reference), "--current", str(current),
        "--numeric", ",".join(NUMERIC), "--categorical", ",".join(CATEGORICAL),
    ]  # fmt: skip
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=REPO_DIR)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"{tool} failed ({process.returncode}):\n{stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    figures["peak_rss_mib"] = usage.ru_maxrss / 1024  # KiB on Linux
    return figures


def pair(folder: Path, rows: int, seed: int) -> tuple[Path, Path]:
    reference = write(folder / f"reference-{rows}-{seed}.parquet", rows, seed, current=False)
    current = write(folder / f"current-{rows}-{seed}.parquet", rows, seed, current=True)
    return reference, current


def agreement(keel: dict[str, Any], evidently: dict[str, Any]) -> dict[str, Any]:
    names = sorted(evidently["columns"])
    same = [n for n in names if keel["columns"][n]["drifted"] == evidently["columns"][n]["drifted"]]
    return {
        "columns": len(names),
        "agree": len(same),
        "disagree": sorted(set(names) - set(same)),
        "keel_drifted": sorted(n for n in names if keel["columns"][n]["drifted"]),
        "evidently_drifted": sorted(n for n in names if evidently["columns"][n]["drifted"]),
    }


def run(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    EVIDENTLY_VENV.ensure()
    sizes: dict[str, Any] = {}
    seeds: list[dict[str, Any]] = []
    for rows in config["sizes"]:
        reference, current = pair(folder, rows, 0)
        print(f"[{rows:,} rows] Evidently ...", file=sys.stderr)
        evidently = measure("evidently", reference, current)
        print(f"[{rows:,} rows] Keel ...", file=sys.stderr)
        keel = measure("keel", reference, current)
        parquet = measure("keel-parquet", reference, current)
        sizes[str(rows)] = {"keel": keel, "keel_parquet": parquet, "evidently": evidently}
        if rows == config["sizes"][0]:
            seeds.append({"seed": 0, **agreement(keel, evidently)})
        for path in (reference, current):
            path.unlink()
    rows = config["sizes"][0]
    for seed in range(1, config["seeds"]):
        print(f"[agreement] seed {seed} ...", file=sys.stderr)
        reference, current = pair(folder, rows, seed)
        evidently = measure("evidently", reference, current)
        keel = measure("keel", reference, current)
        seeds.append({"seed": seed, **agreement(keel, evidently)})
        for path in (reference, current):
            path.unlink()
    stream = stream_run(folder, config["sizes"][0], config["stream_rows"])
    agreed = sum(s["agree"] for s in seeds)
    total = sum(s["columns"] for s in seeds)
    return {
        "sizes": sizes,
        "agreement": {"rows": rows, "seeds": seeds, "share": agreed / total if total else None},
        "stream": stream,
    }


def stream_run(folder: Path, reference_rows: int, rows: int) -> dict[str, Any]:
    """A profile stored once from a reference, then ``rows`` rows streamed from Parquet."""
    reference = write(folder / "stream-reference.parquet", reference_rows, 99, current=False)
    profile = folder / "profile.json"
    helper("profile", str(reference), str(profile))
    print(f"[stream] writing {rows:,} rows ...", file=sys.stderr)
    start = time.perf_counter()
    current = write(folder / "stream-current.parquet", rows, 99, current=True)
    print(f"[stream] written in {time.perf_counter() - start:.0f} s; measuring", file=sys.stderr)
    figures = measure("keel-stream", profile, current)
    figures["parquet_mib"] = current.stat().st_size / 2**20
    figures["drifted"] = sorted(c for c, v in figures.pop("columns").items() if v["drifted"])
    return figures


def table(results: dict[str, Any]) -> str:
    lines = [
        "| measure | Keel | Evidently | Keel/Evidently | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for rows, figures in results["sizes"].items():
        evidently = figures["evidently"]
        for key, how in (("keel", "pandas in memory"), ("keel_parquet", "Parquet paths")):
            keel = figures[key]
            speedup = evidently["seconds"] / keel["seconds"]
            share = keel["peak_rss_mib"] / evidently["peak_rss_mib"]
            lines.append(
                f"| drift, {int(rows):,} rows a side, Keel on {how} (s) | "
                f"{format_number(keel['seconds'])} | {format_number(evidently['seconds'])} | "
                f"{speedup:,.1f}\u00d7 faster | \u2265 {TARGETS['speedup']:.0f}\u00d7 | "
                f"{_yes(speedup >= TARGETS['speedup'])} |"
            )
            lines.append(
                f"| peak RSS, {int(rows):,} rows, Keel on {how} (MiB) | "
                f"{format_number(keel['peak_rss_mib'])} | "
                f"{format_number(evidently['peak_rss_mib'])} | {share:.2f} of it | "
                f"\u2264 0.33 | {_yes(share <= TARGETS['memory_share'])} |"
            )
    agreement = results["agreement"]
    share = agreement["share"]
    lines.append(
        f"| verdicts agreeing, {len(agreement['seeds'])} seeds x 20 columns "
        f"({agreement['rows']:,} rows) | {share:.1%} | | | \u2265 95% | "
        f"{_yes(share >= TARGETS['agreement'])} |"
    )
    stream = results["stream"]
    lines.append(
        f"| {stream['rows']:,} rows streamed from Parquet vs a stored profile (s) | "
        f"{format_number(stream['seconds'])} | | | < 10 s | "
        f"{_yes(stream['seconds'] < STREAM_TARGETS['seconds'])} |"
    )
    lines.append(
        f"| peak RSS, streamed (MiB) | {format_number(stream['peak_rss_mib'])} | | | "
        f"< 1,024 | {_yes(stream['peak_rss_mib'] < STREAM_TARGETS['rss_mib'])} |"
    )
    return "\n".join(lines)


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--tmp", type=Path, default=None, help="where the Parquet files go")
    args = parser.parse_args()
    config = QUICK if args.quick else FULL
    machine = machine_summary()
    with tempfile.TemporaryDirectory(prefix="keel-bench-monitoring-", dir=args.tmp) as tmp:
        results = run(config, Path(tmp))
    results["config"] = config
    results["machine"] = machine
    results["load_average_end"] = os.getloadavg()
    text = table(results)
    print(text)
    for seed in results["agreement"]["seeds"]:
        if seed["disagree"]:
            print(f"seed {seed['seed']}: verdicts differ on {seed['disagree']}")
    name = "monitoring-quick" if args.quick else "monitoring"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / f"{name}.md").write_text(text + "\n")
    print(f"saved {RESULTS / (name + '.json')}", file=sys.stderr)


if __name__ == "__main__":
    main()
