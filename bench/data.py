"""Data benchmark: Keel side by side with DVC, in one run, on the same generated data.

Both tools are driven through their command lines (wall time of the whole process,
interpreter start included), each in a fresh workspace and cache:

- ``add`` of one 1 GiB file and of a folder of 10,000 x 10 KiB files: cold, then again
  with nothing changed;
- ``status`` of the folder after one small file changed;
- materialising each version into an empty folder (``dvc checkout`` after removing the
  workspace copy; ``keel data get -o``).

Beside them: hashing throughput on the 1 GiB file (Keel's hasher in process, and ``b3sum``
when it is installed), and profiling a 1,000,000 x 20 table (time and peak memory).

    .venv/bin/python bench/data.py            # 1 GiB and 10,000 files
    .venv/bin/python bench/data.py --quick    # 64 MiB and 1,000 files
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _anchors import KEEL_VENV, REPO_DIR, Venv
from _report import machine_summary

DVC_VERSION = "3.67.1"
DVC_VENV = Venv("dvc", f"dvc=={DVC_VERSION}")
RESULTS = Path(__file__).resolve().parent / "results"
ROUNDS = 4
"""Rounds per tool, half of them with each tool first: this disk and CPU vary 2-5x
between runs of the same command, so two were too few to trust one figure."""
KEEL = KEEL_VENV / "bin" / "keel"


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    # Earlier steps (and the other tool) leave gigabytes of dirty pages; flushing them
    # first, untimed, keeps one command's writes from paying for another's.
    os.sync()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # `keel data status` exits 1 when something changed
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall


def make_data(root: Path, big_bytes: int, files: int) -> tuple[Path, Path]:
    root.mkdir(parents=True, exist_ok=True)
    big = root / "big.bin"
    with open(big, "wb") as out:
        left = big_bytes
        while left:
            chunk = min(left, 64 * 1024 * 1024)
            out.write(os.urandom(chunk))
            left -= chunk
    folder = root / "many"
    for i in range(files):
        sub = folder / f"d{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(os.urandom(10 * 1024))
    return big, folder


def workspace(root: Path, name: str, big: Path, folder: Path) -> Path:
    ws = root / name
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir()
    shutil.copyfile(big, ws / "big.bin")
    shutil.copytree(folder, ws / "many")
    return ws


def compile_keel() -> None:
    """Byte-compile Keel's own modules, untimed. pip compiles every package it installs
    (DVC and all of both tools' dependencies); Keel's editable install is compiled on
    first import instead, and never where ``PYTHONDONTWRITEBYTECODE`` is set, which would
    charge Keel a compile of its source on every command and DVC none."""
    python = str(KEEL_VENV / "bin" / "python")
    src = str(REPO_DIR / "src" / "keel")
    subprocess.run([python, "-m", "compileall", "-q", src], check=True, capture_output=True)


def measure_dvc(root: Path, big: Path, folder: Path) -> dict[str, float]:
    DVC_VENV.ensure()
    dvc = str(DVC_VENV.bin("dvc"))
    ws = workspace(root, "dvc", big, folder)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(root / "dvc-site")}
    shutil.rmtree(root / "dvc-site", ignore_errors=True)
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=ws, env=env, check=True)
    subprocess.run([dvc, "config", "core.autostage", "false"], cwd=ws, env=env, check=True)
    out = {
        "add_big_cold_s": run([dvc, "add", "big.bin"], ws, env),
        "add_big_again_s": run([dvc, "add", "big.bin"], ws, env),
        "add_many_cold_s": run([dvc, "add", "many"], ws, env),
        "add_many_again_s": run([dvc, "add", "many"], ws, env),
    }
    (ws / "many" / "d00" / "f00000.bin").write_bytes(os.urandom(10 * 1024))
    out["status_s"] = run([dvc, "status"], ws, env)
    run([dvc, "checkout", "--force", "many.dvc"], ws, env)  # back to the added version
    (ws / "big.bin").unlink()
    out["get_big_s"] = run([dvc, "checkout", "big.bin.dvc"], ws, env)
    shutil.rmtree(ws / "many")
    out["get_many_s"] = run([dvc, "checkout", "many.dvc"], ws, env)
    subprocess.run([dvc, "config", "cache.type", "hardlink"], cwd=ws, env=env, check=True)
    (ws / "big.bin").unlink()
    out["link_big_s"] = run([dvc, "checkout", "big.bin.dvc"], ws, env)
    shutil.rmtree(ws / "many")
    out["link_many_s"] = run([dvc, "checkout", "many.dvc"], ws, env)
    return out


def measure_keel(root: Path, big: Path, folder: Path) -> dict[str, float]:
    ws = workspace(root, "keel", big, folder)
    for old in ("keel-home", "keel-big", "keel-many"):  # from the other round
        shutil.rmtree(root / old, ignore_errors=True)
    env = {**os.environ, "KEEL_HOME": str(root / "keel-home"), "KEEL_USER": "bench"}
    env.pop("KEEL_TRACKING_URI", None)
    k = str(KEEL)
    out = {
        "add_big_cold_s": run([k, "data", "add", "big.bin", "--name", "big"], ws, env),
        "add_big_again_s": run([k, "data", "add", "big.bin", "--name", "big"], ws, env),
        "add_many_cold_s": run([k, "data", "add", "many", "--name", "many"], ws, env),
        "add_many_again_s": run([k, "data", "add", "many", "--name", "many"], ws, env),
    }
    (ws / "many" / "d00" / "f00000.bin").write_bytes(os.urandom(10 * 1024))
    out["status_s"] = run([k, "data", "status", "many"], ws, env)
    # As for DVC, each version is materialised into an empty folder, and the copy it
    # replaces is deleted (untimed) right before, never earlier: on this disk a command
    # that writes just after a big delete pays for it, so both tools delete alike.
    (ws / "big.bin").unlink()
    out["get_big_s"] = run([k, "data", "get", "big@1", "-o", str(root / "keel-big")], ws, env)
    shutil.rmtree(ws / "many")
    out["get_many_s"] = run([k, "data", "get", "many@1", "-o", str(root / "keel-many")], ws, env)
    link = ["--link", "hardlink"]
    shutil.rmtree(root / "keel-big")
    out["link_big_s"] = run(
        [k, "data", "get", "big@1", "-o", str(root / "keel-big"), *link], ws, env
    )
    shutil.rmtree(root / "keel-many")
    out["link_many_s"] = run(
        [k, "data", "get", "many@1", "-o", str(root / "keel-many"), *link], ws, env
    )
    return out


def hashing(big: Path) -> dict[str, float | None]:
    sys.path.insert(0, str(REPO_DIR / "src"))
    from keel.data.hashing import hash_file

    size = big.stat().st_size
    hash_file(big)  # warm the page cache as b3sum will find it
    start = time.perf_counter()
    hash_file(big)
    keel_s = time.perf_counter() - start
    b3sum = shutil.which("b3sum")
    b3_s = None
    if b3sum:
        start = time.perf_counter()
        subprocess.run([b3sum, str(big)], check=True, capture_output=True)
        b3_s = time.perf_counter() - start
    return {
        "keel_hash_s": keel_s,
        "keel_hash_gib_s": size / keel_s / 2**30,
        "b3sum_s": b3_s,
        "b3sum_gib_s": None if b3_s is None else size / b3_s / 2**30,
    }


MAKE_TABLE = """
import sys
import numpy as np, polars as pl
rows, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
words = np.array([f"city_{k:04d}" for k in range(1000)])
cols = {}
for i in range(8):
    x = rng.normal(100 * i, 10 + i, rows)
    x[rng.random(rows) < 0.01] = np.nan
    cols[f"f{i}"] = x
for i in range(6):
    cols[f"i{i}"] = rng.integers(0, 1_000_000, size=rows)
for i in range(6):
    cols[f"s{i}"] = words[rng.integers(0, 1000, size=rows)]
pl.DataFrame(cols, nan_to_null=True).write_parquet(path)
"""

PROFILE_TABLE = """
import sys, time
import polars as pl
from keel.data.profile import profile_table

def high_water_mib():
    # VmHWM, not ru_maxrss: that one survives fork and exec, so a child would report
    # the parent's peak (the harness maps the 1 GiB file to hash it).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

frame = pl.read_parquet(sys.argv[1])
before = high_water_mib()
start = time.perf_counter()
profile_table(frame)
took = time.perf_counter() - start
print(took, before, high_water_mib())
"""


def profiling(rows: int) -> dict[str, float]:
    """Profile a rows x 20 table (8 float columns with 1% nulls, 6 int, 6 string with
    1,000 values) read from Parquet in a fresh process: time and that process's peak RSS."""
    python = str(KEEL_VENV / "bin" / "python")
    with tempfile.TemporaryDirectory(prefix="keel-bench-profile-") as tmp:
        path = str(Path(tmp) / "table.parquet")
        subprocess.run([python, "-c", MAKE_TABLE, str(rows), path], check=True)
        done = subprocess.run(
            [python, "-c", PROFILE_TABLE, path], capture_output=True, text=True, check=True
        )
    took, before, peak = (float(x) for x in done.stdout.split())
    return {"profile_s": took, "profile_rss_before_mib": before, "profile_peak_rss_mib": peak}


ROWS = [
    ("add {big} file, cold (s)", "add_big_cold_s"),
    ("add {big} file, unchanged (s)", "add_big_again_s"),
    ("add {files} x 10 KiB files, cold (s)", "add_many_cold_s"),
    ("add {files} files, unchanged (s)", "add_many_again_s"),
    ("status after changing one of {files} files (s)", "status_s"),
    ("materialise the {big} version into an empty folder (s)", "get_big_s"),
    ("materialise the {files}-file version into an empty folder (s)", "get_many_s"),
    ("materialise the {big} version with hard links (s)", "link_big_s"),
    ("materialise the {files}-file version with hard links (s)", "link_many_s"),
]


def table(keel: dict, dvc: dict, big: str, files: str) -> str:  # type: ignore[type-arg]
    lines = [
        f"| measure | Keel | DVC {DVC_VERSION} | DVC / Keel |",
        "|---|---|---|---|",
    ]
    for label, key in ROWS:
        k, d = keel[key], dvc[key]
        lines.append(f"| {label.format(big=big, files=files)} | {k:.3f} | {d:.3f} | {d / k:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 MiB and 1,000 files")
    args = parser.parse_args()
    big_bytes = (64 if args.quick else 1024) * 1024 * 1024
    files = 1000 if args.quick else 10_000
    rows = 100_000 if args.quick else 1_000_000
    big_label = "64 MiB" if args.quick else "1 GiB"
    with tempfile.TemporaryDirectory(prefix="keel-bench-data-") as tmp:
        root = Path(tmp)
        big, folder = make_data(root / "source", big_bytes, files)
        compile_keel()
        # The disk is a virtual one whose first writes to fresh blocks are slow: whichever
        # tool writes first pays. Rounds alternate which tool goes first; best of each.
        rounds = []
        orders = [(measure_dvc, measure_keel), (measure_keel, measure_dvc)] * (ROUNDS // 2)
        for first, second in orders:
            one = first(root, big, folder)
            rounds.append({first.__name__: one, second.__name__: second(root, big, folder)})
        dvc = {k: min(r["measure_dvc"][k] for r in rounds) for k in rounds[0]["measure_dvc"]}
        keel = {k: min(r["measure_keel"][k] for r in rounds) for k in rounds[0]["measure_keel"]}
        hashes = hashing(big)
    profile = profiling(rows)
    b3 = (
        f"{hashes['b3sum_gib_s']:.2f} GiB/s ({hashes['b3sum_s']:.3f} s)"
        if hashes["b3sum_s"] is not None
        else "not installed (`apt install b3sum`)"
    )
    report = "\n".join(
        [
            f"# Data benchmark: Keel vs DVC {DVC_VERSION}",
            "",
            "- machine: {nproc} cores, {cpu_model}, Python {python}, load average at start "
            "{load_average_start}".format(**machine_summary()),
            f"- command: `.venv/bin/python bench/data.py{' --quick' if args.quick else ''}`",
            "- setup: the same generated files for both (random bytes), each tool in a fresh "
            "workspace and cache on the same disk, driven through its CLI (process wall time, "
            f"after an untimed `sync`; best of {ROUNDS} rounds in alternating order); "
            "DVC with `dvc init --no-scm` and its default cache type (reflink, else copy), "
            "then `cache.type hardlink` for the hard-link rows (Keel: `--link hardlink`)",
            "",
            table(keel, dvc, big_label, f"{files:,}"),
            "",
            f"- hashing the {big_label} file: Keel {hashes['keel_hash_gib_s']:.2f} GiB/s "
            f"({hashes['keel_hash_s']:.3f} s); b3sum {b3}",
            f"- profile of {rows:,} rows x 20 columns: {profile['profile_s']:.3f} s, peak RSS "
            f"{profile['profile_peak_rss_mib']:.0f} MiB for the whole process (after reading "
            f"the table: {profile['profile_rss_before_mib']:.0f} MiB)",
            "",
        ]
    )
    print(report)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "data.md").write_text(report)
        results = {
            "keel": keel,
            "dvc": dvc,
            "rounds": rounds,
            "hashing": hashes,
            "profile": profile,
        }
        (RESULTS / "data.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
