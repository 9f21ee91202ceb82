"""A long metric history through ``keel server``: time to first byte, total time, server
peak memory and the REST client's peak memory.

One SQLite database per size is seeded once with SQL (a series with a few NaN and
infinite values) and kept under ``--cache``; each measure starts a fresh one-worker
server over a copy of it.

    .venv/bin/python bench/history_stream.py                  # 1M and 10M points
    .venv/bin/python bench/history_stream.py --points 1000000
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
from _servers import ServerProcess, free_port, loopback_env, start_server

RUN_ID = "b" * 32
KEY = "loss"
SAMPLE_S = 0.05
CLIENT_TIMEOUT_S = 30.0

CLIENT = """
import json, resource, sys, time
from keel.store.rest import RestTrackingStore
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
store = RestTrackingStore(sys.argv[1], timeout=float(sys.argv[3]))
before = rss()
start = time.perf_counter()
try:
    h = store.get_metric_history(sys.argv[2], "loss")
    points, error = len(h), None
except Exception as exc:
    points, error = 0, f"{type(exc).__name__}: {exc}"[:200]
took = time.perf_counter() - start
print(json.dumps({"seconds": took, "points": points, "error": error,
                  "peak_rss_mib": rss(), "rss_before_mib": before}))
"""


def seed(db: Path, points: int) -> None:
    """An experiment, one run and one series of ``points`` points, written with SQL."""
    from keel.config import Settings
    from keel.store import open_store

    store = open_store(f"sqlite:///{db}", Settings(home=db.parent))
    exp = store.create_experiment("bench")
    store.create_run(exp, run_id=RUN_ID, start_time=1)
    store.close()
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO metric_series (run_uuid, key, last_value, last_step, last_timestamp,"
            " points) VALUES (?, ?, ?, ?, ?, ?)",
            (RUN_ID, KEY, 0.5, points - 1, 1_700_000_000_000 + points - 1, points),
        )
        series_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]

        def value(i: int) -> float | None:
            if i % 100_003 == 7:
                return None  # NaN is stored as NULL
            if i % 100_003 == 11:
                return math.inf if i % 2 else -math.inf
            return 1.0 / (i + 1)

        conn.executemany(
            "INSERT INTO metric_points (series_id, step, timestamp, seq, value)"
            " VALUES (?, ?, ?, ?, ?)",
            ((series_id, i, 1_700_000_000_000 + i, i, value(i)) for i in range(points)),
        )
        conn.execute("COMMIT")


def cached_db(cache: Path, points: int) -> Path:
    db = cache / f"history-{points}.db"
    if not db.exists():
        partial = db.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        started = time.perf_counter()
        seed(partial, points)
        partial.rename(db)
        print(f"seeded {points:,} points in {time.perf_counter() - started:.0f}s", flush=True)
    return db


class PeakMemory:
    """Samples a server's memory (RSS over its session) in a thread."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.memory()["rss_mib"])
            time.sleep(SAMPLE_S)


def measure(db: Path, points: int, workdir: Path) -> dict[str, object]:
    copy = workdir / "keel.db"
    shutil.copyfile(db, copy)
    port = free_port()
    argv = [
        sys.executable, "-m", "keel", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{copy}", "--artifacts-uri", str(workdir / "a"),
        "--workers", "1",
    ]  # fmt: skip
    server = start_server(
        "keel", argv, port=port, health_path="/health", log_path=workdir / "server.log",
        cwd=workdir,
    )  # fmt: skip
    try:
        idle = server.memory()["rss_mib"]
        with PeakMemory(server) as peak, httpx.Client(base_url=server.base_url) as http:
            start = time.perf_counter()
            first_byte = None
            size = 0
            with http.stream(
                "GET",
                f"/api/v1/runs/{RUN_ID}/metrics/history",
                params={"key": KEY},
                timeout=600,
            ) as response:
                for chunk in response.iter_raw():
                    if first_byte is None:
                        first_byte = time.perf_counter() - start
                    size += len(chunk)
            raw = {
                "status": response.status_code,
                "content_type": response.headers.get("content-type"),
                "first_byte_s": first_byte,
                "total_s": time.perf_counter() - start,
                "mib": size / 2**20,
                "server_peak_rss_mib": peak.peak,
            }
        with PeakMemory(server) as peak:
            done = subprocess.run(
                [sys.executable, "-c", CLIENT, server.base_url, RUN_ID, str(CLIENT_TIMEOUT_S)],
                capture_output=True, text=True, env=loopback_env(), check=True,
            )  # fmt: skip
            client = json.loads(done.stdout)
            client["server_peak_rss_mib"] = peak.peak
    finally:
        server.stop()
    return {"points": points, "server_idle_rss_mib": idle, "raw": raw, "client": client}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "keel-hist")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    for points in args.points:
        db = cached_db(args.cache, points)
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(db, points, Path(tmp)), indent=1), flush=True)


if __name__ == "__main__":
    main()
