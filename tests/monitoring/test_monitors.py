"""Monitors end to end: predictions written by the real prediction log, a reference file,
a run that finds drift, fires an alert to a real webhook receiver, records results,
events and audit records; a calm window resolves it; an empty one changes nothing. The
same through a real `keel server`, whose scheduler runs a due monitor by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import ServerProcess
from keel.client import Client
from keel.config import Settings
from keel.errors import AlreadyExists, Conflict, Forbidden, InvalidArgument, NotFound
from keel.predictions.ids import new_prediction_ids
from keel.predictions.records import PredictionBatch
from monitoring.receivers import SECRET, Receiver

HOUR = 3_600_000
T0 = 1_790_000_000_000 // HOUR * HOUR  # a whole hour, in 2026


def _rows(n: int, shift: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "amount": rng.normal(100 + shift, 10, n),
        "age": rng.normal(40 + shift / 5, 5, n),
        "country": rng.choice(np.array(["fr", "de", "us"], dtype=object), n),
    }


def _write_predictions(
    client: Client, deployment: str, time_ms: int, shift: float
) -> tuple[list[str], np.ndarray]:
    """600 predictions made at ``time_ms``: their ids and predicted classes."""
    from keel.predictions.writer import open_prediction_log

    log = open_prediction_log(client.backend, client.settings, flush_seconds=0.05)
    inputs = _rows(600, shift, seed=int(shift) + 7)
    ids = new_prediction_ids(600, now_ms=time_ms)
    predicted = (inputs["amount"] > 100 + shift).astype(np.int64)
    log.record(
        PredictionBatch(
            deployment=deployment,
            model_name="fraud",
            model_version=1,
            ids=ids,
            inputs=inputs,
            predictions=predicted,
            time_ms=time_ms,
            latency_ms=1.0,
        )
    )
    log.close()
    assert log.dropped_rows == 0
    return ids, predicted


def _reference(folder: Path) -> str:
    import polars as pl

    frame = pl.DataFrame(_rows(600, 0.0, seed=1))
    frame = frame.with_columns(prediction=(pl.col("amount") > 100).cast(pl.Int64))
    path = folder / "reference.parquet"
    frame.write_parquet(path)
    return f"file:{path}"


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        spool_dir=tmp_path / "spool",
        artifacts_uri=str(tmp_path / "artifacts"),
        alert_allowed_hosts=("127.0.0.1",),
        alert_allowed_networks=("127.0.0.1/32",),
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def deploy(client: Client, name: str = "fraud-api") -> None:
    """A registered model (``fraud``) and a deployment of it: what a monitor watches."""
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(40, 2))
    run = client.create_run(client.create_experiment(f"train-{name}"))
    logged = client.log_model(run.run_id, LogisticRegression().fit(x, x[:, 0] > 0))
    client.end_run(run.run_id)
    version = client.registry.register_model(logged.model_uri, "fraud")
    client.deployments.create(name, f"models:/fraud/{version.version}")


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Client]:
    c = Client(f"sqlite:///{tmp_path / 'keel.db'}", settings=_settings(tmp_path))
    try:
        deploy(c)
        yield c
    finally:
        c.close()


def _create(client: Client, receiver: Receiver, reference: str, name: str = "fraud-drift") -> None:
    client.monitors.create(
        name,
        deployment="fraud-api",
        reference=reference,
        every="1h",
        rules=[{"name": "drift", "condition": "dataset.drifted", "severity": "critical"}],
        channels=[{"kind": "webhook", "url": receiver.url, "secret": SECRET.decode()}],
    )


def test_a_drifted_window_fires_and_a_calm_one_resolves(
    local: Client, receiver: Receiver, tmp_path: Path
) -> None:
    _create(local, receiver, _reference(tmp_path))
    _write_predictions(local, "fraud-api", T0 + 60_000, shift=40.0)

    run = local.monitors.run("fraud-drift", at_ms=T0 + 2 * 60_000)

    assert run.result["dataset"]["drifted"] is True
    drifted = {c["column"] for c in run.result["columns"] if c["drifted"]}
    assert {"amount", "age"} <= drifted and "country" not in drifted
    assert [n["status"] for n in run.notifications] == ["firing"]
    assert len(receiver.requests) == 1 and b'"status":"firing"' in receiver.requests[0][1]
    (alert,) = local.monitors.alerts("fraud-drift", "firing")
    assert alert.rule == "drift" and alert.notifications == 1
    series = local.monitors.results("fraud-drift", column="amount")
    assert len(series) == 1 and series[0].drifted and series[0].rows == 600

    _write_predictions(local, "fraud-api", T0 + 2 * HOUR, shift=0.0)
    calm = local.monitors.run("fraud-drift", at_ms=T0 + 2 * HOUR + 60_000)
    assert calm.result["dataset"]["drifted"] is False
    assert [n["status"] for n in calm.notifications] == ["resolved"]
    assert local.monitors.alerts("fraud-drift", "firing") == []
    kinds = [e.kind for e in local.monitors.events()]
    assert kinds == ["alert.firing", "alert.resolved"]
    assert len(local.monitors.results("fraud-drift", column="amount")) == 2
    actions = [r.action for r in local.registry.list_audit("fraud-drift", resource_type="monitor")]
    assert actions == ["monitor.create", "alert.fire", "alert.resolve"]


def test_an_empty_window_is_no_data_and_never_an_alarm(
    local: Client, receiver: Receiver, tmp_path: Path
) -> None:
    _create(local, receiver, _reference(tmp_path))
    run = local.monitors.run("fraud-drift", at_ms=T0)
    assert run.result["no_data"] is True and run.notifications == []
    (row,) = local.monitors.results("fraud-drift")
    assert row.no_data and not row.drifted
    assert receiver.requests == [] and local.monitors.events() == []


def test_a_failing_channel_is_recorded_and_the_run_still_lands(
    local: Client, tmp_path: Path
) -> None:
    down = Receiver(status=500)
    try:
        _create(local, down, _reference(tmp_path))
        _write_predictions(local, "fraud-api", T0 + 60_000, shift=40.0)
        run = local.monitors.run("fraud-drift", at_ms=T0 + 120_000)
    finally:
        down.close()
    assert run.delivery_errors and "answered 500" in run.delivery_errors[0]
    (alert,) = local.monitors.alerts("fraud-drift")
    assert alert.status == "firing" and alert.notifications == 0
    assert alert.last_error is not None and "answered 500" in alert.last_error


def test_bad_monitors_are_refused_and_nothing_is_kept(
    local: Client, receiver: Receiver, tmp_path: Path
) -> None:
    reference = _reference(tmp_path)
    good = {"deployment": "fraud-api", "reference": reference}
    cases: list[tuple[dict, type[Exception], str]] = [
        ({"rules": [{"name": "r", "condition": "dataset.share"}]}, InvalidArgument, "comparison"),
        ({"rules": [{"name": "r", "condition": "x", "extra": 1}]}, InvalidArgument, "unknown"),
        ({"every": "10s"}, InvalidArgument, "between 60 s and 31 days"),
        ({"reference": "s3://bucket/ref"}, InvalidArgument, "datasets:/<name>@<version>"),
        ({"channels": [{"kind": "webhook", "url": "http://evil.example/x", "secret": "s" * 16}]},
         Forbidden, "allow-list"),
        ({"channels": [{"kind": "webhook", "url": receiver.url, "secret": "short"}]},
         InvalidArgument, "at least 16 bytes"),
        ({"channels": [{"kind": "pager"}]}, InvalidArgument, "kind 'pager'"),
        ({"tests": {"amount": "foo"}}, InvalidArgument,
         r"tests\['amount'\]: unknown test 'foo'; choose one of ks, chisquare"),
        ({"channels": [{"kind": "email", "to": ["a@example.com"]}]},
         InvalidArgument, "KEEL_SMTP_URL"),
    ]  # fmt: skip
    for change, error, words in cases:
        with pytest.raises(error, match=words):
            local.monitors.create("bad-monitor", **{**good, **change})
    with pytest.raises(InvalidArgument, match="monitor name"):
        local.monitors.create("Bad Name", **good)
    with pytest.raises(NotFound, match="no-such-api"):
        local.monitors.create("typo", deployment="no-such-api", reference=reference)
    assert local.monitors.list_monitors() == []
    _create(local, receiver, reference, name="once")
    with pytest.raises(AlreadyExists, match="already exists"):
        _create(local, receiver, reference, name="once")
    with pytest.raises(NotFound, match="no such monitor"):
        local.monitors.run("never-made")
    with pytest.raises(InvalidArgument, match="alert status 'open': must be firing or resolved"):
        local.monitors.alerts(status="open")


def test_secrets_never_leave_the_store(local: Client, receiver: Receiver, tmp_path: Path) -> None:
    _create(local, receiver, _reference(tmp_path))
    shown = local.monitors.get("fraud-drift").to_dict()
    assert shown["channels"][0]["secret"] == "***"
    audit = local.registry.list_audit("fraud-drift", resource_type="monitor")
    assert SECRET.decode() not in str([r.after for r in audit])


def test_one_claim_at_a_time(local: Client, receiver: Receiver, tmp_path: Path) -> None:
    _create(local, receiver, _reference(tmp_path))
    store = local.backend.monitors
    now = int(time.time() * 1000)
    assert store.claim("fraud-drift", now, 60_000) is not None
    with pytest.raises(Conflict, match="already in progress"):
        local.monitors.run("fraud-drift", at_ms=now)
    assert store.claim_due(now, 60_000) == []  # held: no other replica takes it


def test_through_a_server_the_scheduler_runs_due_monitors(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'server.db'}",
        tmp_path / "artifacts",
        tmp_path / "server.log",
        env={
            "KEEL_ALERT_ALLOWED_HOSTS": "127.0.0.1",
            "KEEL_ALERT_ALLOWED_NETWORKS": "127.0.0.1/32",
            "KEEL_MONITOR_TICK_SECONDS": "0.2",
            "KEEL_HOME": str(tmp_path / "server-home"),
        },
    ).start()
    remote = Client(server.url, settings=Settings(home=tmp_path / "client"))
    references = tmp_path / "server-home" / "references"  # the only folder file: may name
    references.mkdir(parents=True)
    try:
        now = int(time.time() * 1000)
        deploy(remote)
        _write_predictions(remote, "fraud-api", now - 60_000, shift=40.0)
        _create(remote, receiver, _reference(references))
        deadline = time.monotonic() + 20
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.requests, server.log.read_text()[-2000:]
        (alert,) = remote.monitors.alerts("fraud-drift")
        assert alert.status == "firing"
        assert remote.monitors.events()[0].kind == "alert.firing"
        assert remote.monitors.get("fraud-drift").to_dict()["channels"][0]["secret"] == "***"
        run = remote.monitors.run("fraud-drift")  # on demand too, answered by the server
        assert run.result["dataset"]["drifted"] is True
        with pytest.raises(InvalidArgument, match="alert status 'open'"):
            remote.monitors.alerts(status="open")
        with pytest.raises(InvalidArgument, match="unknown test 'foo'"):
            remote.monitors.create(
                "bad", deployment="fraud-api", reference="datasets:/a@1", tests={"a": "foo"}
            )
        with pytest.raises(InvalidArgument, match="comparison"):
            remote.monitors.create(
                "bad", deployment="fraud-api", reference="file:/x.parquet",
                rules=[{"name": "r", "condition": "dataset.share"}],
            )  # fmt: skip
    finally:
        remote.close()
        server.stop()


def test_a_model_versions_training_data_is_a_reference(
    local: Client, receiver: Receiver, tmp_path: Path
) -> None:
    import polars as pl
    from sklearn.linear_model import LogisticRegression

    train = pl.DataFrame(_rows(300, 0.0, seed=3))
    run = local.create_run(local.create_experiment("fraud"))
    local.log_dataset(run.run_id, train, name="fraud-train", context="training")
    numeric = train.select("amount", "age").to_numpy()
    model = LogisticRegression().fit(numeric, numeric[:, 0] > 100)
    logged = local.log_model(run.run_id, model)
    local.end_run(run.run_id)
    trained = local.registry.register_model(logged.model_uri, "fraud").version

    _create(local, receiver, f"models:/fraud/{trained}")
    _write_predictions(local, "fraud-api", T0 + 60_000, shift=40.0)
    outcome = local.monitors.run("fraud-drift", at_ms=T0 + 120_000)
    assert {c["column"] for c in outcome.result["columns"]} == {"amount", "age", "country"}
    assert outcome.result["dataset"]["drifted"] is True

    bare = local.create_run(local.create_experiment("no-inputs"))
    logged = local.log_model(bare.run_id, model)
    local.end_run(bare.run_id)
    local.registry.register_model(logged.model_uri, "bare")
    with pytest.raises(NotFound, match="has no single training dataset"):
        _create(local, receiver, "models:/bare/1", name="bare-drift")
    with pytest.raises(NotFound, match=r"'datasets:/fraud-train@7': no dataset version"):
        _create(local, receiver, "datasets:/fraud-train@7", name="typo-drift")
    with pytest.raises(
        NotFound, match="'models:/fraud/9': version 9 of model 'fraud': no such version"
    ):
        _create(local, receiver, "models:/fraud/9", name="typo-drift")
    assert [m.name for m in local.monitors.list_monitors()] == ["fraud-drift"]


def test_a_failed_run_lets_go_of_its_claim(
    local: Client, receiver: Receiver, tmp_path: Path
) -> None:
    reference = _reference(tmp_path)
    _create(local, receiver, reference, name="gone-drift")
    Path(reference[len("file:") :]).unlink()  # removed after the monitor was made
    _write_predictions(local, "fraud-api", T0 + 60_000, shift=40.0)
    with pytest.raises(NotFound, match="no such file"):
        local.monitors.run("gone-drift", at_ms=T0 + 120_000)
    assert local.backend.monitors.claim("gone-drift", T0 + 130_000, 1000) is not None


def test_performance_from_labels_that_arrive_later(
    local: Client, receiver: Receiver, tmp_path: Path
) -> None:
    from keel.predictions.feedback import open_feedback_log

    local.monitors.create(
        "fraud-quality",
        deployment="fraud-api",
        reference=_reference(tmp_path),
        performance="classifier",
        rules=[{"name": "accuracy", "condition": "metric:accuracy < 0.9"}],
    )
    ids, predicted = _write_predictions(local, "fraud-api", T0 + 60_000, shift=0.0)
    unlabelled = local.monitors.run("fraud-quality", at_ms=T0 + 120_000)
    assert unlabelled.result["metrics"] == {} and unlabelled.notifications == []

    truth = predicted.copy()
    truth[:120] = 1 - truth[:120]  # 80% right, on the first 500 labelled rows
    feedback = open_feedback_log(local.backend, local.settings, flush_seconds=0.05)
    feedback.log_feedback("fraud-api", ids[:500], [int(t) for t in truth[:500]])
    feedback.close()

    later = local.monitors.run("fraud-quality", at_ms=T0 + 180_000)
    assert later.result["labelled"] == 500
    assert later.result["metrics"]["accuracy"] == pytest.approx(380 / 500)
    assert [n["status"] for n in later.notifications] == ["firing"]
    (series,) = local.monitors.results("fraud-quality", column="metric:accuracy")[-1:]
    assert series.score == pytest.approx(0.76)


def test_a_file_reference_is_checked_at_create_and_kept_absolute(
    local: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reference(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFound, match=r"'file:missing.parquet': no such file .* datasets:/"):
        local.monitors.create("m", deployment="fraud-api", reference="file:missing.parquet")
    with pytest.raises(InvalidArgument, match=r"a \.parquet table or a \.json reference profile"):
        local.monitors.create("m", deployment="fraud-api", reference="file:reference.csv")
    assert local.monitors.list_monitors() == []

    local.monitors.create("m", deployment="fraud-api", reference="file:reference.parquet")
    assert local.monitors.get("m").spec.reference == f"file:{tmp_path / 'reference.parquet'}"
    _write_predictions(local, "fraud-api", int(time.time() * 1000) - 60_000, shift=30.0)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # a later run from another folder finds it
    assert local.monitors.run("m").result["dataset"]["drifted"] is True
