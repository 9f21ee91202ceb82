"""Validating a model version before it is promoted: does it load intact, does it take what
the version it replaces takes, is it at least as good on held-out data, and is it fast
enough. Each answer is recorded as a check on the version, so an alias policy can require
them (``keel models validate`` calls :func:`validate`).

>>> report = registry.validate("fraud", 4, holdout, "label",              # doctest: +SKIP
...                            metrics={"accuracy": 0.0, "f1": -0.01})
>>> report.passed, report.deltas                                         # doctest: +SKIP
(True, {'accuracy': 0.012, 'f1': -0.004})

Checks recorded on the candidate version:

==================  ==================================================================
``integrity``       the package loads, every file matching its recorded digest
``signature``       the candidate accepts the baseline's input columns and types
``metric.<name>``   candidate - baseline >= min_delta (rmse, mae: baseline - candidate),
                    and the value reaches ``min_value`` / ``max_value`` when given
``latency``         per-row p95 predict latency <= ``max_latency_ms`` when given
``validation``      all of the above passed
==================  ==================================================================

A candidate that fails to load is a failed ``integrity`` check (and every other check
fails as not run), never an exception. Misuse (an unknown metric, a missing target
column) raises ``InvalidArgument`` before anything is recorded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from keel.errors import InvalidArgument, NotFound
from keel.models.dtypes import WIDENS_TO
from keel.models.signature import Signature, TensorSpec
from keel.registry.metrics import classification_metrics, regression_metrics, roc_auc

if TYPE_CHECKING:
    from keel.models import LoadedModel
    from keel.registry.client import RegistryClient

Task = Literal["classification", "regression"]

TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1", "roc_auc"),
    "regression": ("rmse", "mae", "r2"),
}
LOWER_IS_BETTER = frozenset({"rmse", "mae"})
LATENCY_BATCH_REPEATS = 5
LATENCY_ROW_SAMPLE = 50


@dataclass(frozen=True, slots=True)
class MetricThreshold:
    """What a metric must reach: ``min_delta`` against the baseline (an improvement, in
    the metric's better direction; negative tolerates a small loss), and optionally an
    absolute bound, ``min_value`` for higher-is-better metrics, ``max_value`` for rmse/mae."""

    min_delta: float | None = 0.0
    min_value: float | None = None
    max_value: float | None = None

    @classmethod
    def parse(cls, metric: str, raw: object) -> MetricThreshold:
        if raw is None or (isinstance(raw, int | float) and not isinstance(raw, bool)):
            return cls(min_delta=None if raw is None else float(raw))
        if isinstance(raw, MetricThreshold):
            return raw
        if isinstance(raw, Mapping):
            unknown = sorted(set(raw) - {"min_delta", "min_value", "max_value"})
            if unknown:
                raise InvalidArgument(
                    f"metrics[{metric!r}]: unknown keys {unknown}; "
                    "use min_delta, min_value or max_value"
                )
            return cls(**{key: _number(f"metrics[{metric!r}].{key}", v) for key, v in raw.items()})
        raise InvalidArgument(
            f"metrics[{metric!r}]: must be a number (the minimum delta against the baseline) "
            f"or an object with min_delta/min_value/max_value, got {type(raw).__name__}"
        )


@dataclass(frozen=True, slots=True)
class ValidationCheck:
    """One check's outcome, as recorded on the version."""

    check: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "passed": self.passed, "details": self.details}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    name: str
    version: int
    task: str
    baseline_version: int | None
    checks: list[ValidationCheck]
    candidate_metrics: dict[str, float] = field(default_factory=dict)
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    deltas: dict[str, float] = field(default_factory=dict)
    """candidate - baseline for every metric both have (raw, not direction-adjusted)."""
    latency: dict[str, float] = field(default_factory=dict)
    """``batch_p50_ms``, ``batch_p95_ms``, ``row_p50_ms``, ``row_p95_ms``, ``rows``."""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def check(self, name: str) -> ValidationCheck:
        for outcome in self.checks:
            if outcome.check == name:
                return outcome
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "task": self.task,
            "baseline_version": self.baseline_version,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "candidate_metrics": dict(self.candidate_metrics),
            "baseline_metrics": dict(self.baseline_metrics),
            "deltas": dict(self.deltas),
            "latency": dict(self.latency),
        }


