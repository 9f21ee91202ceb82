"""``/api/v1/runs`` and ``/api/v1/writes``"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from keel.entities import MetricHistory, RunStatus, ViewType, WriteBatch
from keel.entities.rules import check_run_id
from keel.errors import InvalidArgument
from keel.server.auth import Caller, requires
from keel.server.deps import StoreDep
from keel.server.openapi import json_body
from keel.server.responses import JSON, NDJSON
from keel.server.streams import json_lines
from keel.wire.history import (
    MetricHistoryLine,
    history_chunk_to_dict,
    history_head_to_dict,
    stream_end_to_dict,
)
from keel.wire.runs import (
    Reap,
    ReapedRuns,
    RunCreateBody,
    RunInfoPublic,
    RunPagePublic,
    RunPublic,
    RunSearch,
    RunUpdate,
    run_info_to_dict,
    run_page_to_dict,
    run_to_dict,
)
from keel.wire.writes import WriteAck, WriteBatchIn, batch_from_json

router = APIRouter(tags=["runs"])


async def _write_batch(request: Request) -> WriteBatch:
    """The body of ``POST /writes``, parsed once: orjson, then the codec straight to the
    entity, checking what ``WriteBatchIn`` documents (a pydantic model, a dump and the
    codec again cost the hot path three passes)."""
    try:
        return batch_from_json(await request.body())
    except InvalidArgument as exc:
        raise HTTPException(422, exc.message) from None


@router.post("/writes", response_model=WriteAck, openapi_extra=json_body(WriteBatchIn))
def write(
    batch: Annotated[WriteBatch, Depends(_write_batch)],
    store: StoreDep,
    caller: Annotated[Caller, requires("run:write", from_body=True)],
) -> JSON:
    """Apply a batch of writes to runs. Idempotent by ``batch_id``: a replay answers
    ``applied: false`` and writes nothing. Needs ``run:write`` on the project of every
    run it touches (a run it creates: its experiment's)."""
    if not caller.open:
        created = [w.create.experiment_id for w in batch.runs if w.create is not None]
        caller.check_resources("run:write", "experiment", created)
        caller.check_resources("run:write", "run", [w.run_id for w in batch.runs if not w.create])
    applied = store.write(batch)
    return JSON({"batch_id": batch.batch_id, "applied": applied})


@router.post("/runs", response_model=RunPublic, status_code=201)
def create_run(
    body: RunCreateBody,
    store: StoreDep,
    caller: Annotated[Caller, requires("run:write", from_body=True)],
) -> JSON:
    caller.check_resources("run:write", "experiment", [body.experiment_id])
    if body.run_id is not None:
        check_run_id(body.run_id)
    run = store.create_run(
        body.experiment_id,
        run_id=body.run_id,
        run_name=body.run_name,
        start_time=body.start_time,
        tags=body.tags,
        parent_run_id=body.parent_run_id,
        user_id=body.user_id,
    )
    return JSON(run_to_dict(run), status_code=201)


@router.post("/runs/search", response_model=RunPagePublic)
def search_runs(
    body: RunSearch,
    store: StoreDep,
    caller: Annotated[Caller, requires("run:read", from_body=True)],
) -> JSON:
    caller.check_resources("run:read", "experiment", body.experiment_ids)
    page = store.search_runs(
        body.experiment_ids,
        body.filter,
        view=ViewType(body.view),
        max_results=body.max_results,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return JSON(run_page_to_dict(page))


@router.post("/runs/reap", dependencies=[requires("maintenance")], response_model=ReapedRuns)
def reap_lost_runs(body: Reap, store: StoreDep) -> JSON:
    return JSON({"run_ids": store.reap_lost_runs(body.silent_for_ms)})


@router.get("/runs/{run_id}", dependencies=[requires("run:read")], response_model=RunPublic)
def get_run(run_id: str, store: StoreDep) -> JSON:
    return JSON(run_to_dict(store.get_run(run_id)))


@router.patch("/runs/{run_id}", dependencies=[requires("run:write")], response_model=RunInfoPublic)
def update_run(run_id: str, body: RunUpdate, store: StoreDep) -> JSON:
    info = store.update_run(
        run_id,
        status=RunStatus(body.status) if body.status else None,
        end_time=body.end_time,
        run_name=body.run_name,
    )
    return JSON(run_info_to_dict(info))


@router.delete("/runs/{run_id}", dependencies=[requires("run:delete")], status_code=204)
def delete_run(run_id: str, store: StoreDep) -> None:
    store.delete_run(run_id)


@router.post("/runs/{run_id}/restore", dependencies=[requires("run:delete")], status_code=204)
def restore_run(run_id: str, store: StoreDep) -> None:
    store.restore_run(run_id)


@router.delete("/runs/{run_id}/tags", dependencies=[requires("run:write")], status_code=204)
def delete_tag(run_id: str, store: StoreDep, key: str = Query(min_length=1)) -> None:
    store.delete_tag(run_id, key)


@router.get(
    "/runs/{run_id}/metrics/history",
    dependencies=[requires("run:read")],
    response_model=MetricHistoryLine,
    response_class=NDJSON,
    openapi_extra=NDJSON.openapi(MetricHistoryLine),
    response_description="One JSON object a line: the head `{key, total}`, chunks of "
    '`{steps, values, timestamps}` in step order, then `{"done": true, "count": N}` '
    "(N points in all). A stream that ends otherwise was cut short; a line "
    '`{"error": {code, message}}` says why.',
)
def metric_history(
    run_id: str,
    store: StoreDep,
    key: str = Query(min_length=1),
    max_points: int | None = Query(default=None, ge=4, le=1_000_000),
) -> NDJSON:
    """A metric's full series, or with ``max_points`` a downsampled one for charts that
    keeps each bucket's first, last, lowest and highest point. Streamed as it is read, so
    a long series neither waits nor weighs on the server."""
    chunks = store.iter_metric_history(run_id, key, max_points=max_points)
    first = next(chunks)  # no such run: an error status, before the stream starts
    return json_lines(_history_lines(first, chunks))


def _history_lines(
    first: MetricHistory, rest: Generator[MetricHistory, None, None]
) -> Generator[dict[str, Any], None, None]:
    with closing(rest):
        yield history_head_to_dict(first)
        count = len(first)
        if count:
            yield history_chunk_to_dict(first)
        for chunk in rest:
            count += len(chunk)
            yield history_chunk_to_dict(chunk)
        yield stream_end_to_dict(count)
