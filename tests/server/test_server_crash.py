"""A server killed with SIGKILL mid-ingest loses nothing it acknowledged, stores no half
batch and no half file, and its SQLite database opens clean on restart."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import keel
from conftest import ServerProcess, settings_for, unique
from keel.entities import Metric
from server.support import API, get_run, history, log_problems, new_id

BATCH = 5_000

INGEST = """
import sys, time, uuid
from keel.entities import MetricColumns, RunCreate, RunWrite, WriteBatch
from keel.store.rest import RestTrackingStore

url, experiment_id, run_id, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = RestTrackingStore(url, timeout=20)
for n in range(500):
    steps = list(range(n * size, (n + 1) * size))
    write = RunWrite(
        run_id,
        create=RunCreate(experiment_id, "ingest", int(time.time() * 1000)) if n == 0 else None,
        metrics=MetricColumns(["x"] * size, [float(s) for s in steps], [1] * size, steps),
    )
    try:
        store.write(WriteBatch(uuid.uuid4().hex, [write]))
    except Exception as exc:
        print("stopped", type(exc).__name__, flush=True)
        break
    print("ack", n + 1, flush=True)
"""


@pytest.fixture
def first(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        f"sqlite:///{tmp_path / 'keel.db'}", tmp_path / "artifacts", tmp_path / "first.log"
    )
    srv.start()
    yield srv
    srv.kill()


def slow_upload(url: str, run_id: str, sent: threading.Event, outcome: list[object]) -> None:
    def chunks() -> Iterator[bytes]:
        for i in range(200):
            yield bytes([i % 251]) * (256 * 1024)
            if i == 3:
                sent.set()
            time.sleep(0.02)

    try:
        r = httpx.put(
            f"{url}{API}/runs/{run_id}/artifacts/content",
            params={"path": "partial/upload.bin"},
            content=chunks(),
            timeout=30,
        )
        outcome.append(r.status_code)
    except httpx.HTTPError as exc:
        outcome.append(exc)
    finally:
        sent.set()


@pytest.mark.timeout(120)
def test_sigkill_mid_ingest_keeps_every_acknowledged_write(
    first: ServerProcess, tmp_path: Path
) -> None:
    # 1. A client logs batches and flushes: each flush is an acknowledgement.
    client = keel.Client(first.url, settings=settings_for(tmp_path / "a"))
    exp = client.create_experiment(unique("crash"))
    acked_run = client.create_run(exp).run_id
    client.log_param(acked_run, "lr", "0.1")
    for part in range(3):
        steps = range(part * 2_000, (part + 1) * 2_000)
        client.log_batch(acked_run, [Metric("m", float(s), 1, s) for s in steps])
        client.flush()
    client.log_bytes(acked_run, b"kept" * 1000, "kept.bin")
    client.close()
    spool = tmp_path / "a" / "spool"
    assert not spool.exists() or not [p for p in spool.rglob("*.batch")]

    # 2. Another process ingests as fast as it can, and an upload trickles in.
    ingest_run = new_id()
    script = tmp_path / "ingest.py"
    script.write_text(INGEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    proc = subprocess.Popen(
        [sys.executable, str(script), first.url, exp, ingest_run, str(BATCH)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    upload_run = httpx.post(f"{first.url}{API}/runs", json={"experiment_id": exp}).json()
    upload_run_id = upload_run["info"]["run_id"]
    sent, outcome = threading.Event(), []
    uploader = threading.Thread(
        target=slow_upload, args=(first.url, upload_run_id, sent, outcome), daemon=True
    )
    acked = 0
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("ack"):
                acked = int(line.split()[1])
                if acked == 2:
                    uploader.start()
                    assert sent.wait(10)
                if acked >= 4:
                    break
        # 3. Crash the server while both are in flight.
        first.kill()
        proc.wait(30)  # its next write fails, and it stops
        lines += proc.stdout.read().splitlines()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    uploader.join(30)
    acked = max(int(x.split()[1]) for x in lines if x.startswith("ack"))
    assert acked >= 4, lines
    assert lines[-1].startswith("stopped"), lines[-5:]
    assert outcome and not isinstance(outcome[0], int), outcome  # the upload was cut

    # 4. A new server on the same store finds everything acknowledged, whole.
    second = ServerProcess(first.backend, first.artifacts, tmp_path / "second.log")
    second.start()
    try:
        with httpx.Client(base_url=second.url, timeout=30) as api:
            got = history(api, acked_run, "m")
            assert got["total"] == 6_000
            assert got["steps"] == list(range(6_000))
            assert get_run(api, acked_run)["data"]["params"] == {"lr": "0.1"}
            r = api.get(f"{API}/runs/{acked_run}/artifacts/content", params={"path": "kept.bin"})
            assert r.status_code == 200 and r.content == b"kept" * 1000

            got = history(api, ingest_run, "x")
            # Every acknowledged batch, plus at most the one in flight, never part of one.
            assert got["total"] in (acked * BATCH, (acked + 1) * BATCH), (got["total"], acked)
            assert got["steps"] == list(range(got["total"]))
            assert got["values"] == [float(s) for s in range(got["total"])]

            # The cut upload left no file and no record.
            r = api.get(
                f"{API}/runs/{upload_run_id}/artifacts/stat",
                params={"path": "partial/upload.bin"},
            )
            assert r.status_code == 404
            folder = Path(get_run(api, upload_run_id)["info"]["artifact_uri"])
            assert not (folder / "partial" / "upload.bin").exists()

            # The store still takes writes.
            client = keel.Client(second.url, settings=settings_for(tmp_path / "b"))
            client.log_metric(acked_run, "m", 1.0, step=6_000)
            client.flush()
            client.close()
            assert history(api, acked_run, "m")["total"] == 6_001
    finally:
        second.stop()
    assert not log_problems(second.log), second.log.read_text()[-3000:]

    # 5. The database file is sound.
    db = sqlite3.connect(tmp_path / "keel.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        points = db.execute("SELECT count(*) FROM metric_points").fetchone()[0]
        assert points >= 6_001 + acked * BATCH
    finally:
        db.close()
