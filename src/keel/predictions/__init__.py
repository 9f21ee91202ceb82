"""The prediction log: every prediction a model server or a batch job makes, with its
inputs, outputs, model version, deployment, latency and time, written in the background
to Parquet files in the artifact store (partitioned by deployment and hour, never one
SQL row per prediction), and the feedback (labels) that arrives for them later.

Model servers and ``keel predict`` write it; ``keel predictions``, ``keel lineage`` and
monitoring read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from keel.predictions.feedback import FeedbackLog, open_feedback_log
    from keel.predictions.reader import (
        find_prediction,
        read_feedback,
        read_predictions,
        with_feedback,
    )
    from keel.predictions.writer import PredictionLog, open_prediction_log

_LAZY = {
    "PredictionLog": "writer",
    "open_prediction_log": "writer",
    "FeedbackLog": "feedback",
    "open_feedback_log": "feedback",
    "read_predictions": "reader",
    "read_feedback": "reader",
    "with_feedback": "reader",
    "find_prediction": "reader",
}
"""Loaded on first use: ``import keel.predictions`` loads no polars, numpy or pyarrow."""

__all__ = [
    "FeedbackLog",
    "PredictionLog",
    "find_prediction",
    "load_predictions",
    "log_feedback",
    "open_feedback_log",
    "open_prediction_log",
    "read_feedback",
    "read_predictions",
    "with_feedback",
]


def __getattr__(name: str) -> Any:
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module 'keel.predictions' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"keel.predictions.{home}"), name)
    globals()[name] = value
    return value


def log_feedback(
    deployment: str,
    prediction_ids: Sequence[str],
    labels: Sequence[Any],
    *,
    tracking_uri: str | None = None,
    timeout: float = 30.0,
) -> int:
    """Attach ``labels`` (one per id: numbers, or strings) to earlier predictions of
    ``deployment``, through the tracking URI in use (``keel.set_tracking_uri``, else
    ``KEEL_TRACKING_URI``); returns how many. Waits until they are written, or spooled on
    this machine when the store is unreachable (sent by the next writer).

    >>> keel.predictions.log_feedback("fraud-api", [prediction_id], [1])   # doctest: +SKIP
    """
    import keel
    from keel.predictions.feedback import check_feedback, open_feedback_log

    check_feedback(deployment, prediction_ids, labels, None)  # before opening anything
    with keel.Client(tracking_uri) as client:
        log = open_feedback_log(client.backend, client.settings)
        try:
            return log.log_feedback(deployment, prediction_ids, labels)
        finally:
            log.close(timeout)


def load_predictions(
    deployment: str,
    since_ms: int | None = None,
    until_ms: int | None = None,
    *,
    model_version: int | None = None,
    feedback: bool = False,
    tracking_uri: str | None = None,
) -> pl.DataFrame:
    """A deployment's logged predictions in a window, through the tracking URI in use,
    with each one's latest ``label`` when ``feedback``.

    >>> keel.predictions.load_predictions("fraud-api", feedback=True)  # doctest: +SKIP
    """
    import keel
    from keel.predictions import reader

    with keel.Client(tracking_uri) as client:
        files = client.backend.prediction_files
        frame = reader.read_predictions(
            files, deployment, since_ms, until_ms, model_version=model_version
        )
        if feedback:
            frame = reader.with_feedback(frame, reader.read_feedback(files, deployment, since_ms))
        return frame.collect()
