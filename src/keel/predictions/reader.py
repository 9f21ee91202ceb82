"""Reading the prediction log and its feedback with polars: lazy scans over the Parquet
files of the hours a window covers (through a ``keel server``, the rows it sends back).

>>> frame = read_predictions(files, "fraud-api", since_ms=day_ago)          # doctest: +SKIP
>>> joined = with_feedback(frame, read_feedback(files, "fraud-api", day_ago))  # doctest: +SKIP
>>> joined.collect()                                                        # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keel.entities.deployment import check_deployment_name
from keel.entities.prediction_log import HOUR_MS, LogQuery, hour_start
from keel.errors import InvalidArgument
from keel.predictions.ids import check_prediction_id, id_time_ms
from keel.store.prediction_files import PredictionFiles

if TYPE_CHECKING:
    import polars as pl


def read_predictions(
    files: PredictionFiles,
    deployment: str,
    since_ms: int | None = None,
    until_ms: int | None = None,
    *,
    model_version: int | None = None,
) -> pl.LazyFrame:
    """The predictions of ``deployment`` made from ``since_ms`` (included) to
    ``until_ms`` (excluded), in time order; every column of the log (``input.<column>``,
    ``prediction``, ``score.<label>``...)."""
    check_window(since_ms, until_ms)
    if model_version is not None and (isinstance(model_version, bool) or model_version < 1):
        raise InvalidArgument(
            f"model_version: must be a version number (1 or more), got {model_version!r}"
        )
    query = LogQuery(
        "predictions",
        check_deployment_name(deployment, "deployment"),
        since_ms,
        until_ms,
        model_version=model_version,
    )
    return files.scan(query)


def read_feedback(
    files: PredictionFiles,
    deployment: str,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> pl.LazyFrame:
    """The labels logged for ``deployment``'s predictions in the window (by when each
    label arrived): ``prediction_id``, ``time``, ``deployment``, ``label``."""
    check_window(since_ms, until_ms)
    query = LogQuery(
        "feedback", check_deployment_name(deployment, "deployment"), since_ms, until_ms
    )
    return files.scan(query)


def latest_labels(feedback: pl.LazyFrame) -> pl.LazyFrame:
    """One row per prediction id: its latest label and when it arrived
    (``feedback_time``)."""
    import polars as pl

    return (
        feedback.sort("time", maintain_order=True)
        .group_by("prediction_id", maintain_order=True)
        .agg(pl.col("label").last(), pl.col("time").last().alias("feedback_time"))
    )


def with_feedback(predictions: pl.LazyFrame, feedback: pl.LazyFrame) -> pl.LazyFrame:
    """``predictions`` with ``label`` and ``feedback_time`` (null where none arrived yet):
    a left join by prediction id, the latest label winning."""
    return predictions.join(
        latest_labels(feedback), on="prediction_id", how="left", maintain_order="left"
    )


def find_prediction(
    files: PredictionFiles, prediction_id: str, *, deployment: str | None = None
) -> dict[str, Any] | None:
    """The logged row of one prediction (``time`` in milliseconds since the epoch), or
    ``None``. Its id says when it was made, so only that hour's files are read."""
    rows = files.scan(prediction_query(prediction_id, deployment)).head(1).collect()
    if rows.height == 0:
        return None
    return json_rows(rows)[0]


def prediction_query(prediction_id: str, deployment: str | None = None) -> LogQuery:
    """The query for one prediction: its id, in the hour the id says it was made."""
    start = hour_start(id_time_ms(check_prediction_id(prediction_id)))
    return LogQuery(
        "predictions",
        None if deployment is None else check_deployment_name(deployment, "deployment"),
        start,
        start + HOUR_MS,
        prediction_id=prediction_id,
    )


def json_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as plain values: times as milliseconds since the epoch,
    nested lists as lists, 32-bit floats (``latency_ms``) to the 7 digits they hold (0.4,
    not 0.4000000059604645)."""
    import polars as pl

    times = [name for name, kind in frame.schema.items() if isinstance(kind, pl.Datetime)]
    if times:
        frame = frame.with_columns(pl.col(c).dt.epoch("ms") for c in times)
    singles = [name for name, kind in frame.schema.items() if kind == pl.Float32]
    if singles:
        frame = frame.with_columns(pl.col(c).cast(pl.Float64).round_sig_figs(7) for c in singles)
    return frame.to_dicts()


def check_window(since_ms: int | None, until_ms: int | None) -> None:
    for name, value in (("since_ms", since_ms), ("until_ms", until_ms)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise InvalidArgument(f"{name}: must be milliseconds since the epoch, got {value!r}")
    if since_ms is not None and until_ms is not None and until_ms < since_ms:
        raise InvalidArgument(f"until_ms: must not be before since_ms ({until_ms} < {since_ms})")
