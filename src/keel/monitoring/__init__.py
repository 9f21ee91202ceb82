"""Monitoring: drift and data quality between a reference and a current window, realised
and estimated performance over time, monitors run on a schedule, and the alerts they raise.

``drift(reference, current)`` compares two tables (or a stored ``ReferenceProfile`` and a
Parquet file read in batches) column by column and returns a ``DriftResult``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.monitoring.compare import SchemaMismatch, drift
    from keel.monitoring.reference import ReferenceProfile
    from keel.monitoring.result import ColumnDrift, DatasetDrift, DriftResult

__all__ = [
    "ColumnDrift",
    "DatasetDrift",
    "DriftResult",
    "ReferenceProfile",
    "SchemaMismatch",
    "drift",
]

_WHERE = {
    "drift": "keel.monitoring.compare",
    "SchemaMismatch": "keel.monitoring.compare",
    "ReferenceProfile": "keel.monitoring.reference",
    "ColumnDrift": "keel.monitoring.result",
    "DatasetDrift": "keel.monitoring.result",
    "DriftResult": "keel.monitoring.result",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'keel.monitoring' has no attribute {name!r}")
    return getattr(import_module(module), name)
