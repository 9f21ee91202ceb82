"""``keel.Client`` by run id, on every store: big batches, search, history, artifacts, the
lifecycle of runs, and reading one's own writes."""

from __future__ import annotations

import filecmp
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import unique
from keel.client import Client
from keel.config import Settings
from keel.entities import LifecycleStage, Metric, Param, RunStatus, RunTag, ViewType
from keel.entities.rules import MAX_BATCH_ROWS
from keel.errors import Conflict, InvalidArgument, NotFound

POINTS = 120_000


def new_run(client: Client, **kwargs: object) -> str:
    experiment_id = client.create_experiment(unique())
    return client.create_run(experiment_id, **kwargs).run_id  # type: ignore[arg-type]


def test_create_run_returns_it_as_stored(client: Client) -> None:
    experiment_id = client.create_experiment(unique(), tags={"team": "vision"})
    run = client.create_run(experiment_id, run_name="first", tags={"k": "v"}, start_time=1234)
    assert run.info.experiment_id == experiment_id
    assert run.info.run_name == "first"
    assert run.info.status is RunStatus.RUNNING
    assert run.info.start_time == 1234
    assert run.data.tags["k"] == "v"
    stored = client.get_run(run.run_id).info
    # The heartbeat is the store's clock at creation; everything else is as returned.
    assert replace(stored, last_heartbeat=None) == replace(run.info, last_heartbeat=None)
    assert abs((stored.last_heartbeat or 0) - (run.info.last_heartbeat or 0)) < 60_000
    assert client.get_experiment(experiment_id).tags == {"team": "vision"}


def test_a_batch_bigger_than_one_request_arrives_whole_and_in_step_order(client: Client) -> None:
    assert POINTS > MAX_BATCH_ROWS  # so the writer must split it into several requests
    run_id = new_run(client)
    # Steps in a scrambled order (7919 is coprime with 120,000, so every step once).
    steps = [(i * 7919) % POINTS for i in range(POINTS)]
    client.log_batch(
        run_id,
        metrics=[Metric("loss", step * 0.5, 1_700_000_000_000 + step, step) for step in steps],
        params=[Param("model", "rf")],
        tags=[RunTag("stage", "dev")],
    )
    client.set_terminated(run_id)
    client.flush()
    history = client.get_metric_history(run_id, "loss")
    assert len(history) == POINTS
    assert history.steps == list(range(POINTS))
    assert history.values == [step * 0.5 for step in range(POINTS)]
    assert history.timestamps == [1_700_000_000_000 + step for step in range(POINTS)]
    run = client.get_run(run_id)
    assert run.info.status is RunStatus.FINISHED
    assert run.data.params == {"model": "rf"}
    assert run.data.tags["stage"] == "dev"
    assert run.data.metrics["loss"] == (POINTS - 1) * 0.5  # the latest is the highest step


def test_log_batch_checks_values_at_the_call(client: Client) -> None:
    run_id = new_run(client)
    with pytest.raises(InvalidArgument, match="must be a number"):
        client.log_batch(run_id, metrics=[Metric("loss", "high", 1, 0)])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        client.log_batch(run_id, metrics=[Metric("bad key!", 1.0, 1, 0)])


def test_downsampled_history_keeps_the_ends_and_extremes(client: Client) -> None:
    run_id = new_run(client)
    n = 5_000
    values = [float((step * 37) % 101) for step in range(n)]
    values[2_345] = -1_000.0
    values[4_321] = 1_000.0
    client.log_batch(run_id, [Metric("acc", values[s], 1, s) for s in range(n)])
    full = client.get_metric_history(run_id, "acc")
    assert len(full) == n and not full.is_downsampled
    small = client.get_metric_history(run_id, "acc", max_points=50)
    assert 4 <= len(small) <= 50
    assert small.total == n and small.is_downsampled
    assert small.steps == sorted(small.steps)
    assert small.steps[0] == 0 and small.steps[-1] == n - 1
    assert {2_345, 4_321} <= set(small.steps)
    assert all(values[step] == value for step, value in zip(small.steps, small.values, strict=True))
    # Asking for more points than the series has returns all of them.
    assert client.get_metric_history(run_id, "acc", max_points=n) == full
    with pytest.raises(InvalidArgument, match="max_points"):
        client.get_metric_history(run_id, "acc", max_points=1)


