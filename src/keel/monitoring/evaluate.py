"""``keel.evaluate``: score a model on labelled data before it is deployed, as MLflow's
``mlflow.evaluate``, with the same metric code that watches it in production.

>>> with keel.start_run():                                              # doctest: +SKIP
...     result = keel.evaluate("models:/fraud/3", holdout, targets="label",
...                            model_type="classifier", baseline="models:/fraud@champion",
...                            model_version=("fraud", 3),
...                            thresholds={"f1_score": {"min_value": 0.8}})
>>> result.metrics["f1_score"], result.deltas["f1_score"], result.passed  # doctest: +SKIP
(0.91, 0.02, True)

- ``model`` (and ``baseline``): a loaded Keel model, a ``models:/`` or ``runs:/`` URI,
  or any object with ``predict``; class probabilities come from ``predict_proba`` and
  ``classes_`` when the model (or the estimator inside a Keel model) has them.
- Metrics, under MLflow's names: classifiers ``accuracy_score``, ``precision_score``,
  ``recall_score``, ``f1_score`` (of ``positive_label`` for two classes, else ``average``
  over classes, ``"weighted"`` as MLflow), ``roc_auc``, ``log_loss``, and the binary
  confusion counts; regressors ``mean_absolute_error``, ``mean_squared_error``,
  ``root_mean_squared_error``, ``mean_absolute_percentage_error``, ``r2_score``,
  ``max_error``, ``mean_on_target``, ``sum_on_target``. ``example_count`` for both.
- Artifacts (:attr:`EvaluationResult.artifacts`), logged under ``evaluation/``: the
  confusion matrix and curves as JSON, and with matplotlib (the ``plots`` extra) PNGs:
  ``confusion_matrix``, ``roc_curve_plot``, ``precision_recall_curve_plot``,
  ``residuals_plot``.
- Logging: to ``run_id``, else the active run, else a new run (ended after), as MLflow.
- ``thresholds``: per metric, as ``keel models validate``: a number is the least change
  against the baseline (in the metric's better direction), or ``{"min_delta", "min_value",
  "max_value"}``. ``model_version=("name", 3)`` records the outcome as check
  ``evaluation`` on that version, so an alias policy can require it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from keel.errors import InvalidArgument, NotFound
from keel.extras import require
from keel.monitoring import evaluation_scores
from keel.monitoring.evaluation_artifacts import write_artifacts
from keel.monitoring.evaluation_scores import LOWER_IS_BETTER, Scored
from keel.registry.evaluation_gate import MetricThreshold

if TYPE_CHECKING:
    from keel.client import Client
    from keel.entities.registry import CheckResult

ModelType = Literal["classifier", "regressor"]
CHECK = "evaluation"
ARTIFACT_DIR = "evaluation"


@dataclass(frozen=True, slots=True)
class EvaluationArtifact:
    """A file the evaluation wrote: ``path`` on this machine, ``uri`` where it was logged."""

    name: str
    path: Path
    uri: str | None = None

    @property
    def content(self) -> Any:
        """JSON artifacts parsed, images as bytes."""
        if self.path.suffix == ".json":
            return json.loads(self.path.read_text(encoding="utf-8"))
        return self.path.read_bytes()


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    metrics: dict[str, float]
    artifacts: dict[str, EvaluationArtifact]
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    deltas: dict[str, float] = field(default_factory=dict)
    """candidate - baseline for every metric both have (raw, not direction-adjusted)."""
    failures: list[str] = field(default_factory=list)
    run_id: str | None = None
    check: CheckResult | None = None

    @property
    def passed(self) -> bool:
        """Every threshold met (True when none were given)."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": dict(self.metrics),
            "baseline_metrics": dict(self.baseline_metrics),
            "deltas": dict(self.deltas),
            "passed": self.passed,
            "failures": list(self.failures),
            "run_id": self.run_id,
            "artifacts": {name: a.uri or str(a.path) for name, a in self.artifacts.items()},
        }


