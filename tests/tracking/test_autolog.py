"""keel.autolog(): patched fit methods log runs, on every store."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import keel
from keel.entities import RunStatus
from keel.tracking.autolog import _originals, autolog

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
        assert _originals[LogisticRegression] is before
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
