"""The fluent API (``keel.start_run``, ``keel.log_metric``, ...) end to end on every store.

Each test points the process-wide fluent state at a fresh store and reads what it wrote
back through a separate :class:`keel.Client`, as another process would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import keel
from conftest import unique
from keel.config import Settings
from keel.entities import RunStatus
from keel.errors import Conflict, InvalidArgument, NotFound

Reader = Callable[[], keel.Client]


def read_artifact(client: keel.Client, run_id: str, path: str, tmp_path: Path) -> bytes:
    local = client.download_artifacts(run_id, path, tmp_path / unique("dl"))
    return local.read_bytes()


def wait_for_end(client: keel.Client, run_id: str, timeout: float = 5) -> keel.Run:
    """The run as stored, once its end has arrived (it may not exist yet at first)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            run = client.get_run(run_id)
        except NotFound:
            run = None
        if run is not None and run.info.status is not RunStatus.RUNNING:
            return run
        assert time.monotonic() < deadline, f"run {run_id} did not end in the store in {timeout}s"
        time.sleep(0.02)


# experiments -------------------------------------------------------------------------------


def test_set_experiment_creates_then_reuses(tracking: str, reader: Reader) -> None:
    name = unique()
    first = keel.set_experiment(name)
    again = keel.set_experiment(name)
    assert first.experiment_id == again.experiment_id
    assert first.name == name
    assert keel.set_experiment(experiment_id=first.experiment_id).name == name
    with keel.start_run() as run:
        pass
    assert reader().get_run(run.run_id).info.experiment_id == first.experiment_id


def test_set_experiment_refuses_a_deleted_experiment(tracking: str, reader: Reader) -> None:
    name = unique()
    experiment = keel.set_experiment(name)
    reader().delete_experiment(experiment.experiment_id)
    with pytest.raises(InvalidArgument, match="deleted"):
        keel.set_experiment(name)
    with pytest.raises(InvalidArgument, match="deleted"):
        keel.set_experiment(experiment_id=experiment.experiment_id)


def test_set_experiment_needs_exactly_one_of_name_or_id(tracking: str) -> None:
    with pytest.raises(InvalidArgument):
        keel.set_experiment()
    with pytest.raises(InvalidArgument):
        keel.set_experiment("x", experiment_id="1")


# run lifecycle -----------------------------------------------------------------------------


def test_context_manager_ends_the_run_finished(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique())
    with keel.start_run(run_name="baseline") as run:
        assert keel.active_run() is run
        assert run.info.status is RunStatus.RUNNING
    assert keel.active_run() is None
    stored = reader().get_run(run.run_id)
    assert stored.info.status is RunStatus.FINISHED
    assert stored.info.run_name == "baseline"
    assert stored.info.end_time is not None


def test_an_exception_fails_the_run_and_propagates(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique())
    with pytest.raises(ZeroDivisionError), keel.start_run() as run:
        keel.log_metric("before", 1.0)
        _ = 1 / 0
    assert keel.active_run() is None
    stored = reader().get_run(run.run_id)
    assert stored.info.status is RunStatus.FAILED
    assert stored.data.metrics == {"before": 1.0}


def test_nested_runs_record_their_parent(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique())
    with keel.start_run() as parent:
        with keel.start_run(nested=True) as child:
            assert keel.active_run() is child
            assert child.info.parent_run_id == parent.run_id
        assert keel.active_run() is parent
    client = reader()
    assert client.get_run(child.run_id).info.parent_run_id == parent.run_id
    assert client.get_run(parent.run_id).info.parent_run_id is None
    assert client.get_run(child.run_id).info.status is RunStatus.FINISHED


def test_end_run_inside_the_block_keeps_its_status(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique())
    with keel.start_run() as run:
        keel.end_run("KILLED")
        assert keel.active_run() is None
    assert reader().get_run(run.run_id).info.status is RunStatus.KILLED


def test_leaving_a_parent_block_with_a_child_still_open(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique())
    with keel.start_run() as parent:
        child = keel.start_run(nested=True)  # not a context manager: stays open
    assert keel.active_run() is child
    keel.end_run()
    assert keel.active_run() is None  # the ended parent is not left behind on the stack
    client = reader()
    assert client.get_run(parent.run_id).info.status is RunStatus.FINISHED
    assert client.get_run(child.run_id).info.status is RunStatus.FINISHED


def test_a_second_run_needs_nested(tracking: str) -> None:
    keel.set_experiment(unique())
    with keel.start_run() as run:
        with pytest.raises(InvalidArgument, match="already active"):
            keel.start_run()
        assert keel.active_run() is run


