"""The offline spool: a client whose server is down keeps logging, spools its batches to
disk on flush, and replays them once the server is back, each point stored exactly once
however often the replay is repeated."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson

import keel
from conftest import ServerProcess, unique
from keel.config import Settings
from keel.entities import RunStatus
from server.support import API, get_run, history, log_problems


def spooled(spool_dir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(spool_dir.rglob("*.batch"))}


def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", spool_dir=tmp_path / "spool", flush_interval=0.2)


def restart_on_same_port(old: ServerProcess, log: Path) -> ServerProcess:
    new = ServerProcess(old.backend, old.artifacts, log)
    new.port, new.url = old.port, old.url
    return new.start()


def test_offline_logging_spools_and_replays_exactly_once(tmp_path: Path) -> None:
    srv = ServerProcess(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path / "art", tmp_path / "1.log")
    srv.start()
    client = keel.Client(srv.url, settings=settings(tmp_path))
    try:
        exp_id = client.create_experiment(unique("spool"))
        experiment = client.get_experiment(exp_id)
        run = client.create_run(exp_id).run_id
        client.log_metric(run, "m", -1.0, step=-1)
        client.flush()
        srv.stop()

        # Server down: logging, flushing, starting and ending runs all carry on.
        client.log_param(run, "lr", "0.1")
        client.set_tag(run, "phase", "offline")
        for step in range(300):
            client.log_metric(run, "m", float(step), step=step)
        client.flush()
        offline = client.begin_run(experiment, run_name="born-offline").info.run_id
        for step in range(150):
            client.log_metric(offline, "n", step / 2, step=step)
        time.sleep(0.6)  # the background sender tries too, and spools instead of failing
        client.log_metric(run, "m", 300.0, step=300)
        client.set_terminated(offline, RunStatus.FINISHED)
        client.flush()
        saved = spooled(tmp_path / "spool")
        assert len(saved) >= 2, saved.keys()

        # Back on the same port: the next flush replays the spool, in order.
        srv = restart_on_same_port(srv, tmp_path / "2.log")
        client.flush()
        assert spooled(tmp_path / "spool") == {}

        with httpx.Client(base_url=srv.url, timeout=30) as api:

            def check() -> None:
                got = history(api, run, "m")
                assert got["total"] == 302
                assert got["steps"] == list(range(-1, 301))
                data = get_run(api, run)["data"]
                assert data["params"] == {"lr": "0.1"}
                assert data["tags"]["phase"] == "offline"
                assert data["metrics"]["m"] == 300.0
                other = get_run(api, offline)
                assert other["info"]["status"] == "FINISHED"
                assert other["info"]["run_name"] == "born-offline"
                got = history(api, offline, "n")
                assert got["total"] == 150 and got["values"] == [s / 2 for s in range(150)]

            check()
            # Replaying the same batches again, through the client and by hand: no change.
            for path, body in saved.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
            client.flush()
            assert spooled(tmp_path / "spool") == {}
            check()
            for body in saved.values():
                r = api.post(f"{API}/writes", content=body,
                             headers={"Content-Type": "application/json"})  # fmt: skip
                assert r.status_code == 200, r.text
                assert r.json()["batch_id"] == orjson.loads(body)["batch_id"]
            check()
    finally:
        client.close()
        srv.stop()
    assert not log_problems(srv.log), srv.log.read_text()[-3000:]


def test_a_later_process_replays_what_an_earlier_one_spooled(tmp_path: Path) -> None:
    srv = ServerProcess(f"sqlite:///{tmp_path / 'keel.db'}", tmp_path / "art", tmp_path / "1.log")
    srv.start()
    first = keel.Client(srv.url, settings=settings(tmp_path))
    exp_id = first.create_experiment(unique("spool"))
    run = first.create_run(exp_id).run_id
    srv.stop()
    for step in range(500):
        first.log_metric(run, "m", float(step), step=step)
    first.close()  # the process ends with the server still down: the spool keeps it
    assert spooled(tmp_path / "spool")

    srv = restart_on_same_port(srv, tmp_path / "2.log")
    second = keel.Client(srv.url, settings=settings(tmp_path))
    try:
        second.flush()
        assert spooled(tmp_path / "spool") == {}
        assert len(second.get_metric_history(run, "m")) == 500
        second.flush()
        assert list(second.get_metric_history(run, "m").steps) == list(range(500))
    finally:
        second.close()
        srv.stop()
