"""Applying a :class:`WriteBatch`: validated first, then written in one transaction.

Set-based throughout: one statement per table per batch, whatever the number of runs or
points, so a batch of 100,000 metric points costs a handful of round trips.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

from sqlalchemy import Connection

from keel.entities import LifecycleStage, RunStatus, RunWrite, WriteBatch
from keel.entities.audit import AuditAction, ResourceType
from keel.entities.rules import int_id
from keel.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from keel.store.sql import audit
from keel.store.sql import write_statements as prebuilt
from keel.store.sql.rollups import SeriesColumns, update_rollups
from keel.store.sql.tables import metric_series, params, runs


def dialect_insert(conn: Connection, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    return prebuilt.dialect_insert(conn.dialect.name, table)


def _statements(conn: Connection) -> prebuilt.WriteStatements:
    return prebuilt.write_statements(conn.dialect.name)


def apply_batch(
    conn: Connection,
    batch: WriteBatch,
    *,
    now: int,
    artifact_root_for: Callable[[str, str], str],
    actor: str = "",
    default_actor: str = "anonymous",
) -> bool:
    """Write ``batch`` inside the caller's transaction. Returns False when it was a replay.
    ``artifact_root_for(experiment_id, run_id)``: where a new run's artifacts go when its
    experiment names no artifact location of its own. The runs it creates or ends are
    audited in the same transaction, one statement for all, as ``actor`` (when empty: a
    new run's own user, else ``default_actor``); params and metrics are not audited."""
    claimed = conn.execute(
        _statements(conn).claim_batch, {"batch_id": batch.batch_id, "received_at": now}
    ).first()
    if claimed is None:
        return False
    if not batch.runs:
        return True
    created = [w for w in batch.runs if w.create is not None]
    _create_runs(conn, created, now, artifact_root_for)
    # Runs made by this batch exist, are active and have nothing stored yet.
    new_runs = {w.run_id for w in created}
    existing = [w for w in batch.runs if w.run_id not in new_runs]
    _check_runs_writable(conn, existing)
    _write_params(conn, batch.runs, new_runs)
    _write_tags(conn, batch.runs)
    _write_metrics(conn, batch.runs, new_runs)
    _touch_and_end(conn, batch.runs, existing, now)
    _audit_lifecycle(conn, batch.runs, now, actor, default_actor)
    return True


def _audit_lifecycle(
    conn: Connection, writes: Sequence[RunWrite], now: int, actor: str, default_actor: str
) -> None:
    entries = []
    for w in writes:
        if w.create is not None:
            entries.append(
                audit.Entry(
                    AuditAction.RUN_CREATE,
                    ResourceType.RUN,
                    w.run_id,
                    actor or w.create.user_id or default_actor,
                    now,
                    after={
                        "experiment_id": w.create.experiment_id,
                        "name": w.create.run_name,
                        "parent_run_id": w.create.parent_run_id,
                    },
                )
            )
        if w.end is not None:
            entries.append(
                audit.Entry(
                    AuditAction.RUN_END,
                    ResourceType.RUN,
                    w.run_id,
                    actor or (w.create.user_id if w.create else None) or default_actor,
                    now,
                    after={"status": w.end.status.value, "end_time": w.end.end_time},
                )
            )
    audit.append_many(conn, entries)


def _create_runs(
    conn: Connection,
    writes: Sequence[RunWrite],
    now: int,
    artifact_root_for: Callable[[str, str], str],
) -> None:
    if not writes:
        return
    exp_ids = {int(_experiment_id(w.create.experiment_id)) for w in writes if w.create}
    found: dict[int, tuple[str, str | None]] = {
        exp_id: (stage, location)
        for exp_id, stage, location in conn.execute(
            _statements(conn).experiments, {"ids": list(exp_ids)}
        )
    }
    for exp_id in exp_ids:
        if exp_id not in found:
            raise NotFound(f"experiment {exp_id}: no such experiment")
        if found[exp_id][0] != LifecycleStage.ACTIVE:
            raise InvalidArgument(f"experiment {exp_id}: is deleted; restore it to add runs")
    ids = [w.run_id for w in writes]
    existing = conn.execute(_statements(conn).existing_runs, {"ids": ids}).scalars()
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
                "artifact_uri": (
                    f"{location.rstrip('/')}/{w.run_id}/artifacts"
                    if (location := found[exp_id][1])
                    else artifact_root_for(str(exp_id), w.run_id)
                ),
                "parent_run_id": w.create.parent_run_id,
                "user_id": w.create.user_id,
                "last_heartbeat": now,
            }
        )
    conn.execute(runs.insert(), rows)


