"""``/api/v1/predictions``: the prediction log through a ``keel server``.

A writer sends each Parquet file whole to its deployment; the server checks that it is a
Parquet file of the log's columns, every row of that deployment and of one hour, and
builds the file's path itself from the checked deployment name, the hour it read from
the rows and the checked file name: a client never names a path. Reads come back as
Arrow IPC streams, a page at a time (``X-Keel-Next-Offset`` names the next page).

Permissions are judged on the deployment's project (``Caller.check_deployment``): the guard
only asks for the role on some project, then each route checks the deployment its path
names, or, for a prediction found by id, the deployment its row names, before anything
is read or stored.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from keel.entities.deployment import check_deployment_name
from keel.entities.prediction_log import (
    LogKind,
    LogQuery,
    check_file_name,
    check_log_kind,
    partition_path,
)
from keel.errors import PayloadTooLarge
from keel.predictions.checks import MAX_LOG_FILE_BYTES, check_log_file
from keel.predictions.ids import check_prediction_id
from keel.predictions.reader import check_window, prediction_query
from keel.server.auth import Caller, requires
from keel.server.responses import JSON
from keel.store.prediction_files import PredictionFiles
from keel.wire.predictions import ARROW_STREAM, NEXT_OFFSET

router = APIRouter(prefix="/predictions", tags=["predictions"])

PAGE_ROWS = 200_000
"""The most rows one answer holds."""
MAX_QUERY_INT = 2**62
"""The largest offset, time or version a query may give (polars takes 64-bit integers)."""


def _files(request: Request) -> PredictionFiles:
    files: PredictionFiles = request.app.state.prediction_files
    return files


@router.put(
    "/deployments/{deployment}/files/{name}",
    status_code=201,
)
async def put_prediction_file(
    deployment: str,
    name: str,
    request: Request,
    caller: Annotated[Caller, requires("deployment:predict", anywhere=True)],
) -> JSON:
    """Store one file of predictions (a Parquet body)."""
    return await _put("predictions", deployment, name, request, caller)


@router.put(
    "/deployments/{deployment}/feedback/{name}",
    status_code=201,
)
async def put_feedback_file(
    deployment: str,
    name: str,
    request: Request,
    caller: Annotated[Caller, requires("deployment:predict", anywhere=True)],
) -> JSON:
    """Store one file of feedback (labels for earlier predictions; a Parquet body)."""
    return await _put("feedback", deployment, name, request, caller)


async def _put(kind: LogKind, deployment: str, name: str, request: Request, caller: Caller) -> JSON:
    check_deployment_name(deployment, "deployment")
    check_file_name(name)
    # Judged before the body is read: a caller who may not write sends nothing in.
    await run_in_threadpool(caller.check_deployment, "deployment:predict", deployment)
    data = await _body(request, MAX_LOG_FILE_BYTES)
    files = _files(request)

    def store() -> dict[str, Any]:
        hour_ms, rows = check_log_file(kind, deployment, data)
        files.put(kind, deployment, hour_ms, name, data)
        return {"path": partition_path(kind, deployment, hour_ms, name), "rows": rows}

    return JSON(await run_in_threadpool(store), status_code=201)


async def _body(request: Request, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"body: a log file may be at most {limit} bytes; nothing was kept"
            )
        parts.append(chunk)
    return b"".join(parts)


@router.get(
    "/deployments/{deployment}/rows",
    response_class=Response,
    responses={200: {"content": {ARROW_STREAM: {}}}},
)
def read_log(
    deployment: str,
    request: Request,
    caller: Annotated[Caller, requires("deployment:read", anywhere=True)],
    kind: str = "predictions",
    since_ms: int | None = Query(default=None, ge=0, le=MAX_QUERY_INT),
    until_ms: int | None = Query(default=None, ge=0, le=MAX_QUERY_INT),
    model_version: int | None = Query(default=None, ge=1, le=2**31 - 1),
    prediction_id: str | None = None,
    offset: int = Query(default=0, ge=0, le=MAX_QUERY_INT),
    limit: int = Query(default=PAGE_ROWS, ge=1, le=PAGE_ROWS),
) -> Response:
    """One page of the rows of a deployment's predictions (``kind=predictions``) or
    feedback (``kind=feedback``) in a window, in time order, as an Arrow IPC stream."""
    check_window(since_ms, until_ms)
    caller.check_deployment("deployment:read", check_deployment_name(deployment, "deployment"))
    query = LogQuery(
        check_log_kind(kind),
        check_deployment_name(deployment, "deployment"),
        since_ms,
        until_ms,
        model_version=model_version,
        prediction_id=None if prediction_id is None else check_prediction_id(prediction_id),
    )
    page = _files(request).scan(query).slice(offset, limit + 1).collect()
    headers = {}
    if page.height > limit:
        page = page.head(limit)
        headers[NEXT_OFFSET] = str(offset + limit)
    return _arrow(page, headers)


@router.get(
    "/{prediction_id}",
    response_class=Response,
    responses={200: {"content": {ARROW_STREAM: {}}}},
)
def get_prediction(
    prediction_id: str,
    request: Request,
    caller: Annotated[Caller, requires("deployment:read", anywhere=True)],
) -> Response:
    """The logged row of one prediction (none when there is no such id), as an Arrow IPC
    stream. Only the hour its id names is read; the row is answered only to a caller who
    may read its deployment."""
    found = _files(request).scan(prediction_query(prediction_id)).head(1).collect()
    if found.height:
        caller.check_deployment("deployment:read", str(found["deployment"][0]))
    return _arrow(found, {})


@router.get("/{prediction_id}/lineage")
def get_lineage(
    prediction_id: str,
    request: Request,
    caller: Annotated[Caller, requires("deployment:read", anywhere=True)],
) -> JSON:
    """Where one prediction came from: deployment, model version, run, dataset versions
    and git commit. Answered only to a caller who may read the deployment and every link
    it shows (the model, its run, the datasets the run used)."""
    from keel.serving.lineage import trace_prediction

    state = request.app.state
    found = trace_prediction(
        check_prediction_id(prediction_id),
        files=_files(request),
        registry=state.registry,
        tracking=state.store,
        datasets=state.datasets,
    )
    caller.check_deployment("deployment:read", found.deployment)
    if found.model is not None:
        caller.check_resources("model:read", "model", [found.model["name"]])
    if found.run is not None:
        caller.check_resources("run:read", "run", [found.run["run_id"]])
    if found.datasets:
        caller.check_resources("dataset:read", "dataset", [d["name"] for d in found.datasets])
    return JSON(found.to_dict())


def _arrow(frame: Any, headers: dict[str, str]) -> Response:
    buffer = io.BytesIO()
    frame.write_ipc_stream(buffer)
    return Response(buffer.getvalue(), media_type=ARROW_STREAM, headers=headers)
