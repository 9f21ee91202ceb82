"""Validating a version against the champion: integrity, signature, metrics, latency,
each recorded as a check the alias policies can require."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import keel
from keel.config import Settings
from keel.errors import Conflict, InvalidArgument
from keel.registry.metrics import classification_metrics, regression_metrics, roc_auc


@pytest.fixture
def client(tmp_path: Path) -> Iterator[keel.Client]:
    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"))
    with keel.Client(str(tmp_path / "store"), settings=settings) as c:
        yield c


def _data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["noise"] = rng.normal(size=n)
    frame["label"] = (frame["a"] + 0.5 * frame["b"] > 0).astype(int)
    frame["y"] = 3 * frame["a"] - 2 * frame["b"] + rng.normal(scale=0.1, size=n)
    return frame


def _register(client: keel.Client, model: object, columns: list[str], name: str) -> int:
    found = client.get_experiment_by_name(f"exp-{name}")
    experiment = found.experiment_id if found else client.create_experiment(f"exp-{name}")
    run = client.create_run(str(experiment), run_name="train")
    client.log_params(run.run_id, {"columns": ",".join(columns)})
    client.log_metric(run.run_id, "train_score", 0.5)
    logged = client.log_model(run.run_id, model, input_example=_data()[columns].head(5))
    return client.registry.register_model(logged.uri, name).version


COLUMNS = ["a", "b", "noise"]


def _promote(client: keel.Client, name: str, version: int, alias: str) -> None:
    """Request the promotion as the client's user; another user approves it."""
    request = client.registry.request_promotion(name, version, alias)
    settings = dataclasses.replace(client.settings, user="reviewer")
    with keel.Client(client.tracking_uri, settings=settings) as reviewer:
        reviewer.registry.approve(request.id)


def _classifier(columns: list[str] = COLUMNS, *, good: bool = True) -> LogisticRegression:
    """Trained on the true label, or (``good=False``) on a label the noise decides."""
    frame = _data(seed=1)
    label = frame["label"] if good else (frame["noise"] > 0).astype(int)
    return LogisticRegression().fit(frame[columns], label)


@pytest.fixture
def fraud(client: keel.Client) -> str:
    """v1, the champion, learned a label made of noise: a good v2 beats it."""
    _register(client, _classifier(good=False), COLUMNS, "fraud")
    client.registry.set_alias("fraud", "champion", 1)
    return "fraud"


def test_a_better_candidate_passes_and_every_check_is_recorded(
    client: keel.Client, fraud: str
) -> None:
    _register(client, _classifier(), COLUMNS, fraud)
    report = client.registry.validate(fraud, 2, _data(seed=2), "label", metrics={"accuracy": 0.1})
    assert report.passed, report.to_dict()
    assert report.baseline_version == 1
    assert report.deltas["accuracy"] > 0.1
    assert {"accuracy", "f1", "roc_auc"} <= set(report.candidate_metrics)
    recorded = {c.check: c.passed for c in client.registry.list_checks(fraud, 2)}
    assert recorded == {
        "integrity": True, "signature": True, "metric.accuracy": True,
        "latency": True, "validation": True,
    }  # fmt: skip
    assert report.to_dict()["passed"] is True

    # A guarded alias moves, by an approved promotion, once validation has passed.
    client.registry.set_alias_policy(fraud, "production", ["validation"])
    _promote(client, fraud, 2, "production")
    with pytest.raises(Conflict, match="validation"):
        _promote(client, fraud, 1, "production")


def test_a_worse_candidate_fails_with_a_clear_metric_check(client: keel.Client) -> None:
    _register(client, _classifier(), COLUMNS, "m")
    client.registry.set_alias("m", "champion", 1)
    _register(client, _classifier(good=False), COLUMNS, "m")
    report = client.registry.validate("m", 2, _data(seed=2), "label", metrics={"accuracy": 0.0})
    assert not report.passed
    check = report.check("metric.accuracy")
    assert not check.passed
    assert check.details["delta"] < 0
    assert "improvement" in check.details["problems"][0]
    latest = {c.check: c for c in client.registry.list_checks("m", 2)}
    assert latest["validation"].passed is False
    assert latest["validation"].details == {
        "baseline_version": 1, "task": "classification", "failed": ["metric.accuracy"],
    }  # fmt: skip
    client.registry.set_alias_policy("m", "production", ["validation"])
    with pytest.raises(Conflict):
        _promote(client, "m", 2, "production")


