"""Write batches on the wire: ``POST /api/v1/writes``, and the client's spool files.

A batch carries every write from a client (creating runs, logging params, tags and
metrics, heartbeats, ending runs) and is applied atomically; see
:class:`keel.entities.write.WriteBatch`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictInt

from keel.entities.rules import MAX_BATCH_RUNS
from keel.entities.run import RunStatus
from keel.entities.write import MetricColumns, RunCreate, RunEnd, RunWrite, WriteBatch
from keel.wire.base import Strict
from keel.wire.numbers import Number, decode_floats, encode_floats


class MetricColumnsIn(Strict):
    keys: list[str]
    values: list[Number]
    timestamps: list[StrictInt]
    steps: list[StrictInt]


class RunCreateIn(Strict):
    experiment_id: str
    run_name: str
    start_time: StrictInt
    parent_run_id: str | None = None
    user_id: str | None = None


class RunEndIn(Strict):
    status: Literal["FINISHED", "FAILED", "KILLED"]
    end_time: int


class RunWriteIn(Strict):
    run_id: str
    create: RunCreateIn | None = None
    params: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: MetricColumnsIn | None = None
    heartbeat: int | None = None
    end: RunEndIn | None = None


class WriteBatchIn(Strict):
    """Writes to one or more runs, applied atomically. Replaying a ``batch_id`` the server
    has applied before is acknowledged without writing twice."""

    batch_id: str = Field(min_length=1, max_length=64)
    runs: list[RunWriteIn] = Field(
        description=f"At most {MAX_BATCH_RUNS} runs and 100,000 rows in all (else 413)."
    )


class WriteAck(BaseModel):
    batch_id: str
    applied: bool


def batch_to_dict(b: WriteBatch) -> dict[str, Any]:
    return {"batch_id": b.batch_id, "runs": [run_write_to_dict(w) for w in b.runs]}


def run_write_to_dict(w: RunWrite) -> dict[str, Any]:
    out: dict[str, Any] = {"run_id": w.run_id}
    if w.create is not None:
        c = w.create
        out["create"] = {
            "experiment_id": c.experiment_id,
            "run_name": c.run_name,
            "start_time": c.start_time,
            "parent_run_id": c.parent_run_id,
            "user_id": c.user_id,
        }
    if w.params:
        out["params"] = w.params
    if w.tags:
        out["tags"] = w.tags
    if len(w.metrics):
        m = w.metrics
        out["metrics"] = {
            "keys": m.keys,
            "values": encode_floats(m.values),
            "timestamps": m.timestamps,
            "steps": m.steps,
        }
    if w.heartbeat is not None:
        out["heartbeat"] = w.heartbeat
    if w.end is not None:
        out["end"] = {"status": w.end.status.value, "end_time": w.end.end_time}
    return out


def batch_from_dict(d: dict[str, Any]) -> WriteBatch:
    return WriteBatch(d["batch_id"], [run_write_from_dict(w) for w in d.get("runs") or []])


def run_write_from_dict(d: dict[str, Any]) -> RunWrite:
    create = d.get("create")
    metrics = d.get("metrics")
    end = d.get("end")
    return RunWrite(
        run_id=d["run_id"],
        create=RunCreate(**create) if create else None,
        params=dict(d.get("params") or {}),
        tags=dict(d.get("tags") or {}),
        metrics=MetricColumns(
            list(metrics["keys"]),
            decode_floats(list(metrics["values"])),
            list(metrics["timestamps"]),
            list(metrics["steps"]),
        )
        if metrics
        else MetricColumns(),
        heartbeat=d.get("heartbeat"),
        end=RunEnd(RunStatus(end["status"]), end["end_time"]) if end else None,
    )
