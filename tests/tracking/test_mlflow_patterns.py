"""An MLflow user's scripts with only ``mlflow`` replaced by ``keel``: the quickstart's
search into a DataFrame, a hyperparameter loop of nested runs filtered by
``tags.mlflow.parentRunId``, and a registry walk-through that loads ``models:/m/latest``.
Each runs on SQLite and through a real ``keel server``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import keel
from conftest import unique
from keel.errors import AlreadyExists, InvalidArgument, NotFound
from tracking.conftest import Reader

BACKENDS = pytest.mark.parametrize("store_uri", ["sqlite", "rest"], indirect=True)


@BACKENDS
def test_quickstart_search_runs_to_a_dataframe(tracking: str) -> None:
    name = unique("quickstart")
    experiment = keel.set_experiment(name)
    for n, accuracy in ((10, 0.81), (50, 0.93)):
        with keel.start_run(run_name=f"rf-{n}"):
            keel.log_params({"n_estimators": n, "max_depth": 3})
            keel.log_metric("accuracy", accuracy)
            keel.set_tag("team", "vision")

    df = keel.search_runs(
        filter_string="metrics.accuracy > 0.5", order_by=["metrics.accuracy DESC"]
    )

    assert isinstance(df, pd.DataFrame)
    assert list(df.columns[:6]) == [
        "run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time",
    ]  # fmt: skip
    assert list(df["metrics.accuracy"]) == [0.93, 0.81]
    assert list(df["params.n_estimators"]) == ["50", "10"]
    assert set(df["tags.team"]) == {"vision"}
    assert list(df["tags.mlflow.runName"]) == ["rf-50", "rf-10"]
    assert set(df["status"]) == {"FINISHED"}
    assert isinstance(df["start_time"].dtype, pd.DatetimeTZDtype)
    assert str(df["start_time"].dt.tz) == "UTC"
    assert (df["end_time"] >= df["start_time"]).all()
    assert set(df["experiment_id"]) == {experiment.experiment_id}

    best = df.iloc[0]
    run = keel.get_run(best["run_id"])
    assert run.data.params["n_estimators"] == "50"
    assert keel.get_experiment_by_name(name) == experiment
    assert keel.get_experiment(experiment.experiment_id).name == name
    assert keel.get_experiment_by_name(unique("missing")) is None
    assert name in {e.name for e in keel.search_experiments()}
    (found,) = keel.search_experiments(filter_string=f"name = '{name}'")
    assert found.experiment_id == experiment.experiment_id
    prefixed = keel.search_experiments(
        filter_string="name LIKE 'quickstart-%'", order_by=["creation_time DESC"]
    )
    assert name in [e.name for e in prefixed] and prefixed.token is None
    with pytest.raises(InvalidArgument, match="cannot be filtered"):
        keel.search_experiments(filter_string="metrics.x > 1")

    by_name = keel.search_runs(experiment_names=[name], output_format="list")
    assert sorted(r.info.run_name for r in by_name) == ["rf-10", "rf-50"]
    assert len(keel.search_runs(experiment_names=[name], max_results=1)) == 1
    everywhere = keel.search_runs(search_all_experiments=True, filter_string="tags.team = 'vision'")
    assert set(df["run_id"]) <= set(everywhere["run_id"])
    with pytest.raises(NotFound, match="experiment_names"):
        keel.search_runs(experiment_names=[unique("missing")])
    with pytest.raises(InvalidArgument, match="output_format"):
        keel.search_runs(output_format="polars")

    keel.delete_run(best["run_id"])
    assert list(keel.search_runs()["run_id"]) == [df.iloc[1]["run_id"]]


@BACKENDS
def test_nested_runs_filtered_by_the_mlflow_parent_tag(tracking: str) -> None:
    keel.set_experiment(unique("tuning"))
    losses = {}
    with keel.start_run(run_name="search") as parent:
        for lr in (0.1, 0.01, 0.001):
            with keel.start_run(run_name=f"lr-{lr}", nested=True):
                keel.log_param("lr", lr)
                keel.log_metric("loss", lr * 2)
                losses[str(lr)] = lr * 2
        keel.set_experiment_tag("kind", "sweep")
        uri = keel.get_artifact_uri("plots/loss.png")
        assert uri == f"{parent.info.artifact_uri}/plots/loss.png"

    parent_id = parent.info.run_id
    children = keel.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")
    assert len(children) == 3
    assert set(children["tags.mlflow.parentRunId"]) == {parent_id}
    best = children.sort_values("metrics.loss").iloc[0]
    assert best["params.lr"] == "0.001"
    assert keel.get_run(best["run_id"]).data.tags["mlflow.parentRunId"] == parent_id
    top = keel.search_runs(filter_string="attributes.parent_run_id IS NULL")
    assert list(top["run_id"]) == [parent_id]

    client = keel.Client()
    experiment_id = keel.get_run(parent_id).info.experiment_id
    assert client.get_experiment(experiment_id).tags["kind"] == "sweep"
    page = client.search_runs(
        [experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'", max_results=2
    )
    assert len(page) == 2 and page.token is not None
    assert isinstance(page, keel.PagedList) and isinstance(page[:1], list)
    rest = client.search_runs(
        [experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'", page_token=page.token
    )
    assert len(rest) == 1 and rest.token is None
    assert {r.data.params["lr"] for r in [*page, *rest]} == set(losses)

    # MLflow's other way to nest: the tag at creation
    child = client.create_run(experiment_id, tags={"mlflow.parentRunId": parent_id})
    assert client.get_run(child.run_id).info.parent_run_id == parent_id
    client.set_terminated(child.run_id)
    client.close()


@BACKENDS
def test_registry_walkthrough_loads_latest(tracking: str) -> None:
    keel.set_experiment(unique("registry"))
    name = unique("m")
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    for scale in (1.0, 3.0):
        with keel.start_run() as run:
            model = LinearRegression().fit(x, scale * x[:, 0])
            keel.log_model(model, "model", input_example=x[:2])
        keel.register_model(f"runs:/{run.info.run_id}/model", name)

    loaded = keel.load_model(f"models:/{name}/latest")
    assert float(loaded.predict(x[3:4])[0]) == pytest.approx(3.0 * x[3, 0])  # version 2

    client = keel.Client()
    (latest,) = client.registry.get_latest_versions(name)
    assert latest.version == 2
    assert client.registry.get_latest_versions(name, stages=None) == [latest]
    with pytest.raises(InvalidArgument, match="alias"):
        client.registry.get_latest_versions(name, stages=["Production"])
    assert client.registry.resolve(f"models:/{name}/latest").version == 2
    versions = client.registry.search_model_versions(name)
    assert isinstance(versions, keel.PagedList) and versions.token is None
    assert [v.version for v in versions] == [2, 1]
    empty = unique("empty")
    client.registry.create_registered_model(empty)
    assert client.registry.get_latest_versions(empty) == []
    with pytest.raises(NotFound, match="no versions"):
        keel.load_model(f"models:/{empty}/latest")
    client.close()


@BACKENDS
def test_mlflows_keywords_on_the_fluent_api(tracking: str, reader: Reader) -> None:
    name = unique("kw")
    experiment_id = keel.create_experiment(name, tags={"team": "ml", "priority": 1})
    assert keel.get_experiment(experiment_id).tags == {"team": "ml", "priority": "1"}
    assert keel.active_run() is None  # creating is not choosing
    assert keel.set_experiment(experiment_name=name).experiment_id == experiment_id
    with pytest.raises(InvalidArgument, match="experiment_name: the same as name"):
        keel.set_experiment(name, experiment_name=name)

    with keel.start_run(run_name="described", description="grid over depth") as run:
        keel.log_param("depth", 3)
    with pytest.raises(InvalidArgument, match="description: must be text"):
        keel.start_run(description=3)  # type: ignore[arg-type]
    assert keel.active_run() is None  # refused before a run was made
    stored = reader().get_run(run.info.run_id)
    assert stored.data.tags["mlflow.note.content"] == "grid over depth"
    assert stored.info.experiment_id == experiment_id
    frame = keel.search_runs(experiment_ids=[experiment_id])
    assert list(frame["tags.mlflow.note.content"]) == ["grid over depth"]
    with pytest.raises(AlreadyExists):
        keel.create_experiment(name)


def test_keel_tracking_client_is_keel_client() -> None:
    # MLflow scripts write `from mlflow.tracking import MlflowClient`.
    from keel.tracking import Client

    assert Client is keel.Client
    with pytest.raises(ImportError, match="MlflowClient"):
        from keel.tracking import MlflowClient  # type: ignore[attr-defined]  # noqa: F401


@BACKENDS
def test_log_input_versions_a_from_pandas_dataset(tracking: str, reader: Reader) -> None:
    keel.set_experiment(unique("inputs"))
    frame = pd.DataFrame({"alcohol": [9.4, 9.8, 10.1], "quality": [5, 6, 7]})
    name = unique("wine")
    dataset = keel.data.from_pandas(
        frame, source="s3://bucket/wine.csv", name=name, targets="quality"
    )
    with keel.start_run() as run:
        version = keel.log_input(dataset, context="training")
        for bad, rule in ((frame, "from_pandas returns"), ("wine.csv", "from_pandas returns")):
            with pytest.raises(InvalidArgument, match=rule):
                keel.log_input(bad)  # type: ignore[arg-type]
    assert (version.name, version.version) == (name, 1)
    assert version.description == "source: s3://bucket/wine.csv; targets: quality"
    (linked,) = reader().data.store.run_inputs(run.info.run_id)
    assert (linked.name, linked.version, linked.context) == (name, 1, "training")
    assert keel.data.load(f"datasets:/{name}@1").to_pandas().equals(frame)

    assert keel.data.from_pandas(frame).name == "dataset"  # MLflow's default name
    with pytest.raises(InvalidArgument, match="targets 'label': not a column"):
        keel.data.from_pandas(frame, targets="label")
    with pytest.raises(InvalidArgument, match="df: expected a pandas DataFrame"):
        keel.data.from_pandas([1, 2])
