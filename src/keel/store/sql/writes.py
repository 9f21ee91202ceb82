"""Applying a :class:`WriteBatch`: validated first, then written in one transaction.

Set-based throughout: one statement per table per batch, whatever the number of runs or
points, so a batch of 100,000 metric points costs a handful of round trips.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from keel.entities import LifecycleStage, RunStatus, RunWrite, WriteBatch
from keel.entities import validation as v
from keel.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from keel.store.sql.tables import (
    experiments,
    metric_series,
    params,
    runs,
    tags,
    write_batches,
)


def validate_batch(batch: WriteBatch) -> None:
    """Check every field of a batch; raise before anything is written."""
    if not isinstance(batch.batch_id, str) or not 1 <= len(batch.batch_id) <= 64:
        raise InvalidArgument("batch_id: must be a string of 1 to 64 characters")
    v.check_batch_size(batch.size(), len(batch.runs))
    seen: set[str] = set()
    for write in batch.runs:
        v.check_run_id(write.run_id)
        if write.run_id in seen:
            raise InvalidArgument(f"batch: run {write.run_id} appears more than once")
        seen.add(write.run_id)
        if write.create is not None:
            v.check_name("run_name", write.create.run_name)
            v.check_int("start_time", write.create.start_time)
            if write.create.parent_run_id is not None:
                v.check_run_id(write.create.parent_run_id)
        for key, value in write.params.items():
            v.check_param(key, value)
        for key, value in write.tags.items():
            v.check_tag(key, value)
        m = write.metrics
        if not len(m.keys) == len(m.values) == len(m.timestamps) == len(m.steps):
            raise InvalidArgument("metrics: keys, values, timestamps and steps differ in length")
        for key in set(m.keys):
            v.check_key("metric key", key)
        for i, value in enumerate(m.values):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidArgument(f"metric {m.keys[i]!r} value: must be a number")
        for field, column in (("timestamp", m.timestamps), ("step", m.steps)):
            for i, n in enumerate(column):
                if (
                    isinstance(n, bool)
                    or not isinstance(n, int)
                    or not -v.INT64_MAX <= n <= (v.INT64_MAX)
                ):
                    raise InvalidArgument(f"metric {m.keys[i]!r} {field}: must be a 64-bit integer")
        if write.end is not None:
            if not write.end.status.is_terminal:
                raise InvalidArgument(
                    f"status: a run ends FINISHED, FAILED or KILLED, not {write.end.status}"
                )
            v.check_int("end_time", write.end.end_time)


def dialect_insert(conn: Connection, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    return (sqlite if conn.dialect.name == "sqlite" else postgresql).insert(table)


def apply_batch(conn: Connection, batch: WriteBatch, *, now: int, artifact_root_for: Any) -> bool:
    """Write ``batch`` inside the caller's transaction. Returns False when it was a replay."""
    claimed = conn.execute(
        dialect_insert(conn, write_batches)
        .values(batch_id=batch.batch_id, received_at=now)
        .on_conflict_do_nothing()
        .returning(write_batches.c.batch_id)
    ).first()
    if claimed is None:
        return False
    if not batch.runs:
        return True
    _create_runs(conn, [w for w in batch.runs if w.create is not None], now, artifact_root_for)
    _check_runs_writable(conn, batch.runs)
    _write_params(conn, batch.runs)
    _write_tags(conn, batch.runs)
    _write_metrics(conn, batch.runs)
    _touch_and_end(conn, batch.runs, now)
    return True