def test_resume_a_run_by_id(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique())
    with keel.start_run() as run:
        keel.log_metric("loss", 0.5, step=0)
        keel.log_param("lr", 0.1)
    with keel.start_run(run_id=run.run_id) as resumed:
        assert resumed.run_id == run.run_id
        assert resumed.data.params == {"lr": "0.1"}
        assert reader().get_run(run.run_id).info.status is RunStatus.RUNNING
        keel.log_metric("loss", 0.25, step=1)
    stored = reader().get_run(run.run_id)
    assert stored.info.status is RunStatus.FINISHED
    history = reader().get_metric_history(run.run_id, "loss")
    assert history.steps == [0, 1]
    assert history.values == [0.5, 0.25]


def test_end_run_sends_everything_promptly(tracking: str, tmp_path: Path) -> None:
    """The end of a run goes to the store at once, not at the next flush interval: another
    client sees the run FINISHED, with every point, without ``keel.flush()``."""
    keel.set_experiment(unique())
    run = keel.start_run()
    for step in range(100):
        keel.log_metric("loss", 1 / (step + 1), step=step)
    keel.log_params({"a": 1, "b": "two"})
    keel.end_run()
    settings = Settings(home=tmp_path / "other", artifacts_uri=str(tmp_path / "artifacts"))
    with keel.Client(tracking, settings=settings) as other:
        stored = wait_for_end(other, run.run_id)
        assert stored.info.status is RunStatus.FINISHED
        assert stored.data.params == {"a": "1", "b": "two"}
        assert stored.data.metrics["loss"] == pytest.approx(0.01)
        assert len(other.get_metric_history(run.run_id, "loss")) == 100


def test_end_run_with_a_status(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique())
    run = keel.start_run()
    keel.end_run("KILLED")
    assert reader().get_run(run.run_id).info.status is RunStatus.KILLED
    keel.end_run()  # nothing active: a no-op


def test_last_active_run(tracking: str) -> None:
    keel.set_experiment(unique())
    with keel.start_run() as run:
        keel.log_metric("m", 3.0)
    last = keel.last_active_run()
    assert last is not None
    assert last.run_id == run.run_id
    assert last.info.status is RunStatus.FINISHED
    assert last.data.metrics == {"m": 3.0}


def test_log_metric_without_a_run_starts_one(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique())
    assert keel.active_run() is None
    keel.log_metric("auto", 1.5)
    run = keel.active_run()
    assert run is not None
    keel.end_run()
    assert reader().get_run(run.run_id).data.metrics == {"auto": 1.5}


def test_the_default_experiment_is_used_when_none_is_set(tracking: str, reader: Reader) -> None:
    with keel.start_run() as run:
        pass
    experiment = reader().get_experiment(run.info.experiment_id)
    assert experiment.name == "Default"


# logging -----------------------------------------------------------------------------------


def test_params_metrics_and_tags_read_back(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique())
    with keel.start_run(tags={"team": "vision"}) as run:
        keel.log_param("model", "rf")
        keel.log_params({"depth": 8, "lr": 0.01})
        keel.log_metric("loss", 0.9, step=0)
        keel.log_metric("loss", 0.4, step=1)
        keel.log_metrics({"acc": 0.7, "f1": 0.6}, step=1)
        keel.set_tag("stage", "dev")
        keel.set_tags({"owner": "ana", "n": 3})
    client = reader()
    stored = client.get_run(run.run_id)
    assert stored.data.params == {"model": "rf", "depth": "8", "lr": "0.01"}
    assert stored.data.metrics == {"loss": 0.4, "acc": 0.7, "f1": 0.6}
    tags = stored.data.tags
    assert (tags["team"], tags["stage"], tags["owner"], tags["n"]) == ("vision", "dev", "ana", "3")
    history = client.get_metric_history(run.run_id, "loss")
    assert history.steps == [0, 1]
    assert history.values == [0.9, 0.4]
    assert client.get_metric_history(run.run_id, "acc").steps == [1]


def test_relogging_a_param_with_another_value_conflicts_at_once(tracking: str) -> None:
    keel.set_experiment(unique())
    with keel.start_run():
        keel.log_param("lr", 0.1)
        keel.log_param("lr", 0.1)  # the same value again is fine
        with pytest.raises(Conflict, match="immutable"):
            keel.log_param("lr", 0.2)
        with pytest.raises(Conflict):
            keel.log_params({"other": 1, "lr": 0.3})


def test_invalid_input_fails_at_the_call(tracking: str) -> None:
    keel.set_experiment(unique())
    with keel.start_run():
        with pytest.raises(InvalidArgument):
            keel.log_metric("bad key!", 1.0)
        with pytest.raises(InvalidArgument):
            keel.log_metric("loss", "high")  # type: ignore[arg-type]


