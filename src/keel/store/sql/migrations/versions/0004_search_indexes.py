"""Search indexes: runs in the default search order, param and tag values by key; metric
rollups at every third level.

- ``ix_runs_experiment_stage_start`` (experiment, stage, start time descending, run id)
  replaces ``ix_runs_experiment_start``: a default-ordered page is one range of it.
- ``ix_params_key_value`` and ``ix_tags_key_value`` index the first 256 characters of a
  value by key (``text_pattern_ops`` on PostgreSQL, so ``LIKE 'prefix%'`` can use it);
  on PostgreSQL, extended statistics on the pair (``st_params_key_value``, ...).
- Rollup levels 9, 15 and 18 are derived from the stored levels 6 and 12, so a
  downsampled history can read a level whose bucket count is near the points wanted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

VALUE_PREFIX = 256
# (new level, the stored level it is derived from)
DERIVED_LEVELS = ((9, 6), (15, 12), (18, 12))


def _key_value_index(name: str, table: str) -> None:
    prefix = sa.func.substr(sa.column("value"), 1, VALUE_PREFIX).label("value_prefix")
    op.create_index(
        name,
        table,
        [sa.column("key"), prefix],
        postgresql_ops={"value_prefix": "text_pattern_ops"},
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE STATISTICS st_{table}_key_value (mcv) "
            f"ON key, substr(value, 1, {VALUE_PREFIX}) FROM {table}"
        )


def upgrade() -> None:
    op.drop_index("ix_runs_experiment_start", table_name="runs")
    op.create_index(
        "ix_runs_experiment_stage_start",
        "runs",
        ["experiment_id", "lifecycle_stage", sa.text("start_time DESC"), "run_uuid"],
    )
    _key_value_index("ix_params_key_value", "params")
    _key_value_index("ix_tags_key_value", "tags")
    for level, source in DERIVED_LEVELS:
        op.execute(_derive_level_sql(level, source))


def _derive_level_sql(level: int, source: int) -> str:
    """Coarser rollups from a stored level: per coarse bucket, the points summed and the
    lowest and highest point of its fine buckets (the earliest step among equals)."""
    shift = level - source
    return f"""
INSERT INTO metric_rollups (series_id, level, bucket, points, min_value, min_step,
    min_timestamp, max_value, max_step, max_timestamp)
SELECT c.series_id, {level}, c.coarse, c.points, lo.min_value, lo.min_step,
    lo.min_timestamp, hi.max_value, hi.max_step, hi.max_timestamp
FROM (
    SELECT series_id, {_floor_div("bucket", 1 << shift)} AS coarse, SUM(points) AS points
    FROM metric_rollups WHERE level = {source}
    GROUP BY series_id, {_floor_div("bucket", 1 << shift)}
) c
LEFT JOIN (
    SELECT series_id, coarse, min_value, min_step, min_timestamp FROM (
        SELECT series_id, min_value, min_step, min_timestamp,
            {_floor_div("bucket", 1 << shift)} AS coarse,
            ROW_NUMBER() OVER (
                PARTITION BY series_id, {_floor_div("bucket", 1 << shift)}
                ORDER BY min_value, min_step
            ) AS pick
        FROM metric_rollups WHERE level = {source} AND min_value IS NOT NULL
    ) ranked WHERE pick = 1
) lo ON lo.series_id = c.series_id AND lo.coarse = c.coarse
LEFT JOIN (
    SELECT series_id, coarse, max_value, max_step, max_timestamp FROM (
        SELECT series_id, max_value, max_step, max_timestamp,
            {_floor_div("bucket", 1 << shift)} AS coarse,
            ROW_NUMBER() OVER (
                PARTITION BY series_id, {_floor_div("bucket", 1 << shift)}
                ORDER BY max_value DESC, max_step
            ) AS pick
        FROM metric_rollups WHERE level = {source} AND max_value IS NOT NULL
    ) ranked WHERE pick = 1
) hi ON hi.series_id = c.series_id AND hi.coarse = c.coarse
"""


def _floor_div(column: str, divisor: int) -> str:
    """``column >> shift`` as both databases agree: integer division rounds toward zero,
    so negative buckets take the other branch."""
    return (
        f"CASE WHEN {column} >= 0 THEN {column} / {divisor} "
        f"ELSE -((-{column} - 1) / {divisor}) - 1 END"
    )


def downgrade() -> None:
    op.execute("DELETE FROM metric_rollups WHERE level IN (9, 15, 18)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_params_key_value, st_tags_key_value")
    op.drop_index("ix_tags_key_value", table_name="tags")
    op.drop_index("ix_params_key_value", table_name="params")
    op.drop_index("ix_runs_experiment_stage_start", table_name="runs")
    op.create_index(
        "ix_runs_experiment_start", "runs", ["experiment_id", "lifecycle_stage", "start_time"]
    )
