"""Turning table rows into domain entities, in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from keel.entities import (
    Experiment,
    LifecycleStage,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
from keel.store.sql.tables import experiment_tags, experiments, metric_series, params, runs, tags

NAN = float("nan")

RUN_COLUMNS = (
    runs.c.run_uuid,
    runs.c.experiment_id,
    runs.c.name,
    runs.c.status,
    runs.c.start_time,
    runs.c.end_time,
    runs.c.lifecycle_stage,
    runs.c.artifact_uri,
    runs.c.parent_run_id,
    runs.c.user_id,
    runs.c.last_heartbeat,
)


def run_info(row: Sequence[Any]) -> RunInfo:
    return RunInfo(
        run_id=row[0],
        experiment_id=str(row[1]),
        run_name=row[2],
        status=RunStatus(row[3]),
        start_time=row[4],
        end_time=row[5],
        lifecycle_stage=LifecycleStage(row[6]),
        artifact_uri=row[7],
        parent_run_id=row[8],
        user_id=row[9],
        last_heartbeat=row[10],
    )


def load_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """Load whole runs for ``run_ids``, in that order, with four queries in all."""
    if not run_ids:
        return []
    infos: dict[str, RunInfo] = {}
    for chunk in _chunks(run_ids):
        for row in conn.execute(select(*RUN_COLUMNS).where(runs.c.run_uuid.in_(chunk))):
            infos[row[0]] = run_info(row)
    metrics: dict[str, dict[str, float]] = defaultdict(dict)
    run_params: dict[str, dict[str, str]] = defaultdict(dict)
    run_tags: dict[str, dict[str, str]] = defaultdict(dict)
    for chunk in _chunks(list(infos)):
        query = select(metric_series.c.run_uuid, metric_series.c.key, metric_series.c.last_value)
        for run_id, key, value in conn.execute(query.where(metric_series.c.run_uuid.in_(chunk))):
            metrics[run_id][key] = NAN if value is None else value
        for table, into in ((params, run_params), (tags, run_tags)):
            query = select(table.c.run_uuid, table.c.key, table.c.value)
            for run_id, key, value in conn.execute(query.where(table.c.run_uuid.in_(chunk))):
                into[run_id][key] = value
    return [
        Run(
            info=infos[run_id],
            data=RunData(
                metrics=metrics.get(run_id, {}),
                params=run_params.get(run_id, {}),
                tags=run_tags.get(run_id, {}),
            ),
        )
        for run_id in run_ids
        if run_id in infos
    ]


def load_experiments(conn: Connection, where: Any = None) -> list[Experiment]:
    query = select(experiments).order_by(experiments.c.experiment_id)
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query).all()
    if not rows:
        return []
    ids = [row.experiment_id for row in rows]
    exp_tags: dict[int, dict[str, str]] = defaultdict(dict)
    for chunk in _chunks(ids):
        query = select(experiment_tags).where(experiment_tags.c.experiment_id.in_(chunk))
        for exp_id, key, value in conn.execute(query):
            exp_tags[exp_id][key] = value
    return [
        Experiment(
            experiment_id=str(row.experiment_id),
            name=row.name,
            artifact_location=row.artifact_location,
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            creation_time=row.creation_time,
            last_update_time=row.last_update_time,
            tags=exp_tags.get(row.experiment_id, {}),
        )
        for row in rows
    ]


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