def test_history_of_an_unknown_key_or_run(client: Client) -> None:
    run_id = new_run(client)
    assert len(client.get_metric_history(run_id, "never")) == 0
    with pytest.raises(NotFound):
        client.get_metric_history("0" * 32, "loss")
    with pytest.raises(NotFound):
        client.get_run("0" * 32)


def test_search_runs_filters_orders_and_pages(client: Client) -> None:
    experiment_id = client.create_experiment(unique())
    made = {}
    for name, model, acc in (("a", "rf", 0.7), ("b", "rf", 0.9), ("c", "svm", 0.95)):
        run_id = client.create_run(experiment_id, run_name=name).run_id
        client.log_param(run_id, "model", model)
        client.log_metric(run_id, "acc", acc)
        made[name] = run_id
    client.set_terminated(made["a"], RunStatus.FAILED)

    page = client.search_runs(experiment_id, "metrics.acc > 0.8", order_by=["metrics.acc DESC"])
    assert [r.info.run_name for r in page.runs] == ["c", "b"]
    page = client.search_runs(experiment_id, "params.model = 'rf' and metrics.acc < 0.8")
    assert [r.run_id for r in page.runs] == [made["a"]]
    page = client.search_runs(experiment_id, "status = 'FAILED'")
    assert [r.run_id for r in page.runs] == [made["a"]]

    first = client.search_runs(experiment_id, order_by=["metrics.acc ASC"], max_results=2)
    assert [r.info.run_name for r in first.runs] == ["a", "b"]
    assert first.next_page_token
    second = client.search_runs(
        [experiment_id],
        order_by=["metrics.acc ASC"],
        max_results=2,
        page_token=first.next_page_token,
    )
    assert [r.info.run_name for r in second.runs] == ["c"]
    assert second.next_page_token is None

    with pytest.raises(InvalidArgument):
        client.search_runs(experiment_id, "metrics.acc >>> 1")


def test_delete_and_restore_a_run(client: Client) -> None:
    experiment_id = client.create_experiment(unique())
    run_id = client.create_run(experiment_id).run_id
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
    assert client.search_runs(experiment_id).runs == []
    deleted = client.search_runs(experiment_id, view=ViewType.DELETED_ONLY).runs
    assert [r.run_id for r in deleted] == [run_id]
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE
    assert [r.run_id for r in client.search_runs(experiment_id).runs] == [run_id]
    with pytest.raises(NotFound):
        client.delete_run("0" * 32)


def test_reads_see_the_clients_own_unflushed_writes(store_uri: str, tmp_path: Path) -> None:
    # A flush interval far longer than the test: only reading-one's-writes can explain it.
    settings = Settings(
        home=tmp_path / "slow", flush_interval=600, artifacts_uri=str(tmp_path / "artifacts")
    )
    with Client(store_uri, settings=settings) as client:
        experiment = client.get_experiment(client.create_experiment(unique()))
        run = client.begin_run(experiment, run_name="lazy")  # creation not sent yet
        client.log_param(run.run_id, "lr", 0.1)
        client.log_metric(run.run_id, "loss", 0.5, step=3)
        client.set_tag(run.run_id, "stage", "dev")
        stored = client.get_run(run.run_id)
        assert stored.info.run_name == "lazy"
        assert stored.data.params == {"lr": "0.1"}
        assert stored.data.metrics == {"loss": 0.5}
        assert stored.data.tags["stage"] == "dev"
        assert client.get_metric_history(run.run_id, "loss").steps == [3]
        client.log_metric(run.run_id, "loss", 0.25, step=4)
        found = client.search_runs(experiment.experiment_id, "metrics.loss < 0.3").runs
        assert [r.run_id for r in found] == [run.run_id]
        client.set_terminated(run.run_id)
        assert client.get_run(run.run_id).info.status is RunStatus.FINISHED