def _create_runs(
    conn: Connection, writes: Sequence[RunWrite], now: int, artifact_root_for: Any
) -> None:
    if not writes:
        return
    exp_ids = {int(_experiment_id(w.create.experiment_id)) for w in writes if w.create}
    found = dict(
        conn.execute(
            select(experiments.c.experiment_id, experiments.c.lifecycle_stage).where(
                experiments.c.experiment_id.in_(exp_ids)
            )
        ).all()
    )
    for exp_id in exp_ids:
        if exp_id not in found:
            raise NotFound(f"experiment {exp_id}: no such experiment")
        if found[exp_id] != LifecycleStage.ACTIVE:
            raise InvalidArgument(f"experiment {exp_id}: is deleted; restore it to add runs")
    ids = [w.run_id for w in writes]
    existing = conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid.in_(ids))).scalars()
    for run_id in existing:
        raise AlreadyExists(f"run {run_id}: already exists")
    rows = []
    for w in writes:
        assert w.create is not None
        exp_id = int(_experiment_id(w.create.experiment_id))
        rows.append(
            {
                "run_uuid": w.run_id,
                "experiment_id": exp_id,
                "name": w.create.run_name,
                "status": RunStatus.RUNNING.value,
                "start_time": w.create.start_time,
                "end_time": None,
                "lifecycle_stage": LifecycleStage.ACTIVE.value,
                "artifact_uri": artifact_root_for(str(exp_id), w.run_id),
                "parent_run_id": w.create.parent_run_id,
                "user_id": w.create.user_id,
                "last_heartbeat": now,
            }
        )
    conn.execute(runs.insert(), rows)


def _experiment_id(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound(f"experiment {value!r}: no such experiment") from None


def _check_runs_writable(conn: Connection, writes: Sequence[RunWrite]) -> None:
    ids = [w.run_id for w in writes]
    stages = dict(
        conn.execute(
            select(runs.c.run_uuid, runs.c.lifecycle_stage).where(runs.c.run_uuid.in_(ids))
        ).all()
    )
    for run_id in ids:
        stage = stages.get(run_id)
        if stage is None:
            raise NotFound(f"run {run_id}: no such run")
        if stage != LifecycleStage.ACTIVE:
            raise InvalidArgument(f"run {run_id}: is deleted; restore it before logging to it")


def _write_params(conn: Connection, writes: Sequence[RunWrite]) -> None:
    wanted = {(w.run_id, k): val for w in writes for k, val in w.params.items()}
    if not wanted:
        return
    run_ids = list({run_id for run_id, _ in wanted})
    stored: dict[tuple[str, str], str] = {}
    query = select(params.c.run_uuid, params.c.key, params.c.value)
    for run_id, key, value in conn.execute(query.where(params.c.run_uuid.in_(run_ids))):
        stored[(run_id, key)] = value
    new = []
    for (run_id, key), value in wanted.items():
        old = stored.get((run_id, key))
        if old is None:
            new.append({"run_uuid": run_id, "key": key, "value": value})
        elif old != value:
            raise Conflict(
                f"param {key!r} of run {run_id}: already logged as {old[:100]!r}, cannot "
                f"change to {value[:100]!r} (params are immutable; log a new key or start "
                "a new run)"
            )
    if new:
        conn.execute(params.insert(), new)


def _write_tags(conn: Connection, writes: Sequence[RunWrite]) -> None:
    rows = [
        {"run_uuid": w.run_id, "key": k, "value": val} for w in writes for k, val in w.tags.items()
    ]
    if not rows:
        return
    stmt = dialect_insert(conn, tags)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[tags.c.run_uuid, tags.c.key], set_={"value": stmt.excluded.value}
        ),
        rows,
    )


def _latest_key(step: int, timestamp: int, value: float | None) -> tuple[int, int, float]:
    # MLflow's rule for "latest": highest step, then timestamp, then value (NaN lowest).
    return step, timestamp, -math.inf if value is None else value


