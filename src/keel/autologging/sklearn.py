"""scikit-learn: every estimator's ``fit``, searches with a child run per candidate.

A fit logs the estimator's parameters, nested ones included (``scaler__with_mean``,
``clf__C`` for a ``Pipeline`` or ``ColumnTransformer``); the training metrics MLflow
users know (``training_accuracy_score``, ``training_f1_score``, ``training_roc_auc``...,
``training_mean_squared_error``, ``training_r2_score``...) beside the estimator's own
``training_score`` under the name of what computed it (``training_accuracy``,
``training_recall`` for a search scored by recall); the data's fingerprint; the model.

A search (``GridSearchCV``, ``RandomizedSearchCV``, the halving searches) also logs its
best parameters as ``best_<name>``, ``best_cv_score``, ``cv_results.csv``, and a child run
for each of its best-ranked candidates (``max_tuning_runs``). The model logged is its
refit ``best_estimator_``: a plain estimator that skops and ONNX save safely, where the
search object itself would need trust to load.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterator
from typing import Any

from keel.autologging import datasets, values
from keel.autologging.model_logging import log_model
from keel.autologging.options import AutologOptions
from keel.autologging.patching import Handler
from keel.autologging.runs import Logged

LIBRARY = "sklearn"


def targets() -> list[tuple[object, str, Handler]]:
    """Each scikit-learn class that defines its own ``fit`` taking training data."""
    import inspect

    from sklearn.utils import all_estimators

    found: dict[type, None] = {}
    for _, estimator in all_estimators():
        for cls in estimator.__mro__:
            raw = cls.__dict__.get("fit")
            if (
                cls.__module__.split(".")[0] == "sklearn"
                and inspect.isfunction(raw)
                and not fits_only_targets(raw)
            ):
                found[cls] = None
    return [(cls, "fit", handle_fit) for cls in found]


def fits_only_targets(fit: Callable[..., Any]) -> bool:
    """Whether ``fit`` is a ``fit(self, y)``: a target encoder's, with no training data."""
    import inspect

    try:
        names = list(inspect.signature(fit).parameters)
    except (TypeError, ValueError):
        return False
    return names[1:2] == ["y"]


def handle_fit(
    original: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: AutologOptions,
    *,
    extra: Callable[[Logged, Any], object] | None = None,
) -> Any:
    """Run a user's ``fit`` in a run; ``extra(logged, model)`` logs what a library adds
    (XGBoost's and LightGBM's per-round metrics, importances)."""
    model, rest = args[0], args[1:]
    x = rest[0] if rest else kwargs.get("X")
    y = rest[1] if len(rest) > 1 else kwargs.get("y")
    logged = Logged(options)
    return logged.run(
        type(model).__name__,
        lambda: original(model, *rest, **kwargs),
        before=lambda: log_params(model),
        after=lambda _: log_fitted(logged, model, x, y, extra),
    )


def log_params(model: Any) -> None:
    import keel

    keel.log_params(values.params(model_params(model)))


def model_params(model: Any) -> dict[str, Any]:
    """Every parameter, nested ones too; a search's own only (as MLflow does: its
    estimator's are each child run's), since its grid says what varied."""
    return dict(model.get_params(deep=not is_search(model)))


def is_search(model: Any) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(model, BaseSearchCV)


def log_fitted(
    logged: Logged,
    model: Any,
    x: Any,
    y: Any,
    extra: Callable[[Logged, Any], object] | None = None,
) -> None:
    import keel

    logged.safely(
        "training metrics", lambda: keel.log_metrics(training_metrics(logged, model, x, y))
    )
    if logged.options.log_datasets:
        logged.safely("dataset fingerprint", lambda: keel.set_tags(datasets.fingerprint_tags(x)))
    fitted = model
    if is_search(model):
        logged.safely("the search's results", lambda: log_search(logged, model))
        fitted = getattr(model, "best_estimator_", None)  # None: refit=False, no model
    if extra is not None:
        extra(logged, model)
    if fitted is not None:
        example = datasets.head(x)
        logged.safely("model", lambda: log_model(logged, fitted, example))


# training metrics ----------------------------------------------------------------------


def training_metrics(logged: Logged, model: Any, x: Any, y: Any) -> dict[str, float]:
    from sklearn.base import is_classifier, is_regressor

    metrics: dict[str, float] = {}
    count = datasets.rows(x)
    if count is not None:
        metrics["training_rows"] = float(count)
    if y is None or x is None or not (is_classifier(model) or is_regressor(model)):
        return metrics
    if is_search(model) and not hasattr(model, "best_estimator_"):
        return metrics  # refit=False: the search cannot predict
    try:
        name = score_name(model)
        if name is not None:
            score = float(model.score(x, y))
            metrics["training_score"] = score
            metrics[f"training_{name}"] = score
    except Exception:
        logged.warn("could not score the training data")
    computed = classifier_metrics if is_classifier(model) else regressor_metrics
    for metric, compute in computed(model, x, y):
        try:
            metrics[f"training_{metric}"] = float(compute())
        except Exception:
            logged.warn(f"could not compute training_{metric}")
    return metrics


Metric = tuple[str, Callable[[], float]]


