"""The statements a write batch runs, built once per dialect.

Building a SQLAlchemy statement (``in_``, ``on_conflict_do_update``, ``returning``) costs
more than running it on a small batch; every list goes in as an expanding parameter, so
each statement is built and compiled once and reused by every batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, update

from keel.store.sql.tables import experiments, metric_series, params, runs, tags, write_batches


def dialect_insert(dialect: str, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL (each dialect
    imported when first used: an embedded store never loads PostgreSQL's)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(table)


@dataclass(frozen=True, slots=True)
class WriteStatements:
    claim_batch: Any
    """Record a batch id (``batch_id``, ``received_at``); returns a row unless a replay."""
    experiments: Any
    """Stage and artifact location of experiments ``ids``."""
    existing_runs: Any
    """Which of the run ids ``ids`` exist."""
    writable_runs: Any
    """Stage of runs ``ids``, locked for the batch (FOR UPDATE on PostgreSQL)."""
    stored_params: Any
    """Params of runs ``ids``."""
    upsert_tags: Any
    series_ids: Any
    """Series ids of the runs ``runs`` and keys ``keys`` (every pair of the two)."""
    series_state: Any
    """Latest point and count of series ``ids``."""
    advance_series: Any
    touch_runs: Any
    """Heartbeat ``now`` on runs ``ids``."""
    end_runs: Any


@cache
def write_statements(dialect: str) -> WriteStatements:
    ids: Any = bindparam("ids", expanding=True)
    tag_insert = dialect_insert(dialect, tags)
    s = metric_series.c
    return WriteStatements(
        claim_batch=dialect_insert(dialect, write_batches)
        .values(batch_id=bindparam("batch_id"), received_at=bindparam("received_at"))
        .on_conflict_do_nothing()
        .returning(write_batches.c.batch_id),
        experiments=select(
            experiments.c.experiment_id,
            experiments.c.lifecycle_stage,
            experiments.c.artifact_location,
        ).where(experiments.c.experiment_id.in_(ids)),
        existing_runs=select(runs.c.run_uuid).where(runs.c.run_uuid.in_(ids)),
        writable_runs=select(runs.c.run_uuid, runs.c.lifecycle_stage)
        .where(runs.c.run_uuid.in_(ids))
        .order_by(runs.c.run_uuid)
        .with_for_update(),
        stored_params=select(params.c.run_uuid, params.c.key, params.c.value).where(
            params.c.run_uuid.in_(ids)
        ),
        upsert_tags=tag_insert.on_conflict_do_update(
            index_elements=[tags.c.run_uuid, tags.c.key], set_={"value": tag_insert.excluded.value}
        ),
        # Not `(run_uuid, key) IN ((?, ?), ...)`: SQLite scans the whole table for a list of
        # two or more row values. Two IN lists use the unique index; extra pairs are dropped.
        series_ids=select(s.run_uuid, s.key, s.series_id).where(
            s.run_uuid.in_(bindparam("runs", expanding=True)),
            s.key.in_(bindparam("keys", expanding=True)),
        ),
        series_state=select(
            s.series_id, s.last_step, s.last_timestamp, s.last_value, s.points
        ).where(s.series_id.in_(ids)),
        advance_series=update(metric_series)
        .where(s.series_id == bindparam("sid"))
        .values(
            last_step=bindparam("step"),
            last_timestamp=bindparam("ts"),
            last_value=bindparam("value"),
            points=bindparam("points"),
        ),
        touch_runs=update(runs)
        .where(runs.c.run_uuid.in_(ids))
        .values(last_heartbeat=bindparam("now")),
        end_runs=update(runs)
        .where(runs.c.run_uuid == bindparam("rid"))
        .values(
            status=bindparam("status"),
            end_time=bindparam("end_time"),
            last_heartbeat=bindparam("now"),
        ),
    )
