"""Initial tracking schema: experiments, runs, params, tags, metric series and points,
artifact records and write batches.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RUN_ID = sa.String(32)
KEY = sa.String(250)


def _run_fk() -> sa.ForeignKey:
    return sa.ForeignKey("runs.run_uuid", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(250), nullable=False, unique=True),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "experiment_tags",
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", KEY, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", RUN_ID, primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("artifact_uri", sa.Text, nullable=False),
        sa.Column("parent_run_id", RUN_ID),
        sa.Column("user_id", sa.String(250)),
        sa.Column("last_heartbeat", sa.BigInteger),
    )
    op.create_index(
        "ix_runs_experiment_start", "runs", ["experiment_id", "lifecycle_stage", "start_time"]
    )
    op.create_index("ix_runs_status_heartbeat", "runs", ["status", "last_heartbeat"])
    op.create_index("ix_runs_parent", "runs", ["parent_run_id"])
    for name in ("params", "tags"):
        op.create_table(
            name,
            sa.Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
            sa.Column("key", KEY, primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    op.create_table(
        "metric_series",
        sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_uuid", RUN_ID, _run_fk(), nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("last_value", sa.Float),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("last_timestamp", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("run_uuid", "key", name="uq_metric_series_run_key"),
    )
    op.create_index("ix_metric_series_key_value", "metric_series", ["key", "last_value"])
    op.create_table(
        "metric_points",
        sa.Column(
            "series_id",
            sa.Integer,
            sa.ForeignKey("metric_series.series_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("step", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("timestamp", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("value", sa.Float),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "metric_rollups",
        sa.Column(
            "series_id",
            sa.Integer,
            sa.ForeignKey("metric_series.series_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("bucket", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("min_value", sa.Float),
        sa.Column("min_step", sa.BigInteger),
        sa.Column("min_timestamp", sa.BigInteger),
        sa.Column("max_value", sa.Float),
        sa.Column("max_step", sa.BigInteger),
        sa.Column("max_timestamp", sa.BigInteger),
    )
    op.create_table(
        "artifacts",
        sa.Column("run_uuid", RUN_ID, _run_fk(), primary_key=True),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "write_batches",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "write_batches",
        "artifacts",
        "metric_rollups",
        "metric_points",
        "metric_series",
        "tags",
        "params",
        "runs",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(name)
