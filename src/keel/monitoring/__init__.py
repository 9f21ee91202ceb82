"""Monitoring: drift and data quality between a reference and a current window, realised
and estimated performance over time, monitors run on a schedule, and the alerts they raise.

``drift(reference, current)`` compares two tables (or a stored ``ReferenceProfile`` and a
Parquet file read in batches) column by column and returns a ``DriftResult``.
``realised_performance(frame, window="1h")`` scores predictions joined with their labels
per window; ``CBPE.fit(reference).estimate(frame)`` estimates classifier performance
before labels arrive; ``keel.evaluate`` scores a model before it is deployed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.monitoring.cbpe import CBPE, EstimatedPerformance
    from keel.monitoring.compare import SchemaMismatch, drift
    from keel.monitoring.evaluate import EvaluationResult, evaluate
    from keel.monitoring.performance import (
        PerformanceResult,
        join_feedback,
        realised_performance,
    )
    from keel.monitoring.reference import ReferenceProfile
    from keel.monitoring.result import ColumnDrift, DatasetDrift, DriftResult

__all__ = [
    "CBPE",
    "ColumnDrift",
    "DatasetDrift",
    "DriftResult",
    "EstimatedPerformance",
    "EvaluationResult",
    "PerformanceResult",
    "ReferenceProfile",
    "SchemaMismatch",
    "drift",
    "evaluate",
    "join_feedback",
    "realised_performance",
]

_WHERE = {
    "drift": "keel.monitoring.compare",
    "SchemaMismatch": "keel.monitoring.compare",
    "ReferenceProfile": "keel.monitoring.reference",
    "ColumnDrift": "keel.monitoring.result",
    "DatasetDrift": "keel.monitoring.result",
    "DriftResult": "keel.monitoring.result",
    "CBPE": "keel.monitoring.cbpe",
    "EstimatedPerformance": "keel.monitoring.cbpe",
    "evaluate": "keel.monitoring.evaluate",
    "EvaluationResult": "keel.monitoring.evaluate",
    "PerformanceResult": "keel.monitoring.performance",
    "join_feedback": "keel.monitoring.performance",
    "realised_performance": "keel.monitoring.performance",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'keel.monitoring' has no attribute {name!r}")
    return getattr(import_module(module), name)
