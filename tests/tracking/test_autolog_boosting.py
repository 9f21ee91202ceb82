"""keel.autolog() with XGBoost and LightGBM as an MLflow user writes it: the native
``xgb.train`` / ``lgb.train`` with evaluation sets and early stopping, and the
scikit-learn API; per-round metric history, importances, best iteration, the model."""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import keel

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

Reader = Callable[[], keel.Client]


@pytest.fixture
def experiment(tracking: str) -> Iterator[str]:
    made = keel.set_experiment(f"boosting-{uuid.uuid4().hex[:10]}")
    keel.autolog()
    try:
        yield made.experiment_id
    finally:
        keel.autolog(disable=True)


def _data(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(
        {"f0": rng.normal(size=n), "f1": rng.normal(size=n), "noise": rng.normal(size=n)}
    )
    y = 2 * x["f0"].to_numpy() - x["f1"].to_numpy() + rng.normal(0, 0.5, n)
    return x, y


def _last(reader: Reader) -> keel.Run:
    run = keel.last_active_run()
    assert run is not None
    return reader().get_run(run.run_id)


def _artifact_json(reader: Reader, run_id: str, path: str, tmp_path: Path) -> dict[str, float]:
    local = Path(reader().download_artifacts(run_id, path, tmp_path))
    file = local if local.is_file() else local / path
    loaded: dict[str, float] = json.loads(file.read_text())
    return loaded


def _history(reader: Reader, run_id: str, key: str) -> list[tuple[int, float]]:
    points = reader().get_metric_history(run_id, key)
    return sorted((p.step, p.value) for p in points)


def test_xgb_train_with_evals_and_early_stopping(
    experiment: str, reader: Reader, tmp_path: Path
) -> None:
    x, y = _data()
    dtrain = xgb.DMatrix(x[:200], label=y[:200])
    dvalid = xgb.DMatrix(x[200:], label=y[200:])
    params = {
        "objective": "reg:squarederror",
        "eta": 0.3,
        "max_depth": 3,
        "eval_metric": ["rmse", "mae"],
    }
    mine: dict[str, dict[str, list[float]]] = {}
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=200,
        evals=[(dtrain, "train"), (dvalid, "eval")],
        early_stopping_rounds=5,
        evals_result=mine,
        verbose_eval=False,
    )
    run = _last(reader)
    assert run.info.run_name == "xgboost.train"
    assert run.data.params["eta"] == "0.3"
    assert run.data.params["eval_metric"] == "[rmse, mae]"
    assert run.data.params["num_boost_round"] == "200"
    assert run.data.params["early_stopping_rounds"] == "5"

    rounds = booster.num_boosted_rounds()
    assert 5 < rounds < 200  # it stopped early
    for key in ("train-rmse", "eval-rmse", "eval-mae"):
        dataset, metric = key.split("-")
        history = _history(reader, run.run_id, key)
        assert [step for step, _ in history] == list(range(rounds))
        assert [v for _, v in history] == pytest.approx(mine[dataset][metric])  # the user's dict
    metrics = run.data.metrics
    assert metrics["best_iteration"] == booster.best_iteration
    assert metrics["stopped_iteration"] == rounds
    assert metrics["best_score"] == pytest.approx(booster.best_score)
    assert metrics["best_eval-mae"] == pytest.approx(mine["eval"]["mae"][booster.best_iteration])

    gain = _artifact_json(reader, run.run_id, "feature_importance_gain.json", tmp_path)
    assert gain == pytest.approx(booster.get_score(importance_type="gain"))
    assert max(gain, key=gain.__getitem__) == "f0"
    weight = _artifact_json(reader, run.run_id, "feature_importance_weight.json", tmp_path)
    assert weight == pytest.approx(booster.get_score(importance_type="weight"))

    assert (run.data.tags["keel.dataset.rows"], run.data.tags["keel.dataset.columns"]) == (
        "200",
        "3",
    )
    assert len(run.data.tags["keel.dataset.fingerprint"]) == 64

    loaded = keel.load_model(f"runs:/{run.run_id}/model")
    assert loaded.manifest.flavor == "xgboost"
    signature = loaded.signature
    assert signature is not None and [c.name for c in signature.columns] == ["f0", "f1", "noise"]
    assert signature.outputs is not None
    assert np.asarray(loaded.predict(x[:10])) == pytest.approx(booster.predict(xgb.DMatrix(x[:10])))


