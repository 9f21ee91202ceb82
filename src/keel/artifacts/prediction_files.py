"""The prediction log's files in an artifact store (a SQL store's artifact root: a local
folder or an fsspec URL such as ``s3://bucket/keel``), read back with polars.

Writes go through :class:`~keel.artifacts.store.ArtifactStore`: a temporary name beside
the destination, renamed into place, so a reader never sees half a file. Reads list only
the hour folders a window needs, then scan the files lazily: columns and rows a query
does not use are not read.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from keel.artifacts.store import ArtifactStore
from keel.entities.deployment import check_deployment_name
from keel.entities.prediction_log import (
    HOUR_MS,
    LogKind,
    LogQuery,
    check_log_kind,
    hour_folder,
    hour_of_path,
    hour_start,
    partition_path,
)

if TYPE_CHECKING:
    import polars as pl

MAX_LISTED_HOURS = 72
"""Up to this many hours, a read lists each hour's folder; past it, it lists the whole
deployment once and skips the folders outside the window by their names."""


class StoredPredictionFiles:
    """:class:`keel.store.prediction_files.PredictionFiles` over an artifact store."""

    def __init__(self, store: ArtifactStore) -> None:
        self._store = store

    @classmethod
    def at(cls, root: str) -> StoredPredictionFiles:
        return cls(ArtifactStore(root))

    def put(self, kind: LogKind, deployment: str, hour_ms: int, name: str, data: bytes) -> None:
        self._store.write_bytes(partition_path(kind, deployment, hour_ms, name), data)

    def scan(self, query: LogQuery) -> pl.LazyFrame:
        import polars as pl

        paths = self.files(query)
        if not paths:
            return empty_log(query.kind)
        if self._store.fs.protocol in ("file", ("file", "local")):
            frames = [pl.scan_parquet(path) for path in paths]
        else:  # any fsspec filesystem, through its own client and credentials
            frames = [pl.read_parquet(io.BytesIO(self._store.fs.cat_file(p))).lazy() for p in paths]
        return select(pl.concat(frames, how="diagonal_relaxed"), query)

    def files(self, query: LogQuery) -> list[str]:
        """The files that may hold rows of ``query``, oldest hour first."""
        kind = check_log_kind(query.kind)
        fs, root = self._store.fs, self._store.root
        if query.deployment is not None:
            check_deployment_name(query.deployment, "deployment")
        who = query.deployment or "*"  # every deployment's folder: finding an id
        since, until = query.since_ms, query.until_ms
        if since is not None and until is not None and until - since <= MAX_LISTED_HOURS * HOUR_MS:
            found: list[str] = []
            for start in range(hour_start(since), until, HOUR_MS):
                found.extend(sorted(fs.glob(f"{root}/{kind}/{who}/{hour_folder(start)}/*.parquet")))
            return found
        listed = fs.glob(f"{root}/{kind}/{who}/date=*/hour=*/*.parquet")
        kept = []
        for path in listed:
            hour = hour_of_path(path)
            if hour is None:
                continue
            if since is not None and hour + HOUR_MS <= since:
                continue
            if until is not None and hour >= until:
                continue
            kept.append(path)
        return sorted(kept, key=lambda p: (hour_of_path(p) or 0, p))


def select(frame: pl.LazyFrame, query: LogQuery) -> pl.LazyFrame:
    """The rows of ``frame`` (a log's rows) that ``query`` selects, in time order."""
    import polars as pl

    epoch = pl.col("time").dt.epoch("ms")
    if query.since_ms is not None:
        frame = frame.filter(epoch >= query.since_ms)
    if query.until_ms is not None:
        frame = frame.filter(epoch < query.until_ms)
    if query.deployment is not None:
        frame = frame.filter(pl.col("deployment") == query.deployment)
    if query.model_version is not None and query.kind == "predictions":
        frame = frame.filter(pl.col("model_version") == query.model_version)
    if query.prediction_id is not None:
        frame = frame.filter(pl.col("prediction_id") == query.prediction_id)
    return frame.sort("time", "prediction_id")


def empty_log(kind: LogKind) -> pl.LazyFrame:
    """A log with no rows, with the columns every file of ``kind`` has."""
    import polars as pl

    common: dict[str, Any] = {
        "prediction_id": pl.String,
        "time": pl.Datetime("ms", "UTC"),
        "deployment": pl.String,
    }
    if kind == "feedback":
        return pl.LazyFrame(schema={**common, "label": pl.Null})
    return pl.LazyFrame(
        schema={
            **common,
            "model_name": pl.String,
            "model_version": pl.Int32,
            "shadow": pl.Boolean,
            "latency_ms": pl.Float32,
            "prediction": pl.Null,
        }
    )