def test_latency_limit(client: keel.Client, fraud: str) -> None:
    _register(client, _classifier(), COLUMNS, fraud)
    report = client.registry.validate(fraud, 2, _data(), "label", max_latency_ms=1e-6)
    assert not report.passed
    assert not report.check("latency").passed
    assert report.latency["row_p95_ms"] > 1e-6
    assert "over the limit" in report.check("latency").details["problems"][0]
    assert client.registry.validate(fraud, 2, _data(), "label", max_latency_ms=10_000).passed


def test_a_tampered_candidate_fails_integrity_without_raising(
    client: keel.Client, fraud: str
) -> None:
    _register(client, _classifier(), COLUMNS, fraud)
    version = client.registry.get_model_version(fraud, 2)
    run = client.get_run(version.run_id)
    folder = Path(urlparse(run.info.artifact_uri).path) / "model"
    model_file = next(p for p in folder.iterdir() if p.name.endswith(".skops"))
    model_file.write_bytes(model_file.read_bytes() + b"tampered")

    report = client.registry.validate(fraud, 2, _data(), "label", metrics={"accuracy": 0.0})
    assert not report.passed
    integrity = report.check("integrity")
    assert not integrity.passed and "CorruptData" in integrity.details["error"]
    recorded = {c.check: c.passed for c in client.registry.list_checks(fraud, 2)}
    assert recorded == {
        "integrity": False, "signature": False, "metric.accuracy": False,
        "latency": False, "validation": False,
    }  # fmt: skip


def test_a_candidate_that_needs_other_columns_fails_the_signature_check(
    client: keel.Client, fraud: str
) -> None:
    _register(client, _classifier(["a", "b"]), ["a", "b"], fraud)
    report = client.registry.validate(fraud, 2, _data(), "label")
    signature = report.check("signature")
    assert not signature.passed
    problems = " ".join(signature.details["problems"])
    assert "does not take column 'noise' (float64)" in problems
    assert not report.passed
    assert report.check("metric.accuracy").passed  # each model is scored on its own columns


def test_without_a_champion_absolute_bounds_decide(client: keel.Client) -> None:
    frame = _data()
    _register(client, LinearRegression().fit(frame[["a", "b"]], frame["y"]), ["a", "b"], "reg")
    report = client.registry.validate("reg", 1, frame, "y", task="regression")
    assert report.passed and report.baseline_version is None
    assert "no baseline" in report.check("metric.rmse").details["baseline"]
    strict = client.registry.validate(
        "reg", 1, frame, "y", task="regression",
        metrics={"rmse": {"max_value": 0.01}, "r2": {"min_value": 0.9}},
    )  # fmt: skip
    assert not strict.check("metric.rmse").passed
    assert strict.check("metric.r2").passed


def test_data_from_a_file_and_misuse(client: keel.Client, fraud: str, tmp_path: Path) -> None:
    path = tmp_path / "holdout.csv"
    _data().to_csv(path, index=False)
    assert client.registry.validate(fraud, 1, path, "label", baseline=None).passed
    with pytest.raises(InvalidArgument, match="target"):
        client.registry.validate(fraud, 1, _data(), "missing")
    with pytest.raises(InvalidArgument, match="rmse"):
        client.registry.validate(fraud, 1, _data(), "label", metrics={"rmse": 0.0})


def test_metrics_agree_with_scikit_learn() -> None:
    from sklearn import metrics

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 200)
    p = np.where(rng.random(200) < 0.7, y, rng.integers(0, 3, 200))
    scores = classification_metrics(y, p)
    assert scores["accuracy"] == pytest.approx(metrics.accuracy_score(y, p))
    assert scores["f1"] == pytest.approx(metrics.f1_score(y, p, average="macro"))
    probabilities = rng.dirichlet(np.ones(3), 200)
    probabilities[np.arange(200), y] += 0.3
    assert roc_auc(y, (np.arange(3), probabilities)) == pytest.approx(
        metrics.roc_auc_score(
            y, probabilities / probabilities.sum(1, keepdims=True), multi_class="ovr"
        )
    )
    binary = (y > 0).astype(int)
    scores_b = np.round(rng.random(200), 1)  # ties
    assert roc_auc(binary, (np.arange(2), np.c_[1 - scores_b, scores_b])) == pytest.approx(
        metrics.roc_auc_score(binary, scores_b)
    )
    t, q = rng.normal(size=50), rng.normal(size=50)
    reg = regression_metrics(t, q)
    assert reg["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(t, q)))
    assert reg["mae"] == pytest.approx(metrics.mean_absolute_error(t, q))
    assert reg["r2"] == pytest.approx(metrics.r2_score(t, q))
