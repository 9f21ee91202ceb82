"""Experiment tracking: the client, its background writer and the fluent API.

``from keel.tracking import Client`` gives ``keel.Client``, where MLflow scripts write
``from mlflow.tracking import MlflowClient``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "Client":
        import keel  # the public client sits above this package; reached through keel

        return keel.Client
    raise AttributeError(f"module 'keel.tracking' has no attribute {name!r}")
