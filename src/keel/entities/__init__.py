"""Plain types shared by every layer: frozen dataclasses, no I/O."""

from __future__ import annotations

from keel.entities.experiment import Experiment, LifecycleStage, ViewType
from keel.entities.metric import Metric, MetricHistory
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

__all__ = [
    "CodeVersion",
    "Experiment",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "MetricColumns",
    "MetricHistory",
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