def _experiment_id(value: str) -> int:
    found = int_id(value)
    if found is None:
        raise NotFound(f"experiment {value!r}: no such experiment")
    return found


def _check_runs_writable(conn: Connection, writes: Sequence[RunWrite]) -> None:
    ids = [w.run_id for w in writes]
    if not ids:
        return
    # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers): two
    # batches to one run take turns, so each sees the other's params and series rows.
    stages = dict(conn.execute(_statements(conn).writable_runs, {"ids": ids}).all())
    for run_id in ids:
        stage = stages.get(run_id)
        if stage is None:
            raise NotFound(f"run {run_id}: no such run")
        if stage != LifecycleStage.ACTIVE:
            raise InvalidArgument(f"run {run_id}: is deleted; restore it before logging to it")


def _write_params(conn: Connection, writes: Sequence[RunWrite], new_runs: set[str]) -> None:
    wanted = {(w.run_id, k): val for w in writes for k, val in w.params.items()}
    if not wanted:
        return
    run_ids = list({run_id for run_id, _ in wanted if run_id not in new_runs})
    stored: dict[tuple[str, str], str] = {}
    query = _statements(conn).stored_params
    for start in range(0, len(run_ids), 500):
        for run_id, key, value in conn.execute(query, {"ids": run_ids[start : start + 500]}):
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
    conn.execute(_statements(conn).upsert_tags, rows)


def _latest_key(step: int, timestamp: int, value: float | None) -> tuple[int, int, float]:
    # MLflow's rule for "latest": highest step, then timestamp, then value (NaN lowest).
    return step, timestamp, -math.inf if value is None else value


def _group_by_series(writes: Sequence[RunWrite]) -> dict[tuple[str, str], SeriesColumns]:
    """Split each run's metric columns by key; a run logging one key (the usual case)
    keeps its lists as they are."""
    grouped: dict[tuple[str, str], SeriesColumns] = {}
    for w in writes:
        m = w.metrics
        if not m.keys:
            continue
        values: list[float | None]
        if set(map(type, m.values)) == {float} and not math.isnan(sum(m.values)):
            values = m.values  # type: ignore[assignment]  # floats, none NaN: use as they are
        else:
            values = [None if v != v else float(v) for v in m.values]  # NaN is stored as NULL
        first = m.keys[0]
        if m.keys.count(first) == len(m.keys):
            _extend(grouped, (w.run_id, first), (m.steps, m.timestamps, values))
            continue
        for key, step, ts, value in zip(m.keys, m.steps, m.timestamps, values, strict=True):
            cols = grouped.get((w.run_id, key))
            if cols is None:
                cols = grouped[(w.run_id, key)] = ([], [], [])
            cols[0].append(step)
            cols[1].append(ts)
            cols[2].append(value)
    return grouped


def _extend(
    grouped: dict[tuple[str, str], SeriesColumns], pair: tuple[str, str], cols: SeriesColumns
) -> None:
    found = grouped.get(pair)
    if found is None:
        grouped[pair] = (list(cols[0]), list(cols[1]), list(cols[2]))
    else:
        found[0].extend(cols[0])
        found[1].extend(cols[1])
        found[2].extend(cols[2])


def _latest(cols: SeriesColumns) -> tuple[int, int, float | None]:
    """The series' latest point by MLflow's rule, found with C-level scans."""
    steps, timestamps, values = cols
    top = max(steps)
    if steps.count(top) == 1:
        i = steps.index(top)
        return top, timestamps[i], values[i]
    best = max(
        (i for i, step in enumerate(steps) if step == top),
        key=lambda i: _latest_key(top, timestamps[i], values[i]),
    )
    return top, timestamps[best], values[best]


