"""XGBoost and LightGBM: their scikit-learn estimators and their native ``train``.

Beside what any estimator's fit logs, a boosted model logs each evaluation metric at
every round as metric history, step = round (from 0): ``validation_0-rmse`` for the
scikit-learn API's ``eval_set`` (as XGBoost names them), ``<eval name>-<metric>`` for
``xgb.train(evals=[(d, "eval")])`` and ``lgb.train(valid_names=[...])``; feature
importances as ``feature_importance_<type>.json`` (XGBoost: weight, gain, cover;
LightGBM: split, gain); with early stopping ``best_iteration`` (as the library numbers
it: XGBoost from 0, LightGBM from 1), ``stopped_iteration`` and the metrics at the best
round as ``best_<eval name>-<metric>`` (XGBoost's ``best_score`` too). Rounds are
collected in memory while training runs and handed to the background writer at the end:
training never waits on the store.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from keel.autologging import datasets, sklearn, values
from keel.autologging.model_logging import log_model
from keel.autologging.options import AutologOptions
from keel.autologging.patching import Handler
from keel.autologging.runs import Logged

XGBOOST_IMPORTANCE = ("weight", "gain", "cover")
LIGHTGBM_IMPORTANCE = ("split", "gain")

Results = Mapping[str, Mapping[str, Sequence[Any]]]
"""``{eval name: {metric: [value per round]}}``, as both libraries report them."""


def xgboost_targets() -> list[tuple[object, str, Handler]]:
    import xgboost
    from xgboost.sklearn import XGBModel

    fit = functools.partial(sklearn.handle_fit, extra=log_xgboost_estimator)
    found: list[tuple[object, str, Handler]] = [
        (cls, "fit", fit) for cls in _subclasses(XGBModel) if _own_fit(cls, "xgboost")
    ]
    return [*found, (xgboost, "train", handle_xgboost_train)]


def lightgbm_targets() -> list[tuple[object, str, Handler]]:
    import lightgbm
    from lightgbm.sklearn import LGBMModel

    fit = functools.partial(sklearn.handle_fit, extra=log_lightgbm_estimator)
    found: list[tuple[object, str, Handler]] = [
        (cls, "fit", fit) for cls in _subclasses(LGBMModel) if _own_fit(cls, "lightgbm")
    ]
    return [*found, (lightgbm, "train", handle_lightgbm_train)]


def _own_fit(cls: type, package: str) -> bool:
    return "fit" in cls.__dict__ and cls.__module__.split(".")[0] == package


def _subclasses(root: type) -> list[type]:
    seen: dict[type, None] = {}
    todo = [root]
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen[cls] = None
            todo.extend(cls.__subclasses__())
    return list(seen)


# what both APIs log --------------------------------------------------------------------


def log_rounds(results: Results) -> None:
    """Every round's evaluation metrics, step = round, queued at once for the writer."""
    import keel

    series: dict[str, list[float]] = {}
    for dataset, metrics in results.items():
        for metric, points in metrics.items():
            series[values.key(f"{dataset}-{metric}")] = [_number(p) for p in points]
    rounds = max((len(points) for points in series.values()), default=0)
    for step in range(rounds):
        row = {
            name: points[step]
            for name, points in series.items()
            if step < len(points) and math.isfinite(points[step])
        }
        if row:
            keel.log_metrics(row, step=step)


def _number(point: Any) -> float:
    return float(point[0] if isinstance(point, tuple | list) else point)  # cv's (mean, std)


def log_best(
    results: Results, best: int | None, index: int | None, score: float | None = None
) -> None:
    """``best_iteration`` as the library numbers it, ``stopped_iteration`` (rounds run),
    and each metric at the best round (``index``, from 0) as ``best_<name>``."""
    import keel

    if best is None or index is None:
        return
    rounds = max((len(p) for m in results.values() for p in m.values()), default=0)
    metrics: dict[str, float] = {"best_iteration": float(best), "stopped_iteration": float(rounds)}
    if score is not None:
        metrics["best_score"] = score
    for dataset, by_metric in results.items():
        for metric, points in by_metric.items():
            if 0 <= index < len(points):
                metrics[values.key(f"best_{dataset}-{metric}")] = _number(points[index])
    keel.log_metrics(metrics)


def log_importances(importances: Mapping[str, Mapping[str, float]]) -> None:
    import keel

    for kind, scores in importances.items():
        keel.log_dict(
            {str(name): float(value) for name, value in scores.items()},
            f"feature_importance_{kind}.json",
        )


# XGBoost -------------------------------------------------------------------------------


def xgboost_importances(booster: Any) -> dict[str, dict[str, float]]:
    return {kind: booster.get_score(importance_type=kind) for kind in XGBOOST_IMPORTANCE}


def xgboost_best(booster: Any) -> tuple[int | None, float | None]:
    """The best round and score early stopping recorded, or (None, None)."""
    best = booster.attr("best_iteration")
    score = booster.attr("best_score")
    return (
        None if best is None else int(best),
        None if score is None else float(score),
    )


def log_xgboost_estimator(logged: Logged, model: Any) -> None:
    booster = model.get_booster()
    results = model.evals_result() if hasattr(model, "evals_result_") else {}
    logged.safely("per-round metrics", lambda: log_rounds(results))
    best, score = xgboost_best(booster)
    logged.safely("the best iteration", lambda: log_best(results, best, best, score))
    logged.safely("feature importances", lambda: log_importances(xgboost_importances(booster)))


