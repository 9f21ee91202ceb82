"""The prediction log: every prediction a model server or a batch job makes, with its
inputs, outputs, model version, deployment, latency and time, written in the background
to Parquet files in the artifact store (partitioned by deployment and hour, never one
SQL row per prediction), and the feedback (labels) that arrives for them later.

Model servers and ``keel predict`` write it; ``keel predictions``, ``keel lineage`` and
monitoring read it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping, Sequence
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
    "log_predictions",
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


def log_predictions(
    deployment: str,
    inputs: Any,
    predictions: Any,
    *,
    model_name: str,
    model_version: int,
    scores: Any = None,
    score_labels: Sequence[str] | None = None,
    time_ms: int | None = None,
    latency_ms: float = 0.0,
    tracking_uri: str | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Log a batch job's predictions under ``deployment``, as a model server does, and
    return their ids (for :func:`log_feedback` later). ``inputs``: a pandas or polars
    DataFrame, or a mapping of column name to a 1-D array; ``predictions``: one value per
    row; ``scores``: a 2-D array of class probabilities with ``score_labels`` naming its
    columns. Waits until the rows are written (or spooled on this machine while the store
    is unreachable); every row is kept, whatever the deployment's sampling.

    >>> ids = keel.predictions.log_predictions(                            # doctest: +SKIP
    ...     "fraud-api", frame[["amount"]], model.predict(frame[["amount"]]),
    ...     model_name="fraud", model_version=3)
    """
    import numpy as np

    import keel
    from keel.entities.deployment import check_deployment_name
    from keel.errors import InvalidArgument
    from keel.predictions.ids import new_prediction_ids
    from keel.predictions.records import PredictionBatch
    from keel.predictions.writer import open_prediction_log

    check_deployment_name(deployment, "deployment")
    if not isinstance(model_version, int) or isinstance(model_version, bool) or model_version < 1:
        raise InvalidArgument(f"model_version {model_version!r}: must be a whole number from 1")
    columns = _input_columns(inputs)
    predicted = np.asarray(predictions)
    rows = len(predicted)
    for name, column in columns.items():
        if len(column) != rows:
            raise InvalidArgument(
                f"inputs[{name!r}]: {len(column)} rows, but predictions has {rows}: one "
                "prediction per input row"
            )
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[0] != rows:
            raise InvalidArgument(f"scores: must be {rows} rows of class probabilities")
        if score_labels is None or len(score_labels) != scores.shape[1]:
            raise InvalidArgument(f"score_labels: must name each of the {scores.shape[1]} classes")
    now = time.time_ns() // 1_000_000 if time_ms is None else time_ms
    batch = PredictionBatch(
        deployment=deployment,
        model_name=model_name,
        model_version=model_version,
        ids=new_prediction_ids(rows, now),
        inputs=columns,
        predictions=predicted,
        time_ms=now,
        latency_ms=latency_ms,
        scores=scores,
        score_labels=None if score_labels is None else [str(x) for x in score_labels],
    )
    with keel.Client(tracking_uri) as client:
        log = open_prediction_log(client.backend, client.settings, sampling={deployment: 1.0})
        log.record(batch)
        log.close(timeout)
    if log.dropped_rows:
        raise InvalidArgument(
            f"predictions of {deployment!r}: {log.dropped_rows} rows could not be written "
            "(the log says why)"
        )
    return list(batch.ids)


def _input_columns(inputs: Any) -> dict[str, Any]:
    import numpy as np

    from keel.errors import InvalidArgument

    if hasattr(inputs, "columns") and hasattr(inputs, "__getitem__"):  # pandas or polars
        return {str(c): np.asarray(inputs[c]) for c in inputs.columns}
    if isinstance(inputs, Mapping):
        return {str(k): np.asarray(v) for k, v in inputs.items()}
    raise InvalidArgument(
        "inputs: must be a pandas or polars DataFrame, or a mapping of column name to values"
    )


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
