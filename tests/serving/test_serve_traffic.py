"""Traffic of a real ``keel serve``: an alias that moves is followed without a failed
request, a deployment's canary weights, sticky keys and shadow versions."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq

from keel.entities.deployment import Target, TrafficPolicy
from serving.support import ROW, ServeProcess, predict


def test_an_alias_move_reloads_without_a_failed_request(
    model_store: dict[str, str], registry: Any, tmp_path: Path
) -> None:
    registry.registry.set_alias("iris", "live", 1, actor="test")
    args = ("--poll-interval", "0.3")
    with ServeProcess("models:/iris@live", tmp_path / "serve.log", model_store, *args) as server:
        seen: list[tuple[int, int]] = []
        stop = threading.Event()

        def traffic() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    r = client.post(f"{server.url}/predict", json={"records": [ROW]})
                    version = r.json()["model"]["version"] if r.status_code == 200 else -1
                    seen.append((r.status_code, version))

        workers = [threading.Thread(target=traffic) for _ in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        registry.registry.set_alias("iris", "live", 2, actor="test")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (not seen or seen[-1][1] != 2):
            time.sleep(0.1)
        time.sleep(0.5)
        stop.set()
        for worker in workers:
            worker.join(30)
    statuses = Counter(status for status, _ in seen)
    assert set(statuses) == {200}, statuses
    versions = [version for _, version in seen]
    assert versions[0] == 1 and versions[-1] == 2
    switch = versions.index(2)
    assert set(versions[switch + 20 :]) <= {2}  # once switched, the old version is gone


def _deploy(registry: Any, name: str, policy: TrafficPolicy) -> str:
    registry.deployment_store.create_deployment(name, policy, actor="test")
    return f"deployments:/{name}"


def test_canary_weights_and_sticky_keys(
    model_store: dict[str, str], registry: Any, tmp_path: Path
) -> None:
    policy = TrafficPolicy((Target("models:/iris/1", 70), Target("models:/iris/2", 30)))
    target = _deploy(registry, "iris-canary", policy)
    with ServeProcess(target, tmp_path / "serve.log", model_store) as server:
        versions = Counter(predict(server.url).json()["model"]["version"] for _ in range(300))
        assert 150 <= versions[1] <= 250 and versions[1] + versions[2] == 300, versions
        meta = httpx.get(f"{server.url}/metadata").json()
        assert meta["deployment"] == "iris-canary" and meta["revision"] == 1
        assert [m["weight"] for m in meta["models"]] == [70, 30]
    sticky = TrafficPolicy(policy.targets, sticky_key="X-User")
    target = _deploy(registry, "iris-sticky", sticky)
    with ServeProcess(target, tmp_path / "sticky.log", model_store) as server:
        by_user = {}
        for user in (f"user-{i}" for i in range(30)):
            answers = {
                predict(server.url, headers={"X-User": user}).json()["model"]["version"]
                for _ in range(5)
            }
            assert len(answers) == 1, (user, answers)
            by_user[user] = answers.pop()
        assert set(by_user.values()) == {1, 2}


def test_shadow_versions_are_logged_not_returned(
    model_store: dict[str, str], registry: Any, tmp_path: Path
) -> None:
    policy = TrafficPolicy(
        (Target("models:/iris/1", 100), Target("models:/iris/2", 0, shadow=True))
    )
    target = _deploy(registry, "iris-shadow", policy)
    server = ServeProcess(target, tmp_path / "serve.log", model_store).start()
    try:
        answers = [predict(server.url).json() for _ in range(10)]
    finally:
        server.stop()  # SIGTERM: the log is flushed
    assert {a["model"]["version"] for a in answers} == {1}
    assert {a["predictions"][0] for a in answers} == {1}
    db = Path(model_store["KEEL_TRACKING_URI"].removeprefix("sqlite:///"))
    files = sorted(db.parent.rglob("predictions/iris-shadow/**/*.parquet"))
    assert files, list(db.parent.rglob("*.parquet"))
    rows = [row for f in files for row in pq.read_table(f).to_pylist()]
    live = [r for r in rows if not r["shadow"]]
    shadow = [r for r in rows if r["shadow"]]
    assert len(live) == 10 and len(shadow) == 10
    assert {r["model_version"] for r in shadow} == {2}
    assert {r["prediction"] for r in shadow} == {0}  # what version 2 answered, kept
    assert {r["prediction_id"] for r in shadow} == {a["ids"][0] for a in answers}


def test_an_unknown_deployment_or_model_refuses_to_start(model_store: dict[str, str]) -> None:
    from access.conftest import keel_fails
    from conftest import free_port

    for target in ("deployments:/nope", "models:/iris/9", "models:/nope@champion"):
        error = keel_fails("serve", target, "--port", str(free_port()), env=model_store)
        assert "nope" in error or "9" in error, error
        assert "Traceback" not in error
