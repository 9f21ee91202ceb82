"""keel.autolog() with scikit-learn as an MLflow user writes it (``mlflow`` → ``keel``):
nested params, the training metrics MLflow names, searches with child runs, output
signatures, and the ``libraries=`` switch."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

import keel
from keel.autologging import _originals
from keel.errors import InvalidArgument
from keel.models.signature import TensorSpec

Reader = Callable[[], keel.Client]


@pytest.fixture
def experiment(tracking: str) -> Iterator[str]:
    """A fresh experiment; autolog always off again afterwards, whatever a test turned on."""
    made = keel.set_experiment(f"autolog-{uuid.uuid4().hex[:10]}")
    try:
        yield made.experiment_id
    finally:
        keel.autolog(disable=True)


def _frame(n: int = 60, classes: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    x = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n).astype(float),
            "spend": rng.normal(50, 10, n),
            "city": rng.choice(["oslo", "rome", "lima"], n),
        }
    )
    y = np.digitize(x["spend"], np.quantile(x["spend"], np.linspace(0, 1, classes + 1)[1:-1]))
    flip = rng.random(n) < 0.15  # not perfectly separable: metrics below 1
    y = np.where(flip, (y + 1) % classes, y)
    return x, y


def _last(reader: Reader) -> keel.Run:
    run = keel.last_active_run()
    assert run is not None
    return reader().get_run(run.run_id)


def test_pipeline_with_column_transformer_logs_nested_params_and_mlflow_metrics(
    experiment: str, reader: Reader
) -> None:
    keel.autolog()
    x, y = _frame(classes=3)
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(with_mean=False), ["age", "spend"]),
            ("cat", OneHotEncoder(), ["city"]),
        ]
    )
    pipe = Pipeline([("pre", pre), ("clf", LogisticRegression(C=0.7, max_iter=500))])
    pipe.fit(x, y)

    run = _last(reader)
    params = run.data.params
    assert params["clf__C"] == "0.7"
    assert params["clf__max_iter"] == "500"
    assert params["pre__num__with_mean"] == "False"
    assert params["pre__cat__handle_unknown"] == "error"
    assert params["clf"] == "LogisticRegression"
    assert params["steps"] == "[(pre, ColumnTransformer), (clf, LogisticRegression)]"

    predicted, proba = pipe.predict(x), pipe.predict_proba(x)
    expected = {
        "training_accuracy_score": metrics.accuracy_score(y, predicted),
        "training_precision_score": metrics.precision_score(y, predicted, average="weighted"),
        "training_recall_score": metrics.recall_score(y, predicted, average="weighted"),
        "training_f1_score": metrics.f1_score(y, predicted, average="weighted"),
        "training_log_loss": metrics.log_loss(y, proba),
        "training_roc_auc": metrics.roc_auc_score(y, proba, average="weighted", multi_class="ovo"),
        "training_score": pipe.score(x, y),
        "training_accuracy": pipe.score(x, y),
        "training_rows": 60.0,
    }
    got = run.data.metrics
    assert {k: got[k] for k in expected} == pytest.approx(expected)
    assert 0.5 < got["training_accuracy_score"] < 1.0  # a real fit, not a degenerate one

    # The signature records the outputs as well as the inputs.
    loaded = keel.load_model(f"runs:/{run.run_id}/model")
    signature = loaded.signature
    assert signature is not None
    assert [c.name for c in signature.columns] == ["age", "spend", "city"]
    assert signature.outputs == TensorSpec("int64", (-1,))
    assert (np.asarray(loaded.predict(x)) == predicted).all()


def test_a_regressor_logs_mse_rmse_mae_r2(experiment: str, reader: Reader) -> None:
    keel.autolog()
    x, _ = _frame()
    target = 3 * x["age"] - x["spend"] + np.random.default_rng(2).normal(0, 5, len(x))
    model = LinearRegression().fit(x[["age", "spend"]], target)
    got = _last(reader).data.metrics
    predicted = model.predict(x[["age", "spend"]])
    mse = metrics.mean_squared_error(target, predicted)
    assert got["training_mean_squared_error"] == pytest.approx(mse)
    assert got["training_root_mean_squared_error"] == pytest.approx(math.sqrt(mse))
    assert got["training_mean_absolute_error"] == pytest.approx(
        metrics.mean_absolute_error(target, predicted)
    )
    assert got["training_r2_score"] == pytest.approx(metrics.r2_score(target, predicted))
    assert got["training_r2_score"] == got["training_score"] == got["training_r2"]
    assert "training_accuracy_score" not in got


def test_string_labels_give_a_column_output_and_no_proba_no_log_loss(
    experiment: str, reader: Reader
) -> None:
    keel.autolog()
    x, y = _frame()
    labels = np.where(y == 1, "high", "low")
    SVC().fit(x[["age", "spend"]], labels)  # no predict_proba unless probability=True
    run = _last(reader)
    assert "training_accuracy_score" in run.data.metrics
    assert "training_log_loss" not in run.data.metrics
    assert "training_roc_auc" not in run.data.metrics
    signature = keel.load_model(f"runs:/{run.run_id}/model", trust=True).signature
    assert signature is not None and signature.outputs is not None
    assert [(c.name, c.dtype) for c in signature.outputs] == [("prediction", "string")]  # type: ignore[union-attr]


def test_grid_search_logs_best_params_cv_results_and_child_runs(
    experiment: str, reader: Reader, tmp_path: Path
) -> None:
    keel.autolog(max_tuning_runs=3)
    x, y = _frame()
    grid = {"clf__C": [0.01, 0.1, 1.0, 10.0], "clf__fit_intercept": [True, False]}
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    search = GridSearchCV(pipe, grid, cv=3).fit(x[["age", "spend"]], y)

    client = reader()
    runs = list(client.search_runs(experiment).runs)
    parents = [r for r in runs if r.info.parent_run_id is None]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.run_name == "GridSearchCV"
    assert parent.data.params["best_clf__C"] == str(search.best_params_["clf__C"])
    assert parent.data.params["best_clf__fit_intercept"] == str(
        search.best_params_["clf__fit_intercept"]
    )
    assert parent.data.params["cv"] == "3"
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)

    folder = client.download_artifacts(parent.run_id, "cv_results.csv", tmp_path)
    table = pd.read_csv(Path(folder) if Path(folder).is_file() else Path(folder) / "cv_results.csv")
    assert len(table) == 8
    assert table["mean_test_score"].to_numpy() == pytest.approx(
        search.cv_results_["mean_test_score"]
    )

    # Three child runs, the best-ranked candidates, each with every parameter.
    children = [r for r in runs if r.info.parent_run_id == parent.run_id]
    assert len(children) == 3
    ranks = search.cv_results_["rank_test_score"]
    best_three = sorted(range(8), key=lambda i: (ranks[i], i))[:3]
    by_index = {r.data.tags["keel.autolog.search_candidate"]: r for r in children}
    assert set(by_index) == {str(i) for i in best_three}
    for index in best_three:
        child = by_index[str(index)]
        candidate = search.cv_results_["params"][index]
        assert child.data.params["clf__C"] == str(candidate["clf__C"])
        assert child.data.params["scale__with_mean"] == "True"  # from the estimator
        assert child.data.metrics["mean_test_score"] == pytest.approx(
            search.cv_results_["mean_test_score"][index]
        )
        assert child.data.metrics["rank_test_score"] == ranks[index]
        assert not any(k.startswith("split") for k in child.data.metrics)
        assert child.info.status == keel.RunStatus.FINISHED

    # The model is the refit best estimator, loaded without trust, as it predicted.
    loaded = keel.load_model(f"runs:/{parent.run_id}/model")
    assert loaded.manifest.flavors[loaded.manifest.flavor]["estimator"].endswith(".Pipeline")
    assert (
        np.asarray(loaded.predict(x[["age", "spend"]])) == search.predict(x[["age", "spend"]])
    ).all()


@pytest.mark.parametrize(("limit", "expected"), [(0, 0), (None, 4)])
def test_max_tuning_runs_caps_or_lifts_the_child_runs(
    experiment: str, reader: Reader, limit: int | None, expected: int
) -> None:
    keel.autolog(max_tuning_runs=limit, log_models=False)
    x, y = _frame()
    RandomizedSearchCV(
        LogisticRegression(), {"C": [0.1, 1.0, 3.0, 10.0]}, n_iter=4, cv=3, random_state=0
    ).fit(x[["age", "spend"]], y)
    runs = list(reader().search_runs(experiment).runs)
    assert len([r for r in runs if r.info.parent_run_id is not None]) == expected
    parent = next(r for r in runs if r.info.parent_run_id is None)
    assert reader().list_artifacts(parent.run_id) != []  # cv_results.csv, no model
    assert "model" not in [f.path for f in reader().list_artifacts(parent.run_id)]


def test_libraries_limits_autolog_to_the_ones_named(experiment: str, reader: Reader) -> None:
    import xgboost

    keel.autolog(libraries=("sklearn",))
    patched = {library for library, _ in _originals.values()}
    assert patched == {"sklearn"}
    assert not hasattr(vars(xgboost.sklearn.XGBModel)["fit"], "__keel_autolog__")
    assert not hasattr(xgboost.train, "__keel_autolog__")

    keel.autolog(libraries=["xgboost"])
    assert {library for library, _ in _originals.values()} == {"sklearn", "xgboost"}
    assert hasattr(xgboost.train, "__keel_autolog__")

    keel.autolog(libraries=("xgboost",), disable=True)
    assert {library for library, _ in _originals.values()} == {"sklearn"}
    assert not hasattr(xgboost.train, "__keel_autolog__")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"libraries": ("sklearn", "torch")}, "libraries: unknown 'torch'"),
        ({"libraries": "sklearn"}, "libraries: must be a list"),
        ({"max_tuning_runs": -1}, "max_tuning_runs: must be a whole number >= 0"),
        ({"log_models": "yes"}, "log_models: must be True or False"),
    ],
)
def test_bad_options_are_refused_and_change_nothing(
    experiment: str, options: dict[str, object], message: str
) -> None:
    before = dict(_originals)
    with pytest.raises(InvalidArgument, match=message):
        keel.autolog(**options)  # type: ignore[arg-type]
    assert _originals == before


def test_silent_says_nothing_when_logging_fails(
    experiment: str, reader: Reader, caplog: pytest.LogCaptureFixture
) -> None:
    x, y = _frame()
    keel.autolog(silent=True)
    with caplog.at_level(logging.WARNING), keel.start_run():
        LogisticRegression(C=1.0).fit(x[["age", "spend"]], y)
        LogisticRegression(C=3.0).fit(x[["age", "spend"]], y)  # C conflicts: not logged
    assert "keel.autolog" not in caplog.text
    keel.autolog(silent=False)
    with caplog.at_level(logging.WARNING), keel.start_run():
        LogisticRegression(C=1.0).fit(x[["age", "spend"]], y)
        LogisticRegression(C=3.0).fit(x[["age", "spend"]], y)
    assert "keel.autolog: could not log parameters" in caplog.text


def test_a_halving_search_logs_like_the_others(experiment: str, reader: Reader) -> None:
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    keel.autolog(max_tuning_runs=2, log_models=False)
    x, y = _frame(n=90)
    search = HalvingGridSearchCV(
        LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3, random_state=0
    ).fit(x[["age", "spend"]], y)
    runs = list(reader().search_runs(experiment).runs)
    parent = next(r for r in runs if r.info.parent_run_id is None)
    assert parent.info.run_name == "HalvingGridSearchCV"
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    children = [r for r in runs if r.info.parent_run_id == parent.run_id]
    assert len(children) == 2
    assert all(c.data.metrics["rank_test_score"] <= 2 for c in children)


def test_registered_model_name_and_extra_tags(experiment: str, reader: Reader) -> None:
    name = f"churn-{uuid.uuid4().hex[:8]}"
    keel.autolog(registered_model_name=name, extra_tags={"team": "fraud"}, max_tuning_runs=1)
    x, y = _frame()
    GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3).fit(x[["age", "spend"]], y)
    runs = list(reader().search_runs(experiment).runs)
    assert len(runs) == 2
    assert all(r.data.tags["team"] == "fraud" for r in runs)  # the child run too
    parent = next(r for r in runs if r.info.parent_run_id is None)
    version = reader().registry.get_model_version(name, 1)
    assert version.run_id == parent.run_id
    loaded = keel.load_model(f"models:/{name}/1")
    assert loaded.signature is not None and loaded.signature.outputs is not None

    with pytest.raises(InvalidArgument, match="registered_model_name: must be a non-empty"):
        keel.autolog(registered_model_name=" ")
    with pytest.raises(InvalidArgument, match="extra_tags: must be a mapping"):
        keel.autolog(extra_tags=["team"])  # type: ignore[arg-type]


def test_example_signature_and_dataset_switches(experiment: str, reader: Reader) -> None:
    x, y = _frame()
    features = x[["age", "spend"]]
    keel.autolog(log_input_examples=False)
    LogisticRegression().fit(features, y)
    loaded = keel.load_model(f"runs:/{_last(reader).run_id}/model")
    assert loaded.input_example() is None
    assert loaded.signature is not None and loaded.signature.outputs is not None

    keel.autolog(log_input_examples=False, log_model_signatures=False, log_datasets=False)
    LogisticRegression().fit(features, y)
    run = _last(reader)
    assert keel.load_model(f"runs:/{run.run_id}/model").signature is None
    assert not any(key.startswith("keel.dataset.") for key in run.data.tags)
