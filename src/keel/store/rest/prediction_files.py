"""The prediction log through a ``keel server``: each file is sent whole (the server
checks it is a Parquet file of the log's columns and decides where it goes), and reads
come back as Arrow IPC streams, a page at a time."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from keel.entities.prediction_log import LogKind, LogQuery, check_log_kind
from keel.errors import InvalidArgument
from keel.store.rest.http import Http
from keel.wire.routes import (
    GET_PREDICTION,
    PUT_FEEDBACK_FILE,
    PUT_PREDICTION_FILE,
    READ_PREDICTION_LOG,
)

if TYPE_CHECKING:
    import polars as pl

ARROW_STREAM = "application/vnd.apache.arrow.stream"
NEXT_OFFSET = "X-Keel-Next-Offset"
"""Header of a page that is not the last: the ``offset`` of the next one."""


class RestPredictionFiles:
    """:class:`keel.store.prediction_files.PredictionFiles` over a ``keel server``."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def put(self, kind: LogKind, deployment: str, hour_ms: int, name: str, data: bytes) -> None:
        route = PUT_PREDICTION_FILE if check_log_kind(kind) == "predictions" else PUT_FEEDBACK_FILE
        # The server derives the hour from the rows themselves; hour_ms is not sent.
        self._http.upload(
            route.path(deployment=deployment, name=name),
            [data],
            params={},
            headers={"Content-Type": "application/vnd.apache.parquet"},
        )

    def scan(self, query: LogQuery) -> pl.LazyFrame:
        import polars as pl

        if query.deployment is None:
            if query.prediction_id is None or query.kind != "predictions":
                raise InvalidArgument("deployment: required to read a log through a server")
            path = GET_PREDICTION.path(prediction_id=query.prediction_id)
            params: dict[str, Any] = {}
        else:
            path = READ_PREDICTION_LOG.path(deployment=query.deployment)
            params = {
                "kind": query.kind,
                "since_ms": query.since_ms,
                "until_ms": query.until_ms,
                "model_version": query.model_version,
                "prediction_id": query.prediction_id,
            }
            params = {k: v for k, v in params.items() if v is not None}
        pages = []
        offset: str | None = "0"
        while offset is not None:
            with self._http.download(path, params={**params, "offset": offset}) as response:
                body = response.read()
                offset = response.headers.get(NEXT_OFFSET)
            pages.append(pl.read_ipc_stream(io.BytesIO(body)))
        return pl.concat(pages, how="diagonal_relaxed").lazy()