def evaluate(
    model: Any,
    data: Any,
    *,
    targets: str | Sequence[Any],
    model_type: ModelType,
    baseline: Any = None,
    evaluators: str | Sequence[str] | None = None,
    model_version: tuple[str, int] | None = None,
    thresholds: Mapping[str, object] | None = None,
    run_id: str | None = None,
    positive_label: Any = None,
    average: Literal["macro", "weighted"] = "weighted",
    client: Client | None = None,
) -> EvaluationResult:
    """Evaluate ``model`` on ``data`` (a pandas or polars DataFrame, or a CSV/Parquet path)
    whose ``targets`` column (or a sequence beside it) holds the truth; see the module."""
    _check_arguments(model_type, evaluators, model_version, average)
    limits = _thresholds(model_type, thresholds)
    features, truth = _inputs(data, targets)
    own = client is None  # the fluent API's client: a new run goes through keel.start_run
    tracking = _process_client() if client is None else client
    if model_version is not None:  # NotFound before anything is computed or logged
        tracking.registry.get_model_version(*model_version)
    candidate = _resolve(model, tracking, "model")
    base_model = None if baseline is None else _resolve(baseline, tracking, "baseline")
    scored = _score(candidate, features, truth, model_type, positive_label, average)
    base: Scored | None = None
    if base_model is not None:
        base = _score(base_model, features, truth, model_type, positive_label, average)
    metrics = _known(scored.metrics)
    base_metrics = _known(base.metrics) if base is not None else {}
    deltas = {m: metrics[m] - base_metrics[m] for m in metrics if m in base_metrics}
    failures = _failures(limits, metrics, base_metrics, deltas)
    folder = Path(tempfile.mkdtemp(prefix="keel-evaluation-"))
    files = write_artifacts(scored, truth, model_type, folder)
    logged_run, uris = _log(tracking, own, run_id, metrics, files)
    artifacts = {
        name: EvaluationArtifact(name, path, uris.get(name)) for name, path in files.items()
    }
    check = None
    if model_version is not None:
        details = {
            "metrics": metrics,
            "baseline_metrics": base_metrics,
            "deltas": deltas,
            "failed": failures,
            "run_id": logged_run,
            "model_type": model_type,
        }
        check = tracking.registry.record_check(*model_version, CHECK, not failures, details)
    return EvaluationResult(metrics, artifacts, base_metrics, deltas, failures, logged_run, check)


def _check_arguments(model_type: str, evaluators: Any, model_version: Any, average: str) -> None:
    if model_type not in ("classifier", "regressor"):
        raise InvalidArgument(
            f"model_type: must be 'classifier' or 'regressor', got {model_type!r}"
        )
    names = [evaluators] if isinstance(evaluators, str) else list(evaluators or ["default"])
    if any(name != "default" for name in names):
        raise InvalidArgument(f"evaluators: only the 'default' evaluator exists, got {names}")
    if model_version is not None and not (
        isinstance(model_version, tuple)
        and len(model_version) == 2
        and isinstance(model_version[0], str)
        and isinstance(model_version[1], int)
        and not isinstance(model_version[1], bool)
    ):
        raise InvalidArgument(
            f"model_version: must be a (name, version) pair such as ('fraud', 3), "
            f"got {model_version!r}"
        )
    if average not in ("macro", "weighted"):
        raise InvalidArgument(f"average: must be 'macro' or 'weighted', got {average!r}")


def _thresholds(model_type: str, raw: Mapping[str, object] | None) -> dict[str, MetricThreshold]:
    known = (
        evaluation_scores.CLASSIFIER_METRICS
        if model_type == "classifier"
        else evaluation_scores.REGRESSOR_METRICS
    )
    out = {}
    for metric, value in (raw or {}).items():
        if metric not in known:
            raise InvalidArgument(
                f"thresholds: unknown {model_type} metric {metric!r}; one of {list(known)}"
            )
        out[metric] = MetricThreshold.parse(metric, value)
    return out


def _inputs(data: Any, targets: str | Sequence[Any]) -> tuple[Any, Any]:
    """Features as a pandas DataFrame and the truth as a numpy array."""
    import numpy as np

    frame = _pandas(data)
    if isinstance(targets, str):
        if targets not in frame.columns:
            raise InvalidArgument(
                f"targets: column {targets!r} is not in the data "
                f"(columns: {list(frame.columns)[:20]})"
            )
        return frame.drop(columns=[targets]), frame[targets].to_numpy()
    truth = np.asarray(targets)
    if truth.ndim != 1 or len(truth) != len(frame):
        raise InvalidArgument(
            f"targets: must be a column name or one value per row ({len(frame)}), "
            f"got shape {truth.shape}"
        )
    return frame, truth


def _pandas(data: Any) -> Any:
    # models take pandas frames: say which extra brings it rather than a bare ImportError
    pd = require("pandas", extra="pandas", purpose="keel.evaluate")
    require("polars", extra="monitoring", purpose="keel.evaluate")
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise InvalidArgument(f"data: no file at {str(path)!r}")
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            return pd.read_csv(path)
        raise InvalidArgument(f"data: a path must end in .csv or .parquet, got {path.name!r}")
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and hasattr(data, "columns"):
        return data
    if module == "polars":
        frame = data.collect() if hasattr(data, "collect") else data
        return frame.to_pandas()
    raise InvalidArgument(
        f"data: expected a pandas or polars DataFrame or a CSV/Parquet path, "
        f"got {type(data).__name__}"
    )


def _process_client() -> Client:
    # The fluent API's process-wide client, as keel.log_metric uses: one writer, one spool.
    from keel import fluent

    return fluent._client()


