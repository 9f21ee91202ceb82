"""keel.evaluate: metrics checked against scikit-learn, artifacts logged to the run, deltas
against a baseline, and a check recorded on a model version that an alias policy requires."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression

import keel
from keel.config import Settings
from keel.errors import Conflict, InvalidArgument, NotFound

PNG = b"\x89PNG\r\n\x1a\n"
COLUMNS = ["a", "b", "noise"]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[keel.Client]:
    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"))
    with keel.Client(str(tmp_path / "store"), settings=settings) as c:
        yield c


def _data(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(size=n) for c in COLUMNS})
    frame["label"] = (frame["a"] + 0.5 * frame["b"] + rng.normal(0, 0.5, n) > 0).astype(int)
    return frame


def _classifier(good: bool = True) -> LogisticRegression:
    frame = _data(seed=1)
    label = frame["label"] if good else (frame["noise"] > 0).astype(int)
    return LogisticRegression().fit(frame[COLUMNS], label)


def _register(client: keel.Client, model: object, name: str) -> int:
    found = client.get_experiment_by_name("train")
    experiment = found.experiment_id if found else client.create_experiment("train")
    run = client.create_run(str(experiment))
    logged = client.log_model(run.run_id, model, input_example=_data()[COLUMNS].head(5))
    return client.registry.register_model(logged.uri, name).version


def test_binary_classifier_metrics_match_scikit_learn_and_are_logged(
    client: keel.Client,
) -> None:
    model, data = _classifier(), _data(seed=2)
    result = keel.evaluate(model, data, targets="label", model_type="classifier", client=client)
    y, x = data["label"], data[COLUMNS]
    p, s = model.predict(x), model.predict_proba(x)[:, 1]
    m = result.metrics
    assert m["example_count"] == len(data)
    assert m["accuracy_score"] == pytest.approx(skm.accuracy_score(y, p))
    assert m["precision_score"] == pytest.approx(skm.precision_score(y, p))
    assert m["recall_score"] == pytest.approx(skm.recall_score(y, p))
    assert m["f1_score"] == pytest.approx(skm.f1_score(y, p))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, s))
    tn, fp, fn, tp = skm.confusion_matrix(y, p).ravel()
    assert (m["true_negatives"], m["false_positives"]) == (tn, fp)
    assert (m["false_negatives"], m["true_positives"]) == (fn, tp)

    assert result.artifacts["confusion_matrix_data"].content["matrix"] == (
        skm.confusion_matrix(y, p).tolist()
    )
    roc = result.artifacts["roc_curve_data"].content["1"]
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(roc["fpr"], fpr)
    np.testing.assert_allclose(roc["tpr"], tpr)
    for name in ("confusion_matrix", "roc_curve_plot", "precision_recall_curve_plot"):
        assert result.artifacts[name].content.startswith(PNG)

    run = client.get_run(result.run_id)  # a new run, ended, as MLflow does without one
    assert run.info.status == "FINISHED"
    assert run.data.metrics["f1_score"] == pytest.approx(m["f1_score"])
    logged = {f.path for f in client.list_artifacts(result.run_id, "evaluation")}
    assert "evaluation/roc_curve_plot.png" in logged
    assert result.artifacts["roc_curve_plot"].uri == (
        f"runs:/{result.run_id}/evaluation/roc_curve_plot.png"
    )


def test_multiclass_uses_weighted_averages_as_mlflow(client: keel.Client) -> None:
    rng = np.random.default_rng(3)
    data = pd.DataFrame({c: rng.normal(size=600) for c in COLUMNS})
    data["label"] = np.array(["x", "y", "z"])[
        np.digitize(data["a"] + rng.normal(0, 0.5, 600), [-0.5, 0.5])
    ]
    model = LogisticRegression().fit(data[COLUMNS], data["label"])
    result = keel.evaluate(
        model, pl.from_pandas(data), targets="label", model_type="classifier", client=client
    )
    y, p = data["label"], model.predict(data[COLUMNS])
    proba = model.predict_proba(data[COLUMNS])
    m = result.metrics
    assert m["f1_score"] == pytest.approx(skm.f1_score(y, p, average="weighted"))
    assert m["precision_score"] == pytest.approx(skm.precision_score(y, p, average="weighted"))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert "true_positives" not in m
    assert set(result.artifacts["roc_curve_data"].content) == {"x", "y", "z"}


def test_regressor_metrics_and_residual_plot(client: keel.Client, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    data = pd.DataFrame({c: rng.normal(size=300) for c in COLUMNS})
    data["y"] = 3 * data["a"] - data["b"] + 10 + rng.normal(0, 0.3, 300)
    model = LinearRegression().fit(data[COLUMNS], data["y"])
    path = tmp_path / "holdout.parquet"
    data.to_parquet(path)
    result = keel.evaluate(model, path, targets="y", model_type="regressor", client=client)
    y, p = data["y"], model.predict(data[COLUMNS])
    m = result.metrics
    assert m["root_mean_squared_error"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert m["mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert m["mean_absolute_percentage_error"] == pytest.approx(
        skm.mean_absolute_percentage_error(y, p)
    )
    assert m["r2_score"] == pytest.approx(skm.r2_score(y, p))
    assert m["max_error"] == pytest.approx(skm.max_error(y, p))
    assert result.artifacts["residuals_plot"].content.startswith(PNG)


def test_a_registered_version_against_its_baseline_records_a_check(
    client: keel.Client,
) -> None:
    _register(client, _classifier(good=False), "fraud")
    _register(client, _classifier(), "fraud")
    client.registry.set_alias("fraud", "champion", 1)
    result = keel.evaluate(
        "models:/fraud/2",
        _data(seed=5),
        targets="label",
        model_type="classifier",
        baseline="models:/fraud@champion",
        model_version=("fraud", 2),
        thresholds={"f1_score": {"min_delta": 0.1, "min_value": 0.6}, "log_loss": 0.0},
        client=client,
    )
    assert result.passed, result.failures
    assert result.deltas["f1_score"] == pytest.approx(
        result.metrics["f1_score"] - result.baseline_metrics["f1_score"]
    )
    assert result.deltas["f1_score"] > 0.1
    checks = {c.check: c for c in client.registry.list_checks("fraud", 2)}
    assert checks["evaluation"].passed is True
    assert checks["evaluation"].details["run_id"] == result.run_id

    # the worse model fails the same thresholds against the better one
    worse = keel.evaluate(
        "models:/fraud/1",
        _data(seed=5),
        targets="label",
        model_type="classifier",
        baseline="models:/fraud/2",
        model_version=("fraud", 1),
        thresholds={"f1_score": {"min_delta": 0.0}},
        client=client,
    )
    assert not worse.passed and "min_delta" in worse.failures[0]
    assert {c.check: c.passed for c in client.registry.list_checks("fraud", 1)} == {
        "evaluation": False
    }

    # an alias policy requiring the evaluation lets version 2 through, not version 1
    client.registry.set_alias_policy("fraud", "production", ["evaluation"])
    _promote(client, "fraud", 2, "production")
    with pytest.raises(Conflict, match="evaluation"):
        _promote(client, "fraud", 1, "production")


def _promote(client: keel.Client, name: str, version: int, alias: str) -> None:
    request = client.registry.request_promotion(name, version, alias)
    settings = dataclasses.replace(client.settings, user="reviewer")
    with keel.Client(client.tracking_uri, settings=settings) as reviewer:
        reviewer.registry.approve(request.id)


def test_keel_evaluate_logs_to_the_active_run(tmp_path: Path) -> None:
    keel.set_tracking_uri(str(tmp_path / "fluent"))
    try:
        with keel.start_run() as run:
            result = keel.evaluate(
                _classifier(), _data(seed=6), targets="label", model_type="classifier"
            )
        assert result.run_id == run.run_id
        stored = keel.get_run(run.run_id)
        assert stored.data.metrics["accuracy_score"] == pytest.approx(
            result.metrics["accuracy_score"]
        )
    finally:
        keel.set_tracking_uri(None)


def test_bad_input_is_refused_before_anything_is_logged(client: keel.Client) -> None:
    model, data = _classifier(), _data()
    cases = [
        ({"targets": "missing"}, "targets"),
        ({"model_type": "ranker"}, "model_type"),
        ({"evaluators": ["shap"]}, "evaluators"),
        ({"model_version": ("fraud", "3")}, "model_version"),
        ({"thresholds": {"rmse": 1.0}}, "thresholds"),
        ({"targets": [0, 1]}, "one value per row"),
    ]
    for override, message in cases:
        arguments = {"targets": "label", "model_type": "classifier", **override}
        with pytest.raises(InvalidArgument, match=message):
            keel.evaluate(model, data, client=client, **arguments)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="models:/"):
        keel.evaluate("fraud", data, targets="label", model_type="classifier", client=client)
    with pytest.raises(InvalidArgument, match="predict"):
        keel.evaluate(object(), data, targets="label", model_type="classifier", client=client)
    with pytest.raises(NotFound):
        keel.evaluate(
            model, data, targets="label", model_type="classifier",
            model_version=("nobody", 1), client=client,
        )  # fmt: skip
    with pytest.raises(NotFound, match="baseline 'models:/nobody/1': "):
        keel.evaluate(
            model, data, targets="label", model_type="classifier",
            baseline="models:/nobody/1", client=client,
        )  # fmt: skip
    with pytest.raises(InvalidArgument, match="baseline: a string must be"):
        keel.evaluate(
            model, data, targets="label", model_type="classifier", baseline="nobody",
            client=client,
        )  # fmt: skip
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert not experiments or not client.search_runs(experiments)