def handle_xgboost_train(
    original: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: AutologOptions,
) -> Any:
    try:
        bound = inspect.signature(original).bind(*args, **kwargs)
    except TypeError:
        return original(*args, **kwargs)  # let xgboost say what is wrong
    given = bound.arguments
    results: dict[str, Any] = given.get("evals_result")  # type: ignore[assignment]
    if results is None:
        results = {}
        given["evals_result"] = results
    logged = Logged(options)
    dtrain = given.get("dtrain")

    def before() -> None:
        import keel

        extras = {
            "num_boost_round": given.get("num_boost_round", 10),
            "early_stopping_rounds": given.get("early_stopping_rounds"),
            "maximize": given.get("maximize"),
        }
        given_extras = {name: value for name, value in extras.items() if value is not None}
        keel.log_params(values.params({**_params(given.get("params")), **given_extras}))

    def after(booster: Any) -> None:
        logged.safely("per-round metrics", lambda: log_rounds(results))
        best, score = xgboost_best(booster)
        logged.safely("the best iteration", lambda: log_best(results, best, best, score))
        logged.safely("feature importances", lambda: log_importances(xgboost_importances(booster)))
        if options.log_datasets:
            logged.safely("dataset fingerprint", lambda: _tag_dmatrix(dtrain))
        logged.safely("model", lambda: _log_xgboost_booster(logged, booster, dtrain))

    return logged.run("xgboost.train", lambda: original(*bound.args, **bound.kwargs), before, after)


def _params(params: Any) -> dict[str, Any]:
    """XGBoost's params: a dict, or a list of pairs where a key may repeat
    (``[("eval_metric", "rmse"), ("eval_metric", "mae")]``): repeats become a list."""
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    merged: dict[str, Any] = {}
    for name, value in params:
        if name in merged:
            previous = merged[name]
            merged[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            merged[name] = value
    return merged


def _dmatrix_head(dtrain: Any) -> Any:
    """The first rows of a DMatrix as a DataFrame (or array without feature names), with
    values XGBoost holds as missing back as NaN. Sliced first: ``get_data`` copies."""
    import numpy as np
    import pandas as pd

    rows = min(datasets.EXAMPLE_ROWS, dtrain.num_row())
    part = dtrain.slice(list(range(rows))).get_data().tocoo()
    dense = np.full(part.shape, np.nan)
    dense[part.row, part.col] = part.data
    names = dtrain.feature_names
    return pd.DataFrame(dense, columns=list(names)) if names else dense


FINGERPRINT_MAX_VALUES = 10_000_000
"""A DMatrix holds its data inside XGBoost: hashing it means copying it out, so one larger
than this (80 MB of float32 and indices) is tagged with its size only."""


def _tag_dmatrix(dtrain: Any) -> None:
    import keel

    if dtrain.num_nonmissing() <= FINGERPRINT_MAX_VALUES:
        _tag_data(dtrain.get_data())
    else:
        keel.set_tags(
            {
                "keel.dataset.rows": str(dtrain.num_row()),
                "keel.dataset.columns": str(dtrain.num_col()),
            }
        )


def _tag_data(data: Any) -> None:
    import keel

    keel.set_tags(datasets.fingerprint_tags(data))


def _log_xgboost_booster(logged: Logged, booster: Any, dtrain: Any) -> None:
    import xgboost

    example = None
    try:
        example = _dmatrix_head(dtrain)
    except Exception:
        logged.warn("could not take an input example from the training DMatrix")
    log_model(logged, booster, example, lambda rows: booster.predict(xgboost.DMatrix(rows)))


# LightGBM ------------------------------------------------------------------------------


def lightgbm_importances(booster: Any) -> dict[str, dict[str, float]]:
    names = booster.feature_name()
    return {
        kind: dict(zip(names, booster.feature_importance(importance_type=kind), strict=True))
        for kind in LIGHTGBM_IMPORTANCE
    }


def lightgbm_best(booster: Any) -> int | None:
    best = getattr(booster, "best_iteration", 0)
    return int(best) if best and best > 0 else None  # 0: no early stopping


def log_lightgbm_estimator(logged: Logged, model: Any) -> None:
    booster = model.booster_
    results = getattr(model, "evals_result_", None) or {}
    logged.safely("per-round metrics", lambda: log_rounds(results))
    best = lightgbm_best(booster)
    index = None if best is None else best - 1
    logged.safely("the best iteration", lambda: log_best(results, best, index))
    logged.safely("feature importances", lambda: log_importances(lightgbm_importances(booster)))


def handle_lightgbm_train(
    original: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: AutologOptions,
) -> Any:
    import lightgbm

    try:
        bound = inspect.signature(original).bind(*args, **kwargs)
    except TypeError:
        return original(*args, **kwargs)  # let LightGBM say what is wrong
    given = bound.arguments
    results: dict[str, Any] = {}
    given["callbacks"] = [*(given.get("callbacks") or []), lightgbm.record_evaluation(results)]
    logged = Logged(options)
    train_set = given.get("train_set")
    # Taken before training: LightGBM frees a Dataset's raw data once it is constructed.
    raw = getattr(train_set, "data", None)
    example = datasets.head(raw) if raw is not None and not isinstance(raw, str) else None

    def before() -> None:
        import keel

        rounds = given.get("num_boost_round", 100)
        keel.log_params(
            values.params({**dict(given.get("params") or {}), "num_boost_round": rounds})
        )

    def after(booster: Any) -> None:
        logged.safely("per-round metrics", lambda: log_rounds(results))
        best = lightgbm_best(booster)
        index = None if best is None else best - 1
        logged.safely("the best iteration", lambda: log_best(results, best, index))
        logged.safely("feature importances", lambda: log_importances(lightgbm_importances(booster)))
        if options.log_datasets and raw is not None and not isinstance(raw, str):
            logged.safely("dataset fingerprint", lambda: _tag_data(raw))
        logged.safely("model", lambda: log_model(logged, booster, example))

    return logged.run(
        "lightgbm.train", lambda: original(*bound.args, **bound.kwargs), before, after
    )
