"""Entities to and from plain JSON-ready dicts: the shape they take on the wire and in the
client's spool files.

JSON has no NaN or Infinity, so non-finite floats travel as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` and come back as the same floats.
"""

from __future__ import annotations

import math
from typing import Any

from keel.entities.experiment import Experiment, LifecycleStage
from keel.entities.metric import MetricHistory
from keel.entities.run import FileInfo, Run, RunData, RunInfo, RunPage, RunStatus
from keel.entities.write import MetricColumns, RunCreate, RunEnd, RunWrite, WriteBatch
from keel.errors import InvalidArgument

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_float(x: float) -> float | str:
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


def encode_floats(values: list[float]) -> list[float | str]:
    isfinite = math.isfinite
    # NaN and infinities make the sum non-finite (so can an overflow: then look closer).
    if isfinite(sum(values)) or all(isfinite(x) for x in values):
        return values  # type: ignore[return-value]
    return [x if isfinite(x) else encode_float(x) for x in values]


def decode_float(x: Any, field: str = "value") -> float:
    if isinstance(x, bool):
        raise InvalidArgument(f"{field}: must be a number, got {x!r}")
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str) and x in _NON_FINITE:
        return _NON_FINITE[x]
    raise InvalidArgument(f"{field}: must be a number or NaN/Infinity/-Infinity, got {x!r}")


def decode_floats(values: list[Any], field: str = "value") -> list[float]:
    if set(map(type, values)) <= {float}:
        return values
    return [x if type(x) is float else decode_float(x, field) for x in values]


# experiments ---------------------------------------------------------------------------


def experiment_to_dict(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage.value,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": e.tags,
    }


def experiment_from_dict(d: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=str(d["experiment_id"]),
        name=d["name"],
        artifact_location=d["artifact_location"],
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
        creation_time=d["creation_time"],
        last_update_time=d["last_update_time"],
        tags=dict(d.get("tags") or {}),
    )


# runs ----------------------------------------------------------------------------------


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


# metric history ------------------------------------------------------------------------


def history_to_dict(h: MetricHistory) -> dict[str, Any]:
    return {
        "key": h.key,
        "total": h.total,
        "steps": h.steps,
        "values": encode_floats(h.values),
        "timestamps": h.timestamps,
    }


def history_from_dict(d: dict[str, Any]) -> MetricHistory:
    return MetricHistory(
        d["key"], d["steps"], decode_floats(d["values"]), d["timestamps"], total=d["total"]
    )


# A streamed history is one JSON object a line: a head ``{"key", "total"}``, then chunks
# ``{"steps", "values", "timestamps"}`` in step order, then ``{"done": true, "count": N}``
# where N is how many points the chunks held. A stream without that last line, or one
# whose count disagrees, was cut short; a line ``{"error": {"code", "message"}}`` says why.


def history_head_to_dict(h: MetricHistory) -> dict[str, Any]:
    return {"key": h.key, "total": h.total}


def history_chunk_to_dict(h: MetricHistory) -> dict[str, Any]:
    return {"steps": h.steps, "values": encode_floats(h.values), "timestamps": h.timestamps}


def history_chunk_from_dict(d: dict[str, Any], key: str, total: int) -> MetricHistory:
    return MetricHistory(key, d["steps"], decode_floats(d["values"]), d["timestamps"], total=total)


def stream_end_to_dict(count: int) -> dict[str, Any]:
    return {"done": True, "count": count}


# write batches -------------------------------------------------------------------------


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


# artifacts -----------------------------------------------------------------------------


def file_info_to_dict(f: FileInfo) -> dict[str, Any]:
    return {"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size, "digest": f.digest}


def file_info_from_dict(d: dict[str, Any]) -> FileInfo:
    return FileInfo(d["path"], bool(d["is_dir"]), d.get("file_size"), d.get("digest"))