def test_artifacts_read_back(tracking: str, reader: Reader, tmp_path: Path) -> None:
    keel.set_experiment(unique())
    single = tmp_path / "notes.txt"
    single.write_text("hello")
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)
    with keel.start_run() as run:
        keel.log_artifact(single)
        keel.log_artifact(single, "docs")
        keel.log_artifact(folder, "folder")
        keel.log_artifacts(folder, "tree")
        keel.log_artifacts(folder)
    client = reader()
    top = {(f.path, f.is_dir) for f in client.list_artifacts(run.run_id)}
    assert top == {
        ("notes.txt", False),
        ("docs", True),
        ("folder", True),
        ("tree", True),
        ("a.csv", False),
        ("sub", True),
    }
    nested = {f.path for f in client.list_artifacts(run.run_id, "tree")}
    assert nested == {"tree/a.csv", "tree/sub"}
    # log_artifact of a folder keeps the folder's name; log_artifacts uploads its contents
    assert {f.path for f in client.list_artifacts(run.run_id, "folder")} == {"folder/data"}
    assert read_artifact(client, run.run_id, "notes.txt", tmp_path) == b"hello"
    assert read_artifact(client, run.run_id, "docs/notes.txt", tmp_path) == b"hello"
    for base in ("folder/data/", "tree/", ""):
        got = read_artifact(client, run.run_id, f"{base}sub/b.bin", tmp_path)
        assert got == (folder / "sub" / "b.bin").read_bytes()


def test_log_artifacts_refuses_a_file(tracking: str, tmp_path: Path) -> None:
    keel.set_experiment(unique())
    single = tmp_path / "f.txt"
    single.write_text("x")
    with keel.start_run(), pytest.raises(InvalidArgument, match="not a folder"):
        keel.log_artifacts(single)


def test_log_dict_text_and_figure(tracking: str, reader: Reader, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    figure.add_subplot().plot([0, 1, 2], [2, 1, 0])
    config = {"layers": [64, 32], "dropout": 0.1, "name": "mlp"}
    keel.set_experiment(unique())
    with keel.start_run() as run:
        info = keel.log_dict(config, "config/model.json")
        keel.log_text("épochs: 3\n", "notes/readme.md")
        keel.log_figure(figure, "plots/loss.png")
        keel.log_figure(figure, "plots/loss.svg")
    assert info.path == "config/model.json"
    client = reader()
    assert json.loads(read_artifact(client, run.run_id, "config/model.json", tmp_path)) == config
    text = read_artifact(client, run.run_id, "notes/readme.md", tmp_path)
    assert text.decode("utf-8") == "épochs: 3\n"
    assert read_artifact(client, run.run_id, "plots/loss.png", tmp_path).startswith(b"\x89PNG")
    assert b"<svg" in read_artifact(client, run.run_id, "plots/loss.svg", tmp_path)
    plots = {f.path: f for f in client.list_artifacts(run.run_id, "plots")}
    assert set(plots) == {"plots/loss.png", "plots/loss.svg"}
    assert all(f.file_size and f.digest for f in plots.values())


def test_log_figure_refuses_other_objects(tracking: str) -> None:
    keel.set_experiment(unique())
    with keel.start_run(), pytest.raises(InvalidArgument, match="matplotlib or plotly"):
        keel.log_figure(object(), "x.png")


def test_tracking_uri_cannot_change_while_a_run_is_active(tracking: str) -> None:
    keel.set_experiment(unique())
    with keel.start_run():
        with pytest.raises(InvalidArgument, match="while a run is active"):
            keel.set_tracking_uri("/elsewhere")
        assert keel.get_tracking_uri() == tracking


# what every other client sees --------------------------------------------------------------


def test_a_second_client_sees_the_run_at_once_and_logs_to_it(tracking: str, tmp_path: Path) -> None:
    """MLflow's most common pattern: ``MlflowClient().get_run(run.info.run_id)`` inside
    the block, and a fresh client reading the ended run right after it."""
    keel.set_experiment(unique())
    other = keel.Client(tracking, settings=Settings(home=tmp_path / "other"))
    try:
        with keel.start_run() as run:
            assert other.get_run(run.run_id).info.status is RunStatus.RUNNING
            other.log_metric(run.run_id, "x", 1.0)
            other.flush()
            keel.log_metric("y", 2.0)
        fresh = keel.Client(tracking, settings=Settings(home=tmp_path / "fresh"))
        try:
            stored = fresh.get_run(run.run_id)  # no wait: the end is stored when `with` exits
        finally:
            fresh.close()
    finally:
        other.close()
    assert stored.info.status is RunStatus.FINISHED
    assert stored.data.metrics == {"x": 1.0, "y": 2.0}


def test_end_run_returns_once_the_run_is_stored(tracking: str, tmp_path: Path) -> None:
    keel.set_experiment(unique())
    run = keel.start_run()
    keel.log_param("lr", "0.1")
    keel.end_run("KILLED")
    with keel.Client(tracking, settings=Settings(home=tmp_path / "r")) as fresh:
        stored = fresh.get_run(run.run_id)
    assert stored.info.status is RunStatus.KILLED
    assert stored.data.params == {"lr": "0.1"}


def test_a_client_made_after_set_tracking_uri_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEL_TRACKING_URI", raising=False)
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "default-home"))
    store = tmp_path / "x" / "store"
    keel.set_tracking_uri(store)
    try:
        keel.set_experiment("here")
        with keel.start_run():
            keel.log_param("p", 1)
        with keel.Client() as client:
            assert client.tracking_uri == str(store)
            assert client.get_experiment_by_name("here") is not None
    finally:
        keel.set_tracking_uri(None)
    with keel.Client() as client:  # forgotten again: back to KEEL_HOME
        assert client.tracking_uri == str(tmp_path / "default-home")