def test_lgb_train_with_valid_sets_and_early_stopping(
    experiment: str, reader: Reader, tmp_path: Path
) -> None:
    x, y = _data()
    train = lgb.Dataset(x[:200], y[:200])
    valid = lgb.Dataset(x[200:], y[200:], reference=train)
    mine: dict[str, dict[str, list[float]]] = {}
    booster = lgb.train(
        {"objective": "regression", "learning_rate": 0.2, "verbose": -1, "metric": ["l2", "l1"]},
        train,
        num_boost_round=300,
        valid_sets=[train, valid],
        valid_names=["train", "valid"],
        callbacks=[lgb.early_stopping(5, verbose=False), lgb.record_evaluation(mine)],
    )
    run = _last(reader)
    assert run.info.run_name == "lightgbm.train"
    assert run.data.params["learning_rate"] == "0.2"
    assert run.data.params["metric"] == "[l2, l1]"
    assert run.data.params["num_boost_round"] == "300"

    rounds = len(mine["valid"]["l2"])  # the booster keeps only the rounds up to the best
    assert 0 < booster.best_iteration < rounds < 300
    history = _history(reader, run.run_id, "valid-l2")
    assert [step for step, _ in history] == list(range(rounds))
    assert [v for _, v in history] == pytest.approx(mine["valid"]["l2"])  # the user's callback too
    assert len(_history(reader, run.run_id, "train-l1")) == rounds
    metrics = run.data.metrics
    assert metrics["best_iteration"] == booster.best_iteration
    assert metrics["stopped_iteration"] == rounds
    assert metrics["best_valid-l2"] == pytest.approx(booster.best_score["valid"]["l2"])

    split = _artifact_json(reader, run.run_id, "feature_importance_split.json", tmp_path)
    expected = dict(zip(booster.feature_name(), booster.feature_importance("split"), strict=True))
    assert split == pytest.approx(expected)
    assert run.data.tags["keel.dataset.rows"] == "200"

    loaded = keel.load_model(f"runs:/{run.run_id}/model")
    assert loaded.manifest.flavor == "lightgbm"
    assert loaded.signature is not None and loaded.signature.outputs is not None
    assert np.asarray(loaded.predict(x[:10])) == pytest.approx(booster.predict(x[:10]))


def test_xgb_classifier_sklearn_api_names_rounds_validation_0(
    experiment: str, reader: Reader, tmp_path: Path
) -> None:
    x, y = _data()
    labels = (y > 0).astype(int)
    model = xgb.XGBClassifier(n_estimators=100, max_depth=2, early_stopping_rounds=4)
    model.fit(x[:200], labels[:200], eval_set=[(x[200:], labels[200:])], verbose=False)
    runs = list(reader().search_runs(experiment).runs)
    assert len(runs) == 1  # the inner xgboost.train is not a run of its own
    run = _last(reader)
    assert run.info.run_name == "XGBClassifier"
    assert run.data.params["max_depth"] == "2"
    history = _history(reader, run.run_id, "validation_0-logloss")
    assert [v for _, v in history] == pytest.approx(model.evals_result()["validation_0"]["logloss"])
    assert run.data.metrics["best_iteration"] == model.best_iteration
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(
        model.score(x[:200], labels[:200])
    )
    assert "feature_importance_weight.json" in [f.path for f in reader().list_artifacts(run.run_id)]
    signature = keel.load_model(f"runs:/{run.run_id}/model").signature
    assert signature is not None and signature.outputs is not None


def test_lgbm_regressor_sklearn_api_logs_rounds_without_early_stopping(
    experiment: str, reader: Reader
) -> None:
    x, y = _data()
    model = lgb.LGBMRegressor(n_estimators=15, verbose=-1)
    if "eval_X" in inspect.signature(lgb.LGBMRegressor.fit).parameters:  # LightGBM >= 4.7
        model.fit(x[:200], y[:200], eval_X=(x[200:],), eval_y=(y[200:],))
    else:
        model.fit(x[:200], y[:200], eval_set=[(x[200:], y[200:])])
    run = _last(reader)
    assert len(_history(reader, run.run_id, "valid_0-l2")) == 15
    assert "best_iteration" not in run.data.metrics  # no early stopping: no best round
    assert run.data.metrics["training_r2_score"] == pytest.approx(model.score(x[:200], y[:200]))


def test_a_failing_train_ends_its_run_failed(experiment: str, reader: Reader) -> None:
    x, y = _data()
    with pytest.raises(xgb.core.XGBoostError):
        xgb.train({"objective": "no-such-objective"}, xgb.DMatrix(x, label=y), 3)
    assert _last(reader).info.status == keel.RunStatus.FAILED
