"""Write batches on the wire: ``POST /api/v1/writes``, and the client's spool files.

A batch carries every write from a client (creating runs, logging params, tags and
metrics, heartbeats, ending runs) and is applied atomically; see
:class:`keel.entities.write.WriteBatch`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field, StrictInt

from keel.entities.rules import MAX_BATCH_RUNS
from keel.entities.run import RunStatus
from keel.entities.write import MetricColumns, RunCreate, RunEnd, RunWrite, WriteBatch
from keel.errors import InvalidArgument
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
    end_time: StrictInt


class RunWriteIn(Strict):
    run_id: str
    create: RunCreateIn | None = None
    params: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: MetricColumnsIn | None = None
    heartbeat: StrictInt | None = None
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


def batch_from_json(body: bytes) -> WriteBatch:
    """A batch from its JSON text, in one pass: orjson, then the checks the schemas above
    document (this, not pydantic, is how the server reads ``POST /api/v1/writes``)."""
    try:
        found = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"body: not valid JSON ({exc})") from None
    return batch_from_dict(found)


def batch_from_dict(d: Any) -> WriteBatch:
    """A batch from its JSON-ready dict, as strict as :class:`WriteBatchIn`: a key it does
    not declare, a JSON ``true`` or a number in a string where a number belongs, or an int
    written as a float, is refused naming the field (``runs.0.metrics.steps.3: ...``)."""
    _fields(d, "body", _BATCH, _BATCH)
    batch_id = d["batch_id"]
    if type(batch_id) is not str:
        raise _wrong("batch_id", "a string", batch_id)
    if not 1 <= len(batch_id) <= 64:
        raise InvalidArgument(f"batch_id: must be 1 to 64 characters, got {len(batch_id)}")
    runs = d["runs"]
    if type(runs) is not list:
        raise _wrong("runs", "a list", runs)
    return WriteBatch(batch_id, [run_write_from_dict(w, f"runs.{i}") for i, w in enumerate(runs)])


def run_write_from_dict(d: Any, where: str = "run") -> RunWrite:
    _fields(d, where, _RUN_WRITE, ("run_id",))
    create = d.get("create")
    metrics = d.get("metrics")
    heartbeat = d.get("heartbeat")
    end = d.get("end")
    return RunWrite(
        run_id=_str(d["run_id"], f"{where}.run_id"),
        create=None if create is None else _create(create, f"{where}.create"),
        params=_strings(d["params"], f"{where}.params") if "params" in d else {},
        tags=_strings(d["tags"], f"{where}.tags") if "tags" in d else {},
        metrics=MetricColumns() if metrics is None else _columns(metrics, f"{where}.metrics"),
        heartbeat=None if heartbeat is None else _int(heartbeat, f"{where}.heartbeat"),
        end=None if end is None else _end(end, f"{where}.end"),
    )


_BATCH = frozenset(WriteBatchIn.model_fields)
_RUN_WRITE = frozenset(RunWriteIn.model_fields)
_CREATE = frozenset(RunCreateIn.model_fields)
_METRICS = frozenset(MetricColumnsIn.model_fields)
_END = frozenset(RunEndIn.model_fields)
_END_STATUSES = {s.value: s for s in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)}


def _create(d: Any, where: str) -> RunCreate:
    _fields(d, where, _CREATE, ("experiment_id", "run_name", "start_time"))
    parent, user = d.get("parent_run_id"), d.get("user_id")
    return RunCreate(
        experiment_id=_str(d["experiment_id"], f"{where}.experiment_id"),
        run_name=_str(d["run_name"], f"{where}.run_name"),
        start_time=_int(d["start_time"], f"{where}.start_time"),
        parent_run_id=None if parent is None else _str(parent, f"{where}.parent_run_id"),
        user_id=None if user is None else _str(user, f"{where}.user_id"),
    )


def _columns(d: Any, where: str) -> MetricColumns:
    _fields(d, where, _METRICS, _METRICS)
    keys = _list(d["keys"], f"{where}.keys", str, "a string")
    values = decode_floats(_list(d["values"], f"{where}.values"), f"{where}.values")
    timestamps = _list(d["timestamps"], f"{where}.timestamps", int, "an integer")
    steps = _list(d["steps"], f"{where}.steps", int, "an integer")
    return MetricColumns(keys, values, timestamps, steps)


def _end(d: Any, where: str) -> RunEnd:
    _fields(d, where, _END, _END)
    status = _END_STATUSES.get(d["status"]) if type(d["status"]) is str else None
    if status is None:
        raise _wrong(f"{where}.status", "one of FINISHED, FAILED, KILLED", d["status"])
    return RunEnd(status, _int(d["end_time"], f"{where}.end_time"))


def _fields(d: Any, where: str, allowed: frozenset[str], required: Iterable[str]) -> None:
    """``d`` is an object with every ``required`` key and no key but the ``allowed``."""
    if type(d) is not dict:
        raise _wrong(where, "an object", d)
    inside = "" if where == "body" else f"{where}."
    if not d.keys() <= allowed:
        extra = min(d.keys() - allowed)
        expected = ", ".join(sorted(allowed))
        raise InvalidArgument(f"{inside}{extra}: not a field here (expected {expected})")
    for name in required:
        if name not in d:
            raise InvalidArgument(f"{inside}{name}: required")


def _str(value: Any, where: str) -> str:
    if type(value) is not str:
        raise _wrong(where, "a string", value)
    return value


def _int(value: Any, where: str) -> int:
    # type(), not isinstance(): a JSON true is a bool, which Python counts as an int.
    if type(value) is not int:
        raise _wrong(where, "an integer", value)
    return value


def _strings(value: Any, where: str) -> dict[str, str]:
    if type(value) is not dict:
        raise _wrong(where, "an object of strings", value)
    if not set(map(type, value.values())) <= {str}:
        key, bad = next((k, v) for k, v in value.items() if type(v) is not str)
        raise _wrong(f"{where}.{key}", "a string", bad)
    return value


def _list(value: Any, where: str, item: type | None = None, what: str = "") -> list[Any]:
    """``value`` if it is a list (of ``item``s exactly, when given)."""
    if type(value) is not list:
        raise _wrong(where, "a list", value)
    if item is not None and not set(map(type, value)) <= {item}:
        i, bad = next((i, x) for i, x in enumerate(value) if type(x) is not item)
        raise _wrong(f"{where}.{i}", what, bad)
    return value


def _wrong(where: str, what: str, value: Any) -> InvalidArgument:
    shown = repr(value)
    if len(shown) > 60:
        shown = f"{shown[:57]}..."
    return InvalidArgument(f"{where}: must be {what}, got {shown}")