def _write_metrics(conn: Connection, writes: Sequence[RunWrite], new_runs: set[str]) -> None:
    grouped = _group_by_series(writes)
    if not grouped:
        return
    summary = {pair: (*_latest(cols), len(cols[0])) for pair, cols in grouped.items()}
    series_ids = _series_ids(conn, [pair for pair in summary if pair[0] not in new_runs])
    missing = [pair for pair in summary if pair not in series_ids]
    new_series: set[int] = set()
    if missing:
        inserted = conn.execute(
            metric_series.insert().returning(
                metric_series.c.series_id, metric_series.c.run_uuid, metric_series.c.key
            ),
            [
                {
                    "run_uuid": run_id,
                    "key": key,
                    "last_value": summary[(run_id, key)][2],
                    "last_step": summary[(run_id, key)][0],
                    "last_timestamp": summary[(run_id, key)][1],
                    "points": summary[(run_id, key)][3],
                }
                for run_id, key in missing
            ],
        )
        for series_id, run_id, key in inserted:
            series_ids[(run_id, key)] = series_id
            new_series.add(series_id)
    old_points = _advance_series(conn, summary, series_ids, new_series)
    by_id = {series_ids[pair]: cols for pair, cols in grouped.items()}
    _insert_points(conn, by_id, old_points)
    update_rollups(conn, [(sid, cols, old_points.get(sid, 0)) for sid, cols in by_id.items()])


def _series_ids(conn: Connection, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    if not pairs:
        return found
    wanted = set(pairs)
    keys_of: dict[str, set[str]] = {}
    for run_id, key in pairs:
        keys_of.setdefault(run_id, set()).add(key)
    query = _statements(conn).series_ids
    run_ids = list(keys_of)
    for start in range(0, len(run_ids), 400):
        chunk = run_ids[start : start + 400]
        keys = sorted(set().union(*(keys_of[run_id] for run_id in chunk)))
        for key_start in range(0, len(keys), 400):
            found_rows = conn.execute(
                query, {"runs": chunk, "keys": keys[key_start : key_start + 400]}
            )
            for run_id, key, series_id in found_rows:
                if (run_id, key) in wanted:
                    found[(run_id, key)] = series_id
    return found


def _advance_series(
    conn: Connection,
    summary: dict[tuple[str, str], tuple[int, int, float | None, int]],
    series_ids: dict[tuple[str, str], int],
    new_series: set[int],
) -> dict[int, int]:
    """Move each existing series' latest point and count forward (new ones are current).
    Returns each existing series' point count before this batch."""
    summary = {pair: v for pair, v in summary.items() if series_ids[pair] not in new_series}
    if not summary:
        return {}
    ids = [series_ids[pair] for pair in summary]
    current: dict[int, tuple[int, int, float | None]] = {}
    statements = _statements(conn)
    for start in range(0, len(ids), 500):
        for sid, step, ts, value, points in conn.execute(
            statements.series_state, {"ids": ids[start : start + 500]}
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
    conn.execute(statements.advance_series, rows)
    return {sid: int(points) for sid, (_, _, _, points) in current.items()}  # type: ignore[misc]


def _insert_points(
    conn: Connection, by_series: dict[int, SeriesColumns], before: dict[int, int]
) -> None:
    """Insert the points; each gets its ordinal in its series (``seq``), counted on from
    the points the series had (``before``)."""
    rows: list[tuple[int, int, int, int, float | None]] = []
    for sid, (steps, timestamps, values) in by_series.items():
        start = before.get(sid, 0)
        seqs = range(start, start + len(steps))
        rows.extend(zip(repeat(sid), steps, timestamps, seqs, values, strict=False))
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(
            "COPY metric_points (series_id, step, timestamp, seq, value) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.exec_driver_sql(
        "INSERT INTO metric_points (series_id, step, timestamp, seq, value) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def _touch_and_end(
    conn: Connection, writes: Sequence[RunWrite], existing: Sequence[RunWrite], now: int
) -> None:
    """Record that the runs are alive (new runs were created alive) and end those ending,
    in one statement for a run that does both."""
    touched = [w.run_id for w in existing if w.end is None]
    statements = _statements(conn)
    for start in range(0, len(touched), 500):
        conn.execute(statements.touch_runs, {"ids": touched[start : start + 500], "now": now})
    ends = [
        {"rid": w.run_id, "status": w.end.status.value, "end_time": w.end.end_time, "now": now}
        for w in writes
        if w.end is not None
    ]
    if ends:
        conn.execute(statements.end_runs, ends)