def test_a_param_changed_by_another_client_conflicts_at_flush(
    client: Client, store_uri: str, tmp_path: Path
) -> None:
    run_id = new_run(client)
    client.log_params(run_id, {"lr": 0.1, "depth": 3})
    client.flush()
    settings = Settings(home=tmp_path / "other", artifacts_uri=str(tmp_path / "artifacts"))
    with Client(store_uri, settings=settings) as other:
        other.log_param(run_id, "depth", 3)  # the same value again: fine
        other.flush()
        other.log_param(run_id, "lr", 0.2)  # this client has not seen lr: the store checks
        with pytest.raises(Conflict):
            other.flush()
        other.flush()  # the error is reported once
    assert client.get_run(run_id).data.params == {"lr": "0.1", "depth": "3"}


def test_artifacts_upload_list_and_download(client: Client, tmp_path: Path) -> None:
    run_id = new_run(client)
    source = tmp_path / "model"
    (source / "weights").mkdir(parents=True)
    (source / "config.json").write_text('{"layers": 3}')
    (source / "weights" / "w.bin").write_bytes(bytes(range(256)) * 4_000)
    (source / "weights" / "empty.bin").write_bytes(b"")
    uploaded = client.log_artifacts(run_id, source, "model")
    assert sorted(f.path for f in uploaded) == [
        "model/config.json",
        "model/weights/empty.bin",
        "model/weights/w.bin",
    ]
    client.log_text(run_id, "done", "status.txt")

    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in sorted(top, key=lambda f: f.path)] == [
        ("model", True),
        ("status.txt", False),
    ]
    inner = {f.path: f for f in client.list_artifacts(run_id, "model/weights")}
    assert set(inner) == {"model/weights/empty.bin", "model/weights/w.bin"}
    assert inner["model/weights/w.bin"].file_size == 256 * 4_000
    assert inner["model/weights/w.bin"].digest

    folder = client.download_artifacts(run_id, "model", tmp_path / "dl")
    assert folder == tmp_path / "dl" / "model"
    compared = filecmp.dircmp(source, folder)
    assert not (compared.left_only or compared.right_only or compared.diff_files)
    for name in ("w.bin", "empty.bin"):
        assert filecmp.cmp(source / "weights" / name, folder / "weights" / name, shallow=False)

    single = client.download_artifacts(run_id, "model/config.json", tmp_path / "one")
    assert single == tmp_path / "one" / "model" / "config.json"
    assert single.read_text() == '{"layers": 3}'
    everything = client.download_artifacts(run_id, dst_path=tmp_path / "all")
    assert (everything / "status.txt").read_text() == "done"
    assert (everything / "model" / "weights" / "w.bin").stat().st_size == 256 * 4_000

    with pytest.raises(NotFound):
        client.download_artifacts(run_id, "missing", tmp_path / "none")
    with pytest.raises(InvalidArgument):
        client.download_artifacts(run_id, "../escape", tmp_path / "none")


def test_an_asynchronous_creation_appears_at_the_next_flush(
    client: Client, store_uri: str, tmp_path: Path
) -> None:
    """Bulk imports trade visibility for speed: the creation rides the run's batch."""
    experiment_id = client.create_experiment(unique())
    run = client.create_run(experiment_id, run_name="bulk", synchronous=False)
    client.log_metric(run.run_id, "loss", 0.5)
    client.set_terminated(run.run_id)
    with Client(store_uri, settings=Settings(home=tmp_path / "other")) as other:
        client.flush()
        stored = other.get_run(run.run_id)
    assert stored.info.run_name == "bulk"
    assert stored.info.status is RunStatus.FINISHED
    assert stored.data.metrics == {"loss": 0.5}
