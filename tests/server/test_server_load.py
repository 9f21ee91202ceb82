"""Many processes logging at once through the fluent API to a two-worker server: every
point is stored once, no request fails, SQLite never reports "database is locked"."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import ServerProcess, unique
from server.support import API, history, log_problems

PROCESSES = 16
POINTS = 1_000
DEADLINE_S = 60.0

LOGGER = """
import sys
import keel

url, experiment, points = sys.argv[1], sys.argv[2], int(sys.argv[3])
keel.set_tracking_uri(url)
keel.set_experiment(experiment)
run = keel.start_run(log_code_version=False)
keel.log_param("worker", sys.argv[4])
for step in range(points):
    keel.log_metric("loss", 1.0 / (step + 1), step=step)
    if step % 50 == 49:
        keel.flush()  # many small requests from every process: contention on purpose
keel.end_run()
print(run.run_id)
"""


def run_loggers(url: str, tmp_path: Path) -> list[str]:
    """Start every logger at once; return their run ids once all exited cleanly."""
    script = tmp_path / "logger.py"
    script.write_text(LOGGER)
    experiment = unique("load")
    procs = []
    for i in range(PROCESSES):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
        env.update(
            KEEL_HOME=str(tmp_path / f"home{i}"),
            KEEL_SPOOL_DIR=str(tmp_path / f"spool{i}"),
            KEEL_FLUSH_INTERVAL="0.2",
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), url, experiment, str(POINTS), str(i)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=tmp_path,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + DEADLINE_S
    run_ids, failures = [], []
    try:
        for i, proc in enumerate(procs):
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            if proc.returncode != 0:
                failures.append(f"logger {i} exited {proc.returncode}: {err[-1500:]}")
            elif "spool" in err.lower():
                failures.append(f"logger {i} spooled (a request failed): {err[-1500:]}")
            else:
                run_ids.append(out.strip().splitlines()[-1])
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
    assert not failures, "\n".join(failures)
    for i in range(PROCESSES):
        spool = tmp_path / f"spool{i}"
        assert not spool.exists() or not [p for p in spool.rglob("*") if p.is_file()]
    return run_ids


def check_everything_stored(url: str, run_ids: list[str]) -> None:
    assert len(set(run_ids)) == PROCESSES
    with httpx.Client(base_url=url, timeout=30) as api:
        total = 0
        experiments = set()
        for run_id in run_ids:
            run = api.get(f"{API}/runs/{run_id}").json()
            assert run["info"]["status"] == "FINISHED", run["info"]
            experiments.add(run["info"]["experiment_id"])
            got = history(api, run_id, "loss")
            assert got["total"] == POINTS
            assert got["steps"] == list(range(POINTS))
            assert got["values"] == [1.0 / (s + 1) for s in range(POINTS)]
            assert run["data"]["metrics"]["loss"] == 1.0 / POINTS
            total += len(got["values"])
        assert total == PROCESSES * POINTS
        # All sixteen raced to create one experiment by name: there is exactly one.
        assert len(experiments) == 1
        page = api.post(f"{API}/runs/search", json={"experiment_ids": sorted(experiments)}).json()
        assert sorted(r["info"]["run_id"] for r in page["runs"]) == sorted(run_ids)
        workers = {r["data"]["params"]["worker"] for r in page["runs"]}
        assert workers == {str(i) for i in range(PROCESSES)}


def load(backend: str, tmp_path: Path) -> None:
    srv = ServerProcess(backend, tmp_path / "artifacts", tmp_path / "server.log", workers=2)
    srv.start()
    started = time.monotonic()
    try:
        run_ids = run_loggers(srv.url, tmp_path)
        check_everything_stored(srv.url, run_ids)
    finally:
        srv.stop()
    assert time.monotonic() - started < DEADLINE_S + 30
    log = srv.log.read_text(errors="replace")
    assert "database is locked" not in log
    assert not log_problems(srv.log), log[-3000:]


@pytest.mark.timeout(150)
def test_sixteen_processes_sqlite_two_workers(tmp_path: Path) -> None:
    load(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path)


@pytest.mark.timeout(150)
def test_sixteen_processes_postgres_two_workers(postgres_url: str, tmp_path: Path) -> None:
    load(postgres_url, tmp_path)