def classifier_metrics(model: Any, x: Any, y: Any) -> Iterator[Metric]:
    """MLflow's: weighted averages over the classes (so multiclass works), log-loss and
    ROC AUC (one-vs-one, weighted) from ``predict_proba`` where the model has it."""
    from sklearn import metrics

    predicted = model.predict(x)
    yield "accuracy_score", lambda: metrics.accuracy_score(y, predicted)
    yield (
        "precision_score",
        lambda: metrics.precision_score(y, predicted, average="weighted", zero_division=0),
    )
    yield (
        "recall_score",
        lambda: metrics.recall_score(y, predicted, average="weighted", zero_division=0),
    )
    yield "f1_score", lambda: metrics.f1_score(y, predicted, average="weighted", zero_division=0)
    if not hasattr(model, "predict_proba"):
        return
    try:
        proba = model.predict_proba(x)
    except Exception:  # ``hasattr`` is true for some that cannot (SVC without probability)
        return
    labels = getattr(model, "classes_", None)
    yield "log_loss", lambda: metrics.log_loss(y, proba, labels=labels)
    score = proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 else proba
    yield (
        "roc_auc",
        lambda: metrics.roc_auc_score(
            y,
            score,
            average="weighted",
            multi_class="ovo",
            labels=labels if score.ndim > 1 else None,
        ),
    )


def regressor_metrics(model: Any, x: Any, y: Any) -> Iterator[Metric]:
    import math

    from sklearn import metrics

    predicted = model.predict(x)
    mse = float(metrics.mean_squared_error(y, predicted))
    yield "mean_squared_error", lambda: mse
    yield "root_mean_squared_error", lambda: math.sqrt(mse)
    yield "mean_absolute_error", lambda: metrics.mean_absolute_error(y, predicted)
    yield "r2_score", lambda: metrics.r2_score(y, predicted)


def score_name(model: Any) -> str | None:
    """What ``model.score`` computes: the search's or estimator's ``scoring`` where its
    ``score`` uses it (``recall``, ``neg_mean_absolute_error``, a callable's name; the
    ``refit`` key of a multi-metric search), else the estimator's own score (``accuracy``
    for a classifier, ``r2`` for a regressor). None: ``score`` computes nothing to log."""
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor
    from sklearn.metrics import get_scorer_names

    default = "accuracy" if is_classifier(model) else "r2" if is_regressor(model) else "score"
    score = getattr(type(model), "score", None)
    if score in (ClassifierMixin.score, RegressorMixin.score):
        return default  # the estimator's own score, whatever its ``scoring`` (``RidgeCV``)
    scoring = getattr(model, "scoring", None)
    if getattr(model, "multimetric_", False):
        refit = getattr(model, "refit", None)
        return values.key(refit, 200) if isinstance(refit, str) else None
    if isinstance(scoring, str):
        # Not a scorer's name (``LogisticRegressionCV``'s "warn"): the default is used.
        return scoring if scoring in get_scorer_names() else default
    if callable(scoring):
        return _callable_name(scoring)
    return default


def _callable_name(scoring: Callable[..., Any]) -> str:
    """A scorer function's name, or the metric a ``make_scorer`` scorer wraps (``neg_``
    when it is negated, as scikit-learn names its own)."""
    name = getattr(scoring, "__name__", None)
    if isinstance(name, str) and not name.startswith("<"):
        return values.key(name, 200)
    inner = getattr(getattr(scoring, "_score_func", None), "__name__", None)
    if isinstance(inner, str) and not inner.startswith("<"):
        sign = getattr(scoring, "_sign", 1)
        prefix = "neg_" if isinstance(sign, int | float) and sign < 0 else ""
        return values.key(prefix + inner.removesuffix("_score"), 200)
    return "score"


# searches ------------------------------------------------------------------------------


def log_search(logged: Logged, search: Any) -> None:
    """``best_<param>`` params, ``best_cv_score``, ``cv_results.csv`` and the child runs."""
    import pandas as pd

    import keel

    best = getattr(search, "best_params_", None)
    if best:
        keel.log_params(values.params({f"best_{name}": value for name, value in best.items()}))
    score = getattr(search, "best_score_", None)
    if score is not None:
        keel.log_metric("best_cv_score", float(score))
    results = pd.DataFrame(search.cv_results_)
    keel.log_text(results.to_csv(index=False), "cv_results.csv")
    logged.safely("the search's child runs", lambda: log_candidates(search, results, logged))


def log_candidates(search: Any, results: Any, logged: Logged) -> None:
    """A child run per candidate, best-ranked first, at most ``max_tuning_runs``: the
    estimator's full parameters with the candidate's, and its mean and spread of test
    scores and fit times (not each split's)."""
    import keel

    limit = logged.options.max_tuning_runs
    if limit == 0 or len(results) == 0:
        return
    rank = "rank_test_score" if "rank_test_score" in results else _first_rank_column(results)
    ordered = results.sort_values(rank, kind="stable") if rank is not None else results
    chosen = ordered if limit is None else ordered.head(limit)
    seed = search.estimator
    base = seed.get_params(deep=not is_search(seed))
    prefix = type(seed).__name__
    for index, row in chosen.iterrows():
        candidate = {**base, **row["params"]}
        metrics = {
            values.key(str(column)): float(value)
            for column, value in row.items()
            if not str(column).startswith(("param", "split"))
            and isinstance(value, numbers.Real)
            and not isinstance(value, bool)
            and value == value  # NaN: a candidate whose fit failed scores nothing
        }
        with keel.start_run(
            run_name=f"{prefix}-{index}",
            nested=True,
            tags={**logged.options.extra_tags, "keel.autolog.search_candidate": str(index)},
            log_code_version=False,
            log_system_metrics=False,  # over in milliseconds: nothing to sample
        ):
            keel.log_params(values.params(candidate))
            keel.log_metrics(metrics)


def _first_rank_column(results: Any) -> str | None:
    return next((str(c) for c in results.columns if re.match(r"rank_test_", str(c))), None)