def _write_metrics(conn: Connection, writes: Sequence[RunWrite]) -> None:
    # Summarise each (run, key) series in the batch: latest point and point count.
    summary: dict[tuple[str, str], list[Any]] = {}
    for w in writes:
        m = w.metrics
        if not m.keys:
            continue
        run_id = w.run_id
        for key, value, ts, step in zip(m.keys, m.values, m.timestamps, m.steps, strict=True):
            value = None if value != value else float(value)
            entry = summary.get((run_id, key))
            if entry is None:
                summary[(run_id, key)] = [step, ts, value, 1]
            else:
                entry[3] += 1
                if _latest_key(step, ts, value) > _latest_key(entry[0], entry[1], entry[2]):
                    entry[0], entry[1], entry[2] = step, ts, value
    if not summary:
        return
    series_ids = _series_ids(conn, list(summary))
    missing = [pair for pair in summary if pair not in series_ids]
    if missing:
        conn.execute(
            metric_series.insert(),
            [
                {
                    "run_uuid": run_id,
                    "key": key,
                    "last_value": summary[(run_id, key)][2],
                    "last_step": summary[(run_id, key)][0],
                    "last_timestamp": summary[(run_id, key)][1],
                    "points": 0,
                }
                for run_id, key in missing
            ],
        )
        series_ids.update(_series_ids(conn, missing))
    _advance_series(conn, summary, series_ids)
    _insert_points(conn, writes, series_ids)


def _series_ids(conn: Connection, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    cols = (metric_series.c.run_uuid, metric_series.c.key)
    for start in range(0, len(pairs), 400):
        chunk = pairs[start : start + 400]
        query = select(*cols, metric_series.c.series_id).where(tuple_(*cols).in_(chunk))
        for run_id, key, series_id in conn.execute(query):
            found[(run_id, key)] = series_id
    return found


def _advance_series(
    conn: Connection,
    summary: dict[tuple[str, str], list[Any]],
    series_ids: dict[tuple[str, str], int],
) -> None:
    ids = list(series_ids.values())
    current: dict[int, tuple[int, int, float | None]] = {}
    s = metric_series.c
    for start in range(0, len(ids), 500):
        query = select(s.series_id, s.last_step, s.last_timestamp, s.last_value, s.points)
        for sid, step, ts, value, points in conn.execute(
            query.where(s.series_id.in_(ids[start : start + 500]))
        ):
            current[sid] = (step, ts, value, points)  # type: ignore[assignment]
    rows = []
    for pair, (step, ts, value, count) in summary.items():
        sid = series_ids[pair]
        old_step, old_ts, old_value, old_points = current[sid]  # type: ignore[misc]
        if old_points and _latest_key(old_step, old_ts, old_value) >= _latest_key(step, ts, value):
            step, ts, value = old_step, old_ts, old_value
        rows.append(
            {"sid": sid, "step": step, "ts": ts, "value": value, "points": old_points + count}
        )
    from sqlalchemy import bindparam

    conn.execute(
        update(metric_series)
        .where(s.series_id == bindparam("sid"))
        .values(
            last_step=bindparam("step"),
            last_timestamp=bindparam("ts"),
            last_value=bindparam("value"),
            points=bindparam("points"),
        ),
        rows,
    )


def _insert_points(
    conn: Connection, writes: Sequence[RunWrite], series_ids: dict[tuple[str, str], int]
) -> None:
    rows: list[tuple[int, int, int, float | None]] = []
    for w in writes:
        m = w.metrics
        if not m.keys:
            continue
        run_id = w.run_id
        ids = {key: series_ids[(run_id, key)] for key in set(m.keys)}
        rows.extend(
            (ids[key], step, ts, None if value != value else float(value))
            for key, value, ts, step in zip(m.keys, m.values, m.timestamps, m.steps, strict=True)
        )
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(
            "COPY metric_points (series_id, step, timestamp, value) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.exec_driver_sql(
        "INSERT INTO metric_points (series_id, step, timestamp, value) VALUES (?, ?, ?, ?)",
        rows,  # type: ignore[arg-type]
    )


def _touch_and_end(conn: Connection, writes: Sequence[RunWrite], now: int) -> None:
    conn.execute(
        update(runs)
        .where(runs.c.run_uuid.in_([w.run_id for w in writes]))
        .values(last_heartbeat=now)
    )
    for w in writes:
        if w.end is not None:
            conn.execute(
                update(runs)
                .where(runs.c.run_uuid == w.run_id)
                .values(status=w.end.status.value, end_time=w.end.end_time)
            )
