"""Keel: one package for a model's whole life.

The names below load on first use, so ``import keel`` stays cheap (no SQLAlchemy, FastAPI
or pandas until a function needs them).

>>> import keel
>>> keel.set_tracking_uri("/tmp/keel-doc")            # doctest: +SKIP
>>> with keel.start_run(run_name="baseline"):          # doctest: +SKIP
...     keel.log_param("model", "rf")
...     keel.log_metric("acc", 0.91)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from keel.version import __version__

_FLUENT = "keel.fluent"
_MODULES = ("errors", "data", "artifacts", "predictions")
# Per-library model APIs, as MLflow's mlflow.sklearn and friends: keel.sklearn.log_model.
_FLAVOR_MODULES = ("lightgbm", "onnx", "pyfunc", "pytorch", "sklearn", "xgboost")
_EXPORTS: dict[str, str] = {
    "Client": "keel.client",
    "Settings": "keel.config",
    "Experiment": "keel.entities",
    "FileInfo": "keel.entities",
    "Metric": "keel.entities",
    "MetricHistory": "keel.entities",
    "PagedList": "keel.entities",
    "Param": "keel.entities",
    "Run": "keel.entities",
    "RunStatus": "keel.entities",
    "RunTag": "keel.entities",
    "ViewType": "keel.entities",
    "ActiveRun": _FLUENT,
    "active_run": _FLUENT,
    "end_run": _FLUENT,
    "flush": _FLUENT,
    "get_tracking_uri": _FLUENT,
    "last_active_run": _FLUENT,
    "log_artifact": _FLUENT,
    "log_artifacts": _FLUENT,
    "log_dict": _FLUENT,
    "log_figure": _FLUENT,
    "log_table": _FLUENT,
    "log_metric": _FLUENT,
    "log_model": _FLUENT,
    "log_dataset": _FLUENT,
    "log_input": _FLUENT,
    "data": "keel.data",
    "artifacts": "keel.artifacts",
    "predictions": "keel.predictions",
    "infer_signature": "keel.models",
    **{name: f"keel.{name}" for name in _FLAVOR_MODULES},
    "register_model": _FLUENT,
    "load_model": _FLUENT,
    "log_metrics": _FLUENT,
    "log_param": _FLUENT,
    "log_params": _FLUENT,
    "log_text": _FLUENT,
    "set_experiment": _FLUENT,
    "set_tag": _FLUENT,
    "set_tags": _FLUENT,
    "set_tracking_uri": _FLUENT,
    "start_run": _FLUENT,
    "create_experiment": _FLUENT,
    "delete_run": _FLUENT,
    "get_artifact_uri": _FLUENT,
    "get_experiment": _FLUENT,
    "get_experiment_by_name": _FLUENT,
    "get_run": _FLUENT,
    "search_experiments": _FLUENT,
    "search_runs": _FLUENT,
    "set_experiment_tag": _FLUENT,
    "errors": "keel.errors",
    "autolog": "keel.autologging",
    "enable_system_metrics_logging": "keel.autologging.system_metrics",
    "disable_system_metrics_logging": "keel.autologging.system_metrics",
    "set_system_metrics_sampling_interval": "keel.autologging.system_metrics",
}

__all__ = [
    "ActiveRun",
    "Client",
    "Experiment",
    "FileInfo",
    "Metric",
    "MetricHistory",
    "PagedList",
    "Param",
    "Run",
    "RunStatus",
    "RunTag",
    "Settings",
    "ViewType",
    "__version__",
    "active_run",
    "artifacts",
    "autolog",
    "create_experiment",
    "data",
    "delete_run",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "end_run",
    "errors",
    "flush",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_run",
    "get_tracking_uri",
    "infer_signature",
    "last_active_run",
    "lightgbm",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dataset",
    "log_dict",
    "log_figure",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "onnx",
    "predictions",
    "pyfunc",
    "pytorch",
    "register_model",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_system_metrics_sampling_interval",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "sklearn",
    "start_run",
    "xgboost",
]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'keel' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if name in _MODULES or name in _FLAVOR_MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from keel import errors, lightgbm, onnx, pyfunc, pytorch, sklearn, xgboost
    from keel.autologging import autolog
    from keel.autologging.system_metrics import (
        disable_system_metrics_logging,
        enable_system_metrics_logging,
    )
    from keel.client import Client
    from keel.config import Settings
    from keel.entities import (
        Experiment,
        FileInfo,
        Metric,
        MetricHistory,
        PagedList,
        Param,
        Run,
        RunStatus,
        RunTag,
        ViewType,
    )
    from keel.fluent import (
        ActiveRun,
        active_run,
        delete_run,
        end_run,
        flush,
        get_artifact_uri,
        get_experiment,
        get_experiment_by_name,
        get_run,
        get_tracking_uri,
        last_active_run,
        load_model,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_metric,
        log_metrics,
        log_model,
        log_param,
        log_params,
        log_text,
        register_model,
        search_experiments,
        search_runs,
        set_experiment,
        set_experiment_tag,
        set_tag,
        set_tags,
        set_tracking_uri,
        start_run,
    )
    from keel.models import infer_signature
