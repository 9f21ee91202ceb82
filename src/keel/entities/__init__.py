"""Plain types shared by every layer: frozen dataclasses, no I/O.

Each name below loads with its own module on first use, so code that needs datasets'
types does not also build every run and metric class (they cost milliseconds each,
paid by every command).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "CodeVersion": "run",
    "Experiment": "experiment",
    "FileInfo": "run",
    "LifecycleStage": "experiment",
    "Metric": "metric",
    "MetricColumns": "write",
    "MetricHistory": "metric",
    "PagedList": "paging",
    "Param": "run",
    "Run": "run",
    "RunCreate": "write",
    "RunData": "run",
    "RunEnd": "write",
    "RunInfo": "run",
    "RunPage": "run",
    "RunStatus": "run",
    "RunTag": "run",
    "RunWrite": "write",
    "ViewType": "experiment",
    "WriteBatch": "write",
}

__all__ = [
    "CodeVersion",
    "Experiment",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "MetricColumns",
    "MetricHistory",
    "PagedList",
    "Param",
    "Run",
    "RunCreate",
    "RunData",
    "RunEnd",
    "RunInfo",
    "RunPage",
    "RunStatus",
    "RunTag",
    "RunWrite",
    "ViewType",
    "WriteBatch",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'keel.entities' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"keel.entities.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from keel.entities.experiment import Experiment, LifecycleStage, ViewType
    from keel.entities.metric import Metric, MetricHistory
    from keel.entities.paging import PagedList
    from keel.entities.run import (
        CodeVersion,
        FileInfo,
        Param,
        Run,
        RunData,
        RunInfo,
        RunPage,
        RunStatus,
        RunTag,
    )
    from keel.entities.write import MetricColumns, RunCreate, RunEnd, RunWrite, WriteBatch