def validate(
    registry: RegistryClient,
    name: str,
    version: int,
    data: Any,
    target: str,
    *,
    baseline: str | int | None = "champion",
    metrics: Mapping[str, object] | None = None,
    max_latency_ms: float | None = None,
    task: Task = "classification",
    trust: bool = False,
) -> ValidationReport:
    """Validate version ``version`` of ``name`` on held-out ``data`` (a DataFrame, or a
    CSV/Parquet path) whose ``target`` column holds the truth, against ``baseline`` (an
    alias, a version number, or None), record every check on the version, and return
    the report. ``metrics`` maps metric names to a minimum delta or a
    :class:`MetricThreshold`-shaped object; None checks every metric of the task with
    ``min_delta=0`` (no worse than the baseline)."""
    thresholds = _thresholds(task, metrics)
    frame = _read_frame(data)
    if target not in frame.columns:
        raise InvalidArgument(
            f"target: column {target!r} is not in the data (columns: {list(frame.columns)[:20]})"
        )
    if max_latency_ms is not None and max_latency_ms <= 0:
        raise InvalidArgument(f"max_latency_ms: must be positive, got {max_latency_ms}")
    explicit = metrics is not None
    registry.get_model_version(name, version)  # NotFound before anything is recorded
    baseline_version = _baseline_version(registry, name, baseline)

    checks: list[ValidationCheck] = []
    candidate, error = _load(registry, name, version, trust=trust)
    checks.append(
        ValidationCheck("integrity", True, {"flavor": candidate.flavor})
        if candidate is not None
        else ValidationCheck("integrity", False, {"error": error})
    )
    report_fields: dict[str, Any] = {}
    if candidate is None:
        reason = "not run: the candidate could not be loaded"
        checks.append(ValidationCheck("signature", False, {"reason": reason}))
        checks += [ValidationCheck(f"metric.{m}", False, {"reason": reason}) for m in thresholds]
        checks.append(ValidationCheck("latency", False, {"reason": reason}))
    else:
        base: LoadedModel | None = None
        base_error = None
        if baseline_version is not None:
            base, base_error = _load(registry, name, baseline_version, trust=trust)
        features = frame.drop(columns=[target])
        truth = frame[target].to_numpy()
        checks.append(_signature_check(candidate, base, baseline_version, base_error))
        scores, score_error = _score(candidate, features, truth, task)
        base_scores: dict[str, float] = {}
        if base is not None:
            base_scores, base_error = _score(base, features, truth, task)
        deltas = {m: scores[m] - base_scores[m] for m in scores if m in base_scores}
        for metric, threshold in thresholds.items():
            outcome = _metric_check(
                metric,
                threshold,
                scores.get(metric),
                base_scores.get(metric),
                baseline_version=baseline_version,
                error=score_error,
                base_error=base_error,
            )
            if outcome is not None or explicit:
                checks.append(
                    outcome
                    or ValidationCheck(
                        f"metric.{metric}", False, {"reason": "could not be computed"}
                    )
                )
        latency = _latency(candidate, features)
        checks.append(_latency_check(latency, max_latency_ms))
        report_fields = {
            "candidate_metrics": scores,
            "baseline_metrics": base_scores,
            "deltas": deltas,
            "latency": latency,
        }
    failed = [c.check for c in checks if not c.passed]
    checks.append(
        ValidationCheck(
            "validation",
            not failed,
            {"baseline_version": baseline_version, "task": task, "failed": failed},
        )
    )
    for outcome in checks:
        registry.record_check(name, version, outcome.check, outcome.passed, _json(outcome.details))
    return ValidationReport(
        name=name,
        version=version,
        task=task,
        baseline_version=baseline_version,
        checks=checks,
        **report_fields,
    )


# inputs ---------------------------------------------------------------------------------