def _resolve(model: Any, client: Client, field: str) -> Any:
    if isinstance(model, str):
        if not model.startswith(("models:/", "runs:/")):
            raise InvalidArgument(
                f"{field}: a string must be a models:/ or runs:/ URI, got {model!r}"
            )
        try:
            return client.load_model(model)
        except NotFound as error:
            raise NotFound(f"{field} {model!r}: {error}") from None
    if not callable(getattr(model, "predict", None)):
        raise InvalidArgument(
            f"{field}: must be a Keel model, a models:/ or runs:/ URI, or have predict(); "
            f"got {type(model).__name__}"
        )
    return model


def _score(
    model: Any,
    features: Any,
    truth: Any,
    model_type: str,
    positive_label: Any,
    average: Literal["macro", "weighted"],
) -> Scored:
    import numpy as np

    raw = model.predict(features)
    predicted = np.asarray(raw.iloc[:, 0] if hasattr(raw, "iloc") and raw.ndim == 2 else raw)
    if predicted.ndim == 2 and predicted.shape[1] == 1:
        predicted = predicted[:, 0]
    if predicted.shape != (len(truth),):
        raise InvalidArgument(
            f"model: predict returned shape {predicted.shape}, expected one value per row "
            f"({len(truth)})"
        )
    if model_type == "regressor":
        return evaluation_scores.regressor(truth, predicted)
    return evaluation_scores.classifier(
        truth,
        predicted,
        _probabilities(model, features),
        positive_label=positive_label,
        average=average,
    )


def _probabilities(model: Any, features: Any) -> tuple[list[Any], Any] | None:
    """The classes and their probabilities, when the model (or the estimator inside a Keel
    model, given the input its signature allows) offers ``predict_proba`` and ``classes_``."""
    inner = getattr(model, "model", None)
    estimator = getattr(inner, "estimator", inner) if inner is not None else model
    predict_proba = getattr(estimator, "predict_proba", None)
    classes = getattr(estimator, "classes_", None)
    if not callable(predict_proba) or classes is None:
        return None
    signature = getattr(model, "signature", None)
    if signature is not None:
        from keel.models.signature import enforce

        features = enforce(signature, features)
    return list(classes), predict_proba(features)


def _known(metrics: Mapping[str, float | None]) -> dict[str, float]:
    return {name: value for name, value in metrics.items() if value is not None}


def _failures(
    limits: Mapping[str, MetricThreshold],
    metrics: Mapping[str, float],
    base: Mapping[str, float],
    deltas: Mapping[str, float],
) -> list[str]:
    failures = []
    for metric, limit in limits.items():
        value = metrics.get(metric)
        if value is None:
            failures.append(f"{metric}: could not be computed")
            continue
        if limit.min_value is not None and value < limit.min_value:
            failures.append(f"{metric}: {value:.6g} < min_value {limit.min_value:g}")
        if limit.max_value is not None and value > limit.max_value:
            failures.append(f"{metric}: {value:.6g} > max_value {limit.max_value:g}")
        if limit.min_delta is not None and metric in deltas and metric in base:
            gain = -deltas[metric] if metric in LOWER_IS_BETTER else deltas[metric]
            if gain < limit.min_delta:
                failures.append(
                    f"{metric}: {value:.6g} against the baseline's {base[metric]:.6g} "
                    f"improves by {gain:.6g} < min_delta {limit.min_delta:g}"
                )
    return failures


def _log(
    client: Client,
    own: bool,
    run_id: str | None,
    metrics: Mapping[str, float],
    files: Mapping[str, Path],
) -> tuple[str, dict[str, str]]:
    """Log to ``run_id``, the active run, or a new run ended afterwards (through
    ``keel.start_run`` for the process's client, in the Default experiment for another)."""
    from keel import fluent

    started = False
    if run_id is None:
        active = fluent.active_run()
        if active is not None:
            run_id = active.run_id
        elif own:
            run_id = fluent.start_run(run_name="evaluation").run_id
            started = True
        else:
            found = client.get_experiment_by_name(fluent.DEFAULT_EXPERIMENT)
            experiment_id = (
                found.experiment_id
                if found
                else client.create_experiment(fluent.DEFAULT_EXPERIMENT)
            )
            run_id = client.create_run(str(experiment_id), run_name="evaluation").run_id
            started = True
    try:
        client.log_metrics(run_id, metrics)
        for path in files.values():
            client.log_artifact(run_id, path, ARTIFACT_DIR)
        client.flush()
    finally:
        if started and own:
            fluent.end_run()
        elif started:
            client.set_terminated(run_id)
    uris = {name: f"runs:/{run_id}/{ARTIFACT_DIR}/{path.name}" for name, path in files.items()}
    return run_id, uris
