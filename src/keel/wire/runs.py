"""Runs on the wire: ``/api/v1/runs`` (creating one now, reading, updating, searching,
reaping). Writes to runs travel in batches (``writes``); histories stream (``history``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from keel.entities.experiment import LifecycleStage
from keel.entities.run import Run, RunData, RunInfo, RunPage, RunStatus
from keel.wire.base import Count, Millis, Strict
from keel.wire.numbers import Number, decode_float, encode_float


class RunCreateBody(Strict):
    experiment_id: str
    run_id: str | None = None
    run_name: str | None = None
    start_time: Millis | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    parent_run_id: str | None = None
    user_id: str | None = None


class RunUpdate(Strict):
    status: Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] | None = None
    end_time: Millis | None = None
    run_name: str | None = None


class RunInfoPublic(BaseModel):
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    parent_run_id: str | None
    user_id: str | None
    last_heartbeat: int | None


class RunDataPublic(BaseModel):
    metrics: dict[str, Number]
    params: dict[str, str]
    tags: dict[str, str]


class RunPublic(BaseModel):
    info: RunInfoPublic
    data: RunDataPublic


class RunSearch(Strict):
    experiment_ids: list[str] = Field(min_length=1)
    filter: str | None = None
    view: Literal["active", "deleted", "all"] = "active"
    max_results: Count = 1000
    order_by: list[str] | None = None
    page_token: str | None = None


class RunPagePublic(BaseModel):
    runs: list[RunPublic]
    next_page_token: str | None


class Reap(Strict):
    silent_for_ms: Millis = Field(gt=0)


class ReapedRuns(BaseModel):
    run_ids: list[str]


def run_info_to_dict(i: RunInfo) -> dict[str, Any]:
    return {
        "run_id": i.run_id,
        "experiment_id": i.experiment_id,
        "run_name": i.run_name,
        "status": i.status.value,
        "start_time": i.start_time,
        "end_time": i.end_time,
        "lifecycle_stage": i.lifecycle_stage.value,
        "artifact_uri": i.artifact_uri,
        "parent_run_id": i.parent_run_id,
        "user_id": i.user_id,
        "last_heartbeat": i.last_heartbeat,
    }


def run_info_from_dict(d: dict[str, Any]) -> RunInfo:
    return RunInfo(
        run_id=d["run_id"],
        experiment_id=str(d["experiment_id"]),
        run_name=d["run_name"],
        status=RunStatus(d["status"]),
        start_time=d["start_time"],
        end_time=d.get("end_time"),
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
        artifact_uri=d["artifact_uri"],
        parent_run_id=d.get("parent_run_id"),
        user_id=d.get("user_id"),
        last_heartbeat=d.get("last_heartbeat"),
    )


def run_to_dict(r: Run) -> dict[str, Any]:
    return {
        "info": run_info_to_dict(r.info),
        "data": {
            "metrics": {k: encode_float(val) for k, val in r.data.metrics.items()},
            "params": r.data.params,
            "tags": r.data.tags,
        },
    }


def run_from_dict(d: dict[str, Any]) -> Run:
    data = d.get("data") or {}
    return Run(
        info=run_info_from_dict(d["info"]),
        data=RunData(
            metrics={k: decode_float(val) for k, val in (data.get("metrics") or {}).items()},
            params=dict(data.get("params") or {}),
            tags=dict(data.get("tags") or {}),
        ),
    )


def run_page_to_dict(page: RunPage) -> dict[str, Any]:
    return {"runs": [run_to_dict(r) for r in page.runs], "next_page_token": page.next_page_token}


def run_page_from_dict(d: dict[str, Any]) -> RunPage:
    return RunPage([run_from_dict(r) for r in d["runs"]], d.get("next_page_token"))
