"""Batches to Arrow tables and Parquet bytes, column by column (numpy and pyarrow, no
per-row Python), and the row sampling applied before a batch is queued.

Loaded by the writer's thread and by ``record`` when a deployment is sampled, never by
``import keel``.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from keel.predictions.records import MatrixColumns, PredictionBatch

TIME = pa.timestamp("ms", tz="UTC")


def sample(batch: PredictionBatch, rate: float, rng: np.random.Generator) -> PredictionBatch | None:
    """The rows of ``batch`` kept at ``rate`` (0 to 1), each row drawn on its own; ``None``
    when none is kept."""
    rows = len(batch.ids)
    keep = rng.random(rows) < rate
    kept = int(keep.sum())
    if kept == 0:
        return None
    if kept == rows:
        return batch
    index = np.flatnonzero(keep)
    latency = batch.latency_ms
    if np.ndim(latency) > 0:
        latency = np.asarray(latency)[index]
    return replace(
        batch,
        ids=[batch.ids[int(i)] for i in index],
        inputs={name: np.asarray(col)[index] for name, col in batch.inputs.items()},
        predictions=np.asarray(batch.predictions)[index],
        scores=None if batch.scores is None else np.asarray(batch.scores)[index],
        latency_ms=latency,
    )


def prediction_tables(batches: Sequence[PredictionBatch]) -> list[pa.Table]:
    """The rows of ``batches`` (one deployment, one hour) as few tables as their columns
    allow: batches of one shape are concatenated as arrays first, then shapes are joined
    with missing columns null; shapes whose types cannot be joined stay apart."""
    shapes: dict[tuple[Any, ...], list[PredictionBatch]] = defaultdict(list)
    for batch in batches:
        key = (
            batch.model_name,
            batch.model_version,
            batch.shadow,
            tuple(batch.inputs),
            tuple(batch.score_labels or ()) if batch.scores is not None else None,
        )
        shapes[key].append(batch)
    return join_tables([_shape_table(group) for group in shapes.values()])


def _shape_table(batches: list[PredictionBatch]) -> pa.Table:
    first = batches[0]
    counts = [len(b.ids) for b in batches]
    rows = sum(counts)
    ids = [i for b in batches for i in b.ids]
    columns: dict[str, pa.Array] = {
        "prediction_id": pa.array(ids, type=pa.string()),
        "time": pa.array(np.repeat([b.time_ms for b in batches], counts), type=TIME),
        "deployment": pa.array(np.repeat(first.deployment, rows), type=pa.string()),
        "model_name": pa.array(np.repeat(first.model_name, rows), type=pa.string()),
        "model_version": pa.array(np.full(rows, first.model_version, dtype=np.int32)),
        "shadow": pa.array(np.full(rows, first.shadow, dtype=bool)),
        "latency_ms": pa.array(_latencies(batches, counts)),
    }
    for name, values in _inputs(batches).items():
        columns[f"input.{name}"] = arrow_column(values)
    columns["prediction"] = arrow_column(_joined([b.predictions for b in batches]))
    if first.scores is not None:
        scores = _scores(batches, counts)
        labels = list(first.score_labels or range(scores.shape[1]))
        for j, label in enumerate(labels):
            columns[f"score.{label}"] = pa.array(scores[:, j])
    return pa.table(columns)


def _latencies(batches: list[PredictionBatch], counts: list[int]) -> np.ndarray:
    """One latency per row: a batch gives one for all its rows, or one per row."""
    given = [b.latency_ms for b in batches]
    if all(isinstance(value, int | float) for value in given):
        return np.repeat(np.asarray(given, dtype=np.float32), counts)
    return np.concatenate([_latency_rows(value, n) for value, n in zip(given, counts, strict=True)])


def _latency_rows(value: Any, rows: int) -> np.ndarray:
    if isinstance(value, int | float):
        return np.full(rows, value, dtype=np.float32)
    array = np.asarray(value, dtype=np.float32)
    return array if array.shape == (rows,) else np.broadcast_to(array, rows)


def _inputs(batches: list[PredictionBatch]) -> dict[str, np.ndarray]:
    """Each input column over the batches: their matrices joined at once where every
    batch holds one (``MatrixColumns``) of one dtype, else column by column."""
    first = batches[0].inputs
    if isinstance(first, MatrixColumns):
        dtype = first.matrix.dtype
        matrices = [b.inputs.matrix for b in batches if isinstance(b.inputs, MatrixColumns)]
        if len(matrices) == len(batches) and all(m.dtype == dtype for m in matrices):
            by_column = np.ascontiguousarray(np.concatenate(matrices).T)
            return dict(zip(first.names, by_column, strict=True))
    return {name: _joined([b.inputs[name] for b in batches]) for name in first}


def _scores(batches: list[PredictionBatch], counts: list[int]) -> np.ndarray:
    """The class probabilities of the batches, one row per row."""
    given = [b.scores for b in batches]
    if all(isinstance(value, np.ndarray) and value.ndim == 2 for value in given):
        return np.concatenate(given)
    return np.concatenate(
        [np.asarray(value).reshape(n, -1) for value, n in zip(given, counts, strict=True)]
    )


def _joined(arrays: list[Any]) -> np.ndarray:
    return np.asarray(arrays[0]) if len(arrays) == 1 else np.concatenate(arrays)


def arrow_column(values: Any) -> pa.Array:
    """One column: a 1-D array as its native Arrow type; rows of several values (a tensor
    input, a multi-output prediction) as fixed-size lists of their flattened values."""
    array = np.asarray(values)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim == 1:
        try:
            return pa.array(array)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects: their text
            return pa.array([None if v is None else str(v) for v in array], type=pa.string())
    flat = array.reshape(len(array), -1)
    return pa.FixedSizeListArray.from_arrays(arrow_column(flat.reshape(-1)), flat.shape[1])


def feedback_table(deployment: str, ids: Sequence[str], labels: Any, time_ms: int) -> pa.Table:
    """One call's labels: ``label`` as float64 when every label is a number, else text."""
    label = np.asarray(labels)
    if label.dtype.kind in "biuf":
        column = pa.array(label.astype(np.float64))
    else:
        column = pa.array([str(v) for v in labels], type=pa.string())
    rows = len(ids)
    return pa.table(
        {
            "prediction_id": pa.array(list(ids), type=pa.string()),
            "time": pa.array(np.full(rows, time_ms, dtype=np.int64), type=TIME),
            "deployment": pa.array(np.repeat(deployment, rows), type=pa.string()),
            "label": column,
        }
    )


def join_tables(tables: list[pa.Table]) -> list[pa.Table]:
    """``tables`` as one when their columns can be joined (missing ones null, numbers
    widened), else as they are."""
    if len(tables) <= 1:
        return tables
    try:
        return [pa.concat_tables(tables, promote_options="permissive")]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return tables


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()
