"""keel.autolog(): patched fit methods log runs, on every store."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, is_classifier
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, Ridge
from sklearn.metrics import (
    balanced_accuracy_score,
    classification_report,
    f1_score,
    log_loss,
    make_scorer,
    mean_absolute_error,
)
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import keel
from keel.autologging import _originals, autolog
from keel.entities import RunStatus

Reader = Callable[[], keel.Client]


def unique(prefix: str = "exp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.integers(18, 90, 40), "spend": rng.normal(50, 10, 40)})
    return x, (x["spend"] > 50).to_numpy().astype(int)


@pytest.fixture
def auto(tracking: str) -> Iterator[str]:
    """Autolog on, in a fresh experiment; always off again afterwards."""
    experiment = keel.set_experiment(unique())
    autolog()
    try:
        yield experiment.experiment_id
    finally:
        autolog(disable=True)


def _runs(reader: Reader, experiment_id: str) -> list[keel.Run]:
    return list(reader().search_runs(experiment_id).runs)


def _last_run_id() -> str:
    run = keel.last_active_run()
    assert run is not None
    return run.run_id


def test_fit_logs_a_finished_run_with_params_metrics_tags_and_model(
    auto: str, reader: Reader
) -> None:
    x, y = _data()
    model = LogisticRegression(C=0.5).fit(x, y)
    assert keel.active_run() is None

    run = reader().get_run(_last_run_id())
    assert run.info.status == RunStatus.FINISHED
    assert run.info.run_name == "LogisticRegression"
    assert run.data.params["C"] == "0.5"
    assert run.data.metrics["training_accuracy"] == pytest.approx(model.score(x, y))
    assert run.data.metrics["training_rows"] == len(x)
    tags = run.data.tags
    assert len(tags["keel.dataset.fingerprint"]) == 64
    assert (tags["keel.dataset.rows"], tags["keel.dataset.columns"]) == ("40", "2")

    loaded = keel.load_model(f"runs:/{run.run_id}/model")
    assert (loaded.predict(x) == model.predict(x)).all()

    # The same data gives the same fingerprint; different data another.
    LogisticRegression().fit(x, y)
    again = reader().get_run(_last_run_id()).data.tags["keel.dataset.fingerprint"]
    assert again == tags["keel.dataset.fingerprint"]
    LogisticRegression().fit(x.to_numpy(), y)
    other = reader().get_run(_last_run_id()).data.tags["keel.dataset.fingerprint"]
    assert other != tags["keel.dataset.fingerprint"]


def test_pipeline_logs_one_run(auto: str, reader: Reader) -> None:
    x, y = _data()
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    pipe.fit(x, y)
    runs = _runs(reader, auto)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.run_name == "Pipeline"
    assert run.data.params["steps"] == "[(scale, StandardScaler), (clf, LogisticRegression)]"
    assert "training_accuracy" in run.data.metrics


def test_fit_in_an_active_run_logs_into_it(auto: str, reader: Reader) -> None:
    x, y = _data()
    with keel.start_run(run_name="mine") as active:
        LogisticRegression(C=2.0).fit(x, y)
        assert keel.active_run() is active
    runs = _runs(reader, auto)
    assert [r.run_id for r in runs] == [active.run_id]
    assert runs[0].data.params["C"] == "2.0"
    assert runs[0].info.status == RunStatus.FINISHED


def test_failing_fit_marks_the_run_failed_and_raises(auto: str, reader: Reader) -> None:
    x, y = _data()
    x.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(x, y)
    assert keel.active_run() is None
    assert reader().get_run(_last_run_id()).info.status == RunStatus.FAILED


@pytest.mark.parametrize(
    ("module", "estimator", "flavor"),
    [("xgboost", "XGBClassifier", "xgboost"), ("lightgbm", "LGBMClassifier", "lightgbm")],
)
def test_boosting_libraries_are_logged(
    auto: str, reader: Reader, module: str, estimator: str, flavor: str
) -> None:
    lib = pytest.importorskip(module)
    x, y = _data()
    kwargs = {"verbose": -1} if module == "lightgbm" else {}
    model = getattr(lib, estimator)(n_estimators=5, **kwargs).fit(x, y)
    runs = _runs(reader, auto)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.run_name == estimator
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params["n_estimators"] == "5"
    assert "training_accuracy" in run.data.metrics
    loaded = keel.load_model(f"runs:/{run.run_id}/model")
    assert loaded.manifest.flavor == flavor
    assert (np.asarray(loaded.predict(x)) == model.predict(x)).all()


def test_disable_restores_fit_and_logs_nothing(tracking: str, reader: Reader) -> None:
    experiment = keel.set_experiment(unique())
    before = LogisticRegression.__dict__["fit"]
    pipe_before = Pipeline.__dict__["fit"]
    autolog()
    try:
        assert LogisticRegression.__dict__["fit"] is not before
        assert _originals[(LogisticRegression, "fit")] == ("sklearn", before)
    finally:
        autolog(disable=True)
    assert LogisticRegression.__dict__["fit"] is before
    assert Pipeline.__dict__["fit"] is pipe_before
    assert not _originals
    for module, base in (("xgboost.sklearn", "XGBModel"), ("lightgbm.sklearn", "LGBMModel")):
        try:
            cls = getattr(importlib.import_module(module), base)
        except ImportError:
            continue
        assert not hasattr(cls.__dict__["fit"], "__keel_autolog__")

    x, y = _data()
    LogisticRegression().fit(x, y)
    assert _runs(reader, experiment.experiment_id) == []


def test_logging_failure_does_not_break_fit(
    auto: str, reader: Reader, caplog: pytest.LogCaptureFixture
) -> None:
    x, y = _data()
    autolog(log_models=True)  # options update; nothing is patched twice
    with keel.start_run():
        LogisticRegression(C=1.0).fit(x, y)
        # The same key with another value conflicts: a warning, and the fit still works.
        model = LogisticRegression(C=3.0).fit(x, y)
    assert model.coef_.shape == (1, 2)
    assert "could not log parameters" in caplog.text


def test_estimators_fitted_inside_scikit_learn_are_not_logged(auto: str, reader: Reader) -> None:
    x, _ = _data()
    y = np.where(x["spend"] > 50, "high", "low")
    metrics: list[Callable[[LogisticRegression], object]] = [
        lambda m: log_loss(y, m.predict_proba(x)),
        lambda m: f1_score(y, m.predict(x), pos_label="high"),
        lambda m: classification_report(y, m.predict(x)),
    ]
    with keel.start_run() as active:
        model = LogisticRegression(C=0.5).fit(x, y)
        keel.flush()
        fitted = reader().get_run(active.run_id).data
        for metric in metrics:
            metric(model)
        keel.log_param("pos_label", "high")  # LabelBinarizer's pos_label=1 would conflict
    run = reader().get_run(active.run_id)
    assert run.data.params == {**fitted.params, "pos_label": "high"}
    dataset = {k: v for k, v in run.data.tags.items() if k.startswith("keel.dataset.")}
    assert dataset == {k: v for k, v in fitted.tags.items() if k.startswith("keel.dataset.")}
    assert dataset["keel.dataset.columns"] == "2"

    # Outside a run: no run of its own, and the last run is still the user's fit.
    for metric in metrics:
        metric(model)
    assert [r.run_id for r in _runs(reader, auto)] == [active.run_id]
    last = keel.last_active_run()
    assert last is not None and last.run_id == active.run_id

    # Nor do the clones scikit-learn fits for the user, as cross-validation does.
    cross_val_score(LogisticRegression(), x, y, cv=3)
    assert [r.run_id for r in _runs(reader, auto)] == [active.run_id]


def test_a_fit_reached_through_the_estimators_own_method_is_logged(
    auto: str, reader: Reader
) -> None:
    x, _ = _data()
    KMeans(n_clusters=2, n_init=1, random_state=0).fit_predict(x)  # fit_predict calls fit
    StandardScaler().fit_transform(x)
    runs = _runs(reader, auto)
    assert sorted(r.info.run_name for r in runs) == ["KMeans", "StandardScaler"]
    assert "LabelEncoder" not in {c.__name__ for c, _ in _originals}  # type: ignore[attr-defined]  # fit(y): no training data


@pytest.mark.parametrize(
    ("estimator", "grid", "scoring", "name"),
    [
        (LogisticRegression(), {"C": [0.5, 1.0]}, "recall", "training_recall"),
        (
            Ridge(),
            {"alpha": [0.1, 1.0]},
            "neg_mean_absolute_error",
            "training_neg_mean_absolute_error",
        ),
        (LogisticRegression(), {"C": [0.5, 1.0]}, None, "training_accuracy"),
        (Ridge(), {"alpha": [0.1, 1.0]}, None, "training_r2"),
    ],
)
def test_a_search_names_its_score_by_its_scoring(
    auto: str,
    reader: Reader,
    estimator: BaseEstimator,
    grid: dict[str, list[float]],
    scoring: str | None,
    name: str,
) -> None:
    autolog(max_tuning_runs=0, log_models=False)  # only the scores matter here
    x, y = _data()
    target = y if is_classifier(estimator) else x["spend"].to_numpy()
    search = GridSearchCV(estimator, grid, scoring=scoring, cv=3).fit(x, target)
    metrics = reader().get_run(_last_run_id()).data.metrics
    assert {"training_rows", "training_score", "best_cv_score", name} <= set(metrics)
    assert metrics[name] == pytest.approx(search.score(x, target))
    assert metrics["training_score"] == metrics[name]
    assert metrics["best_cv_score"] == pytest.approx(search.best_score_)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # LogisticRegressionCV's deprecations
def test_a_search_names_a_callable_or_multi_metric_score(auto: str, reader: Reader) -> None:
    autolog(max_tuning_runs=0, log_models=False)  # only the scores matter here
    x, y = _data()

    def balanced(estimator: BaseEstimator, xs: object, ys: object) -> float:
        return float(balanced_accuracy_score(ys, estimator.predict(xs)))

    grid = {"C": [0.5, 1.0]}
    RandomizedSearchCV(LogisticRegression(), grid, n_iter=2, scoring=balanced, cv=3).fit(x, y)
    assert "training_balanced" in reader().get_run(_last_run_id()).data.metrics

    scorer = make_scorer(mean_absolute_error, greater_is_better=False)
    GridSearchCV(Ridge(), {"alpha": [1.0]}, scoring=scorer, cv=3).fit(x, x["spend"])
    metrics = reader().get_run(_last_run_id()).data.metrics
    assert "training_neg_mean_absolute_error" in metrics

    both = ["precision", "recall"]
    GridSearchCV(LogisticRegression(), grid, scoring=both, refit="recall", cv=3).fit(x, y)
    assert "training_recall" in reader().get_run(_last_run_id()).data.metrics

    LogisticRegressionCV(Cs=2, cv=3, scoring="f1").fit(x, y)
    assert "training_f1" in reader().get_run(_last_run_id()).data.metrics
