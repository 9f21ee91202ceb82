"""``/api/v1/monitors``, ``/api/v1/alerts``, ``/api/v1/events``: monitors the server keeps
and runs on their schedule, their results as time series, the alerts they raised and the
events (alerts firing and resolving) a pipeline can follow by id.

Everything a body says is checked by the same service the Python API uses on a local
store (``keel.monitoring.service``); channel secrets are never answered back. A monitor,
its results, alerts and events are shown only to a caller who may also read the
deployment it watches (on that deployment's project), and made only by one who may read
what it compares.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keel.entities.monitor import Monitor, result_row_to_dict
from keel.monitoring.service import LocalMonitors
from keel.server.auth import Caller, requires
from keel.server.responses import JSON
from keel.uri import parse_model_uri

router = APIRouter(tags=["monitors"])


class MonitorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    deployment: str
    reference: str = Field(
        description="datasets:/<name>@<version>, window:<start>/<end> or file:<path>"
    )
    every: str | int = Field("1h", description="15m, 1h, 7d or seconds")
    window: str | int | None = None
    columns: list[str] | None = None
    tests: dict[str, str] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    channels: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    performance: Literal["classifier", "regressor"] | None = None


def _monitors(request: Request, caller: Caller) -> LocalMonitors:
    state = request.app.state
    return LocalMonitors(
        state.monitor_store,
        state.monitor_sources,
        state.settings,
        actor=caller.name,
        deployments=state.monitor_deployments,
    )


@router.post("/monitors", status_code=201)
async def create_monitor(
    body: MonitorIn, request: Request, caller: Annotated[Caller, requires("monitor:write")]
) -> JSON:
    monitors = _monitors(request, caller)
    await run_in_threadpool(_check_reads, caller, body)
    created = await run_in_threadpool(
        lambda: monitors.create(
            body.name,
            deployment=body.deployment,
            reference=body.reference,
            every=body.every,
            window=body.window,
            columns=body.columns,
            tests=body.tests,
            rules=body.rules,
            channels=body.channels,
            performance=body.performance,
        )
    )
    return JSON(created.to_dict(), status_code=201)


def _check_reads(caller: Caller, body: MonitorIn) -> None:
    """A monitor reads its deployment's log and its reference, and its results (drift
    statistics) are shown to whoever may read monitors: its creator must be able to read
    each of them, on their own projects."""
    caller.check_deployment("deployment:read", body.deployment)
    reference = body.reference
    if reference.startswith("datasets:/"):
        name = reference[len("datasets:/") :].rpartition("@")[0]
        caller.check_resources("dataset:read", "dataset", [name])
    elif reference.startswith("models:/"):
        caller.check_resources("model:read", "model", [parse_model_uri(reference).name])


def _watched(caller: Caller, monitors: LocalMonitors, name: str) -> Monitor:
    """The monitor ``name``, when the caller may read the deployment it watches (its
    results are statistics of that deployment's log). Blocking."""
    found = monitors.get(name)
    caller.check_deployment("deployment:read", found.spec.deployment)
    return found


def _visible(caller: Caller, monitors: LocalMonitors) -> list[Monitor]:
    """The monitors of deployments the caller may read. Blocking."""
    found = monitors.list_monitors()
    return caller.visible("deployment:read", "deployment", found, lambda m: m.spec.deployment)


@router.get("/monitors")
async def list_monitors(
    request: Request, caller: Annotated[Caller, requires("monitor:read")]
) -> JSON:
    found = await run_in_threadpool(lambda: _visible(caller, _monitors(request, caller)))
    return JSON({"monitors": [m.to_dict() for m in found]})


@router.get("/monitors/{name}")
async def get_monitor(
    name: str, request: Request, caller: Annotated[Caller, requires("monitor:read")]
) -> JSON:
    found = await run_in_threadpool(_watched, caller, _monitors(request, caller), name)
    return JSON(found.to_dict())


@router.delete("/monitors/{name}")
async def delete_monitor(
    name: str, request: Request, caller: Annotated[Caller, requires("monitor:write")]
) -> JSON:
    monitors = _monitors(request, caller)
    await run_in_threadpool(_watched, caller, monitors, name)
    await run_in_threadpool(monitors.delete, name)
    return JSON({})


@router.post("/monitors/{name}/run")
async def run_monitor(
    name: str, request: Request, caller: Annotated[Caller, requires("monitor:write")]
) -> JSON:
    """Run now, whatever the schedule (409 while another run holds it)."""
    monitors = _monitors(request, caller)
    await run_in_threadpool(_watched, caller, monitors, name)
    outcome = await run_in_threadpool(monitors.run, name)
    return JSON(outcome.to_dict())


@router.get("/monitors/{name}/results")
async def monitor_results(
    name: str,
    request: Request,
    caller: Annotated[Caller, requires("monitor:read")],
    since: int | None = None,
    column: str | None = None,
    limit: Annotated[int, Field(ge=1, le=10_000)] = 1000,
) -> JSON:
    """Result rows oldest first: one per window and column, and the dataset's (``column``
    null; ``column=""`` asks for those alone)."""
    monitors = _monitors(request, caller)
    await run_in_threadpool(_watched, caller, monitors, name)
    rows = await run_in_threadpool(
        lambda: monitors.results(name, since=since, column=column, limit=limit)
    )
    return JSON({"results": [result_row_to_dict(r) for r in rows]})


@router.get("/alerts")
async def list_alerts(
    request: Request,
    caller: Annotated[Caller, requires("monitor:read")],
    monitor: str | None = None,
    status: Literal["firing", "resolved"] | None = None,
) -> JSON:
    monitors = _monitors(request, caller)

    def visible_alerts() -> list[Any]:
        found = monitors.alerts(monitor, status)
        if caller.open:
            return found
        watching = {m.name for m in _visible(caller, monitors)}
        return [a for a in found if a.monitor in watching]

    found = await run_in_threadpool(visible_alerts)
    return JSON({"alerts": [a.to_dict() for a in found]})


@router.get("/events")
async def list_events(
    request: Request,
    caller: Annotated[Caller, requires("monitor:read")],
    after: Annotated[int, Field(ge=0)] = 0,
    kind: Literal["alert.firing", "alert.resolved"] | None = None,
    limit: Annotated[int, Field(ge=1, le=1000)] = 100,
) -> JSON:
    """Events after the id ``after``, oldest first: a follower keeps the last id it saw."""
    found = await run_in_threadpool(
        lambda: caller.visible(
            "deployment:read",
            "deployment",
            _monitors(request, caller).events(after_id=after, kind=kind, limit=limit),
            lambda e: e.payload.get("deployment"),
        )
    )
    return JSON({"events": [e.to_dict() for e in found]})
