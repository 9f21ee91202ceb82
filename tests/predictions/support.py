"""Batches as a model server hands them to the log, and a destination that can be held
shut (the real artifact-store files behind a gate), for the prediction log's tests."""

from __future__ import annotations

import threading

import numpy as np
import polars as pl

from keel.entities.prediction_log import LogKind, LogQuery
from keel.errors import StoreUnavailable
from keel.predictions.ids import new_prediction_ids
from keel.predictions.records import PredictionBatch
from keel.store.prediction_files import PredictionFiles

HOUR = 3_600_000
T0 = 1_765_000_000_000 - 1_765_000_000_000 % HOUR  # the start of an hour


def batch(
    rows: int = 4,
    *,
    deployment: str = "fraud-api",
    time_ms: int = T0 + 1000,
    version: int = 3,
    shadow: bool = False,
    scores: bool = True,
) -> PredictionBatch:
    rng = np.random.default_rng(rows + version)
    proba = rng.random((rows, 2))
    return PredictionBatch(
        deployment=deployment,
        model_name="fraud",
        model_version=version,
        ids=new_prediction_ids(rows, now_ms=time_ms),
        inputs={
            "amount": rng.random(rows) * 100,
            "country": np.array(["fr", "de", "us", "jp"] * (rows // 4 + 1), dtype=object)[:rows],
            "count": np.arange(rows, dtype=np.int64),
        },
        predictions=(proba[:, 1] > 0.5).astype(np.int64),
        time_ms=time_ms,
        latency_ms=np.linspace(1.0, 2.0, rows),
        scores=proba if scores else None,
        score_labels=["0", "1"] if scores else None,
        shadow=shadow,
    )


class GatedFiles:
    """Real files whose ``put`` waits while the gate is shut (a slow or hung store), or
    fails as an unreachable store does while ``down`` (the real server's outage is in
    test_server.py)."""

    def __init__(self, inner: PredictionFiles) -> None:
        self.inner = inner
        self.open = threading.Event()
        self.open.set()
        self.down = False
        self.puts = 0

    def put(self, kind: LogKind, deployment: str, hour_ms: int, name: str, data: bytes) -> None:
        self.open.wait(30)
        if self.down:
            raise StoreUnavailable("the store is unreachable (down in this test)")
        self.puts += 1
        self.inner.put(kind, deployment, hour_ms, name, data)

    def scan(self, query: LogQuery) -> pl.LazyFrame:
        return self.inner.scan(query)