def test_a_relative_tracking_uri_does_not_move_with_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    keel.set_tracking_uri("rel-store")
    try:
        monkeypatch.chdir(tmp_path.parent)
        with keel.Client() as client:
            assert client.tracking_uri == str(tmp_path / "rel-store")
    finally:
        keel.set_tracking_uri(None)


# threads -----------------------------------------------------------------------------------


def test_nested_runs_started_from_threads_stay_apart(tracking: str, reader: Reader) -> None:
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    keel.set_experiment(unique())
    barrier = threading.Barrier(4)

    def trial(index: int) -> str:
        with keel.start_run(nested=True, run_name=f"trial-{index}") as child:
            barrier.wait(timeout=10)  # all four are open at once
            for step in range(20):
                keel.log_metric("loss", index + step / 100, step=step)
            assert keel.active_run() is child
            return child.run_id

    with keel.start_run() as parent, ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(contextvars.copy_context().run, trial, i) for i in range(4)]
        children = [f.result() for f in futures]
        assert keel.active_run() is parent
    client = reader()
    for index, run_id in enumerate(children):
        run = client.get_run(run_id)
        assert run.info.parent_run_id == parent.run_id
        assert run.info.status is RunStatus.FINISHED
        history = client.get_metric_history(run_id, "loss")
        assert history.values == [index + step / 100 for step in range(20)]


def test_a_thread_without_the_hand_off_starts_its_own_top_level_run(
    tracking: str, reader: Reader
) -> None:
    keel.set_experiment(unique())
    found: dict[str, object] = {}

    def work() -> None:
        found["active"] = keel.active_run()
        try:
            keel.log_metric("lost", 1.0)
        except InvalidArgument as exc:
            found["error"] = str(exc)
        with keel.start_run(run_name="own") as own:
            found["own"] = own.info.parent_run_id

    with keel.start_run() as parent:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    assert found["active"] is None
    assert "no run is active in this thread" in str(found["error"])
    assert parent.run_id in str(found["error"])
    assert found["own"] is None
    assert reader().get_run(parent.run_id).data.metrics == {}


# values ------------------------------------------------------------------------------------


def test_numpy_scalars_are_metrics(tracking: str, reader: Reader) -> None:
    import numpy as np

    keel.set_experiment(unique())
    with keel.start_run() as run:
        keel.log_metric("f32", np.float32(0.5))
        keel.log_metric("i64", np.int64(3), step=np.int64(2))
        keel.log_metrics({"i32": np.int32(7), "flag": np.bool_(True), "f64": np.float64(0.25)})
        keel.log_param("n", np.int64(5))
    stored = reader().get_run(run.run_id)
    assert stored.info.status is RunStatus.FINISHED
    assert stored.data.metrics == {"f32": 0.5, "i64": 3.0, "i32": 7.0, "flag": 1.0, "f64": 0.25}
    assert stored.data.params == {"n": "5"}
    with keel.start_run(), pytest.raises(InvalidArgument, match="must be a number, got complex"):
        keel.log_metric("z", 1 + 2j)  # type: ignore[arg-type]


def test_a_param_conflict_from_another_client_names_the_call_and_spares_the_rest(
    tracking: str, tmp_path: Path
) -> None:
    keel.set_experiment(unique())
    other = keel.Client(tracking, settings=Settings(home=tmp_path / "other"))
    try:
        with keel.start_run() as run:
            keel.log_param("lr", "0.1")
            keel.flush()
            other.log_param(run.run_id, "lr", "0.2")  # this client never saw 0.1
            other.log_metric(run.run_id, "loss", 0.5)
            with pytest.raises(Conflict) as refused:
                other.flush()
        message = str(refused.value)
        assert "param 'lr'" in message and run.run_id in message
        assert "written by log_param(s)" in message
        stored = other.get_run(run.run_id)  # the error was reported once, not again here
    finally:
        other.close()
    assert stored.data.params == {"lr": "0.1"}
    assert stored.data.metrics == {"loss": 0.5}  # the batch's other writes were kept