def _number(field_name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgument(f"{field_name}: must be a finite number, got {value!r}")
    return float(value)


def _thresholds(task: str, metrics: Mapping[str, object] | None) -> dict[str, MetricThreshold]:
    if task not in TASK_METRICS:
        raise InvalidArgument(f"task: must be one of {', '.join(TASK_METRICS)}, got {task!r}")
    known = TASK_METRICS[task]
    if metrics is None:
        return {metric: MetricThreshold() for metric in known}
    unknown = sorted(set(metrics) - set(known))
    if unknown:
        raise InvalidArgument(
            f"metrics: {unknown} are not {task} metrics; choose from {', '.join(known)}"
        )
    return {metric: MetricThreshold.parse(metric, raw) for metric, raw in metrics.items()}


def _read_frame(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise InvalidArgument(f"data: no such file {str(path)!r}")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        raise InvalidArgument(f"data: {str(path)!r} must be a .csv or .parquet file")
    raise InvalidArgument(
        f"data: must be a pandas DataFrame or a CSV/Parquet path, got {type(data).__name__}"
    )


def _baseline_version(
    registry: RegistryClient, name: str, baseline: str | int | None
) -> int | None:
    if baseline is None:
        return None
    if isinstance(baseline, int) and not isinstance(baseline, bool):
        return registry.get_model_version(name, baseline).version
    if isinstance(baseline, str):
        if baseline.isdigit():
            return registry.get_model_version(name, int(baseline)).version
        try:
            return registry.resolve(f"models:/{name}@{baseline}").version
        except NotFound:
            return None  # no champion yet: the first version is judged on its own
    raise InvalidArgument(
        f"baseline: must be an alias, a version number or None, got {type(baseline).__name__}"
    )


def _load(
    registry: RegistryClient, name: str, version: int, *, trust: bool
) -> tuple[LoadedModel | None, str | None]:
    try:
        return registry.load_model(f"models:/{name}/{version}", trust=trust), None
    except Exception as exc:  # any failed load is a failed check, reported, not raised
        return None, f"{type(exc).__name__}: {exc}"


# signature ------------------------------------------------------------------------------


def signature_problems(candidate: Signature | None, baseline: Signature | None) -> list[str]:
    """Why input the baseline accepts could be refused by the candidate; empty if none.

    >>> from keel.models import ColumnSpec
    >>> a = Signature([ColumnSpec("age", "int64")])
    >>> signature_problems(Signature([ColumnSpec("age", "float64")]), a)
    []
    >>> signature_problems(Signature([ColumnSpec("age", "int64"), ColumnSpec("x", "int64")]), a)
    ["the candidate requires column 'x', which the baseline's input lacks"]
    """
    if candidate is None:
        return []  # no signature: the candidate takes any input
    if baseline is None:
        return ["the baseline has no signature, so compatibility cannot be shown"]
    if isinstance(candidate.inputs, TensorSpec) or isinstance(baseline.inputs, TensorSpec):
        return _tensor_problems(candidate.inputs, baseline.inputs)
    problems: list[str] = []
    offered = {column.name: column for column in baseline.columns}
    taken = {column.name: column for column in candidate.columns}
    for column in candidate.columns:
        if column.name not in offered and not column.optional:
            problems.append(
                f"the candidate requires column {column.name!r}, which the baseline's input lacks"
            )
    for column in baseline.columns:
        wanted = taken.get(column.name)
        if wanted is None:
            problems.append(f"the candidate does not take column {column.name!r} ({column.dtype})")
        elif wanted.dtype not in WIDENS_TO.get(column.dtype, frozenset({column.dtype})):
            problems.append(
                f"column {column.name!r}: the baseline takes {column.dtype}, "
                f"the candidate {wanted.dtype}"
            )
        elif wanted.shape != column.shape:
            problems.append(
                f"column {column.name!r}: the baseline takes shape {column.shape}, "
                f"the candidate {wanted.shape}"
            )
    return problems


def _tensor_problems(candidate: object, baseline: object) -> list[str]:
    if not (isinstance(candidate, TensorSpec) and isinstance(baseline, TensorSpec)):
        return ["one model takes named columns, the other a tensor"]
    problems = []
    if candidate.dtype not in WIDENS_TO.get(baseline.dtype, frozenset({baseline.dtype})):
        problems.append(
            f"tensor dtype: the baseline takes {baseline.dtype}, the candidate {candidate.dtype}"
        )
    same_rank = len(candidate.shape) == len(baseline.shape)
    if not same_rank or any(
        c not in (-1, b) for c, b in zip(candidate.shape, baseline.shape, strict=False)
    ):
        problems.append(
            f"tensor shape: the baseline takes {list(baseline.shape)}, "
            f"the candidate {list(candidate.shape)}"
        )
    return problems


def _signature_check(
    candidate: LoadedModel,
    base: LoadedModel | None,
    baseline_version: int | None,
    base_error: str | None,
) -> ValidationCheck:
    if baseline_version is None:
        return ValidationCheck("signature", True, {"reason": "no baseline to compare with"})
    if base is None:
        return ValidationCheck(
            "signature", False, {"reason": "the baseline could not be loaded", "error": base_error}
        )
    problems = signature_problems(candidate.signature, base.signature)
    return ValidationCheck(
        "signature", not problems, {"baseline_version": baseline_version, "problems": problems}
    )


# metrics --------------------------------------------------------------------------------


def _model_input(model: LoadedModel, features: Any) -> Any:
    """The held-out columns this model's signature names: the data may carry more (the
    other model's columns) and enforcement refuses columns a signature does not name."""
    signature = model.signature
    if signature is None or signature.is_tensor:
        return features
    wanted = [c.name for c in signature.columns if c.name in features.columns]
    return features[wanted]


def _score(
    model: LoadedModel, features: Any, truth: Any, task: str
) -> tuple[dict[str, float], str | None]:
    import numpy as np

    prepared = _model_input(model, features)
    try:
        predicted = np.asarray(model.predict(prepared)).reshape(len(truth), -1)[:, 0]
    except Exception as exc:  # a model that cannot predict on the data fails its checks
        return {}, f"predict failed: {type(exc).__name__}: {exc}"
    if task == "regression":
        return regression_metrics(truth, predicted), None
    scores = classification_metrics(truth, predicted)
    probabilities = _probabilities(model, prepared)
    if probabilities is not None:
        auc = roc_auc(truth, probabilities)
        if auc is not None:
            scores["roc_auc"] = auc
    return scores, None


def _probabilities(model: LoadedModel, prepared: Any) -> Any:
    """Class probabilities and the class order, when the flavor's model offers them."""
    from keel.models.signature import enforce

    estimator = getattr(model.model, "estimator", model.model)
    predict_proba: Callable[[Any], Any] | None = getattr(estimator, "predict_proba", None)
    classes = getattr(estimator, "classes_", None)
    if predict_proba is None or classes is None:
        return None
    try:
        frame = prepared if model.signature is None else enforce(model.signature, prepared)
        return classes, predict_proba(frame)
    except Exception:  # optional metric: skipped when the model cannot give probabilities
        return None


def _metric_check(
    metric: str,
    threshold: MetricThreshold,
    value: float | None,
    base_value: float | None,
    *,
    baseline_version: int | None,
    error: str | None,
    base_error: str | None,
) -> ValidationCheck | None:
    check = f"metric.{metric}"
    if value is None:
        if error is not None:
            return ValidationCheck(check, False, {"error": error})
        return None  # not computable for this model (roc_auc without probabilities)
    details: dict[str, Any] = {"value": value}
    problems: list[str] = []
    lower = metric in LOWER_IS_BETTER
    if threshold.min_value is not None:
        details["min_value"] = threshold.min_value
        if value < threshold.min_value:
            problems.append(f"{metric} {value:.4g} is below the minimum {threshold.min_value:.4g}")
    if threshold.max_value is not None:
        details["max_value"] = threshold.max_value
        if value > threshold.max_value:
            problems.append(f"{metric} {value:.4g} is above the maximum {threshold.max_value:.4g}")
    if baseline_version is None:
        details["baseline"] = "no baseline: compared with absolute bounds only"
    elif base_value is None:
        problems.append(
            f"the baseline's {metric} could not be computed ({base_error or 'unavailable'})"
        )
    elif threshold.min_delta is not None:
        delta = value - base_value
        improvement = -delta if lower else delta
        details |= {
            "baseline_version": baseline_version,
            "baseline_value": base_value,
            "delta": delta,
            "min_delta": threshold.min_delta,
            "direction": "lower is better" if lower else "higher is better",
        }
        if improvement < threshold.min_delta:
            problems.append(
                f"{metric} {value:.4g} vs baseline {base_value:.4g}: improvement "
                f"{improvement:+.4g} is under the required {threshold.min_delta:+.4g}"
            )
    if problems:
        details["problems"] = problems
    return ValidationCheck(check, not problems, details)


# latency --------------------------------------------------------------------------------


def _latency(model: LoadedModel, features: Any) -> dict[str, float]:
    import numpy as np

    prepared = _model_input(model, features)
    if len(prepared) == 0:
        return {}
    try:
        model.predict(prepared)  # warm-up: first calls pay for lazy imports and caches
        batch = []
        for _ in range(LATENCY_BATCH_REPEATS):
            start = time.perf_counter()
            model.predict(prepared)
            batch.append((time.perf_counter() - start) * 1000)
        rows = []
        for index in range(min(LATENCY_ROW_SAMPLE, len(prepared))):
            row = prepared.iloc[index : index + 1]
            start = time.perf_counter()
            model.predict(row)
            rows.append((time.perf_counter() - start) * 1000)
    except Exception:
        return {}
    return {
        "rows": float(len(prepared)),
        "batch_p50_ms": float(np.percentile(batch, 50)),
        "batch_p95_ms": float(np.percentile(batch, 95)),
        "row_p50_ms": float(np.percentile(rows, 50)),
        "row_p95_ms": float(np.percentile(rows, 95)),
    }


def _latency_check(latency: dict[str, float], max_latency_ms: float | None) -> ValidationCheck:
    details: dict[str, Any] = dict(latency)
    if not latency:
        return ValidationCheck("latency", False, {"reason": "the model could not predict the data"})
    if max_latency_ms is None:
        details["reason"] = "no limit given"
        return ValidationCheck("latency", True, details)
    details["max_latency_ms"] = max_latency_ms
    passed = latency["row_p95_ms"] <= max_latency_ms
    if not passed:
        details["problems"] = [
            f"per-row p95 {latency['row_p95_ms']:.3g} ms is over the limit {max_latency_ms:g} ms"
        ]
    return ValidationCheck("latency", passed, details)


def _json(details: dict[str, Any]) -> dict[str, Any]:
    """Details as plain JSON: NaN and infinity (a metric on degenerate data) become null."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    cleaned: dict[str, Any] = clean(details)
    return cleaned
