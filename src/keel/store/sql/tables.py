"""Database tables (SQLAlchemy Core). Domain entities and wire schemas live elsewhere.

Metric points are stored by series: ``metric_series`` holds one row per (run, key) with the
latest point (what search filters and orders on), ``metric_points`` the full history keyed
by the series id, so each point row is five numbers rather than two repeated strings.
A NaN metric value is stored as NULL (SQLite cannot store NaN); nothing else is NULL there.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

RUN_ID = String(32)
KEY = String(250)

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(16), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", RUN_ID, primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(250), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger),
    Column("lifecycle_stage", String(16), nullable=False),
    Column("artifact_uri", Text, nullable=False),
    Column("parent_run_id", RUN_ID),
    Column("user_id", String(250)),
    Column("last_heartbeat", BigInteger),
    Index("ix_runs_experiment_start", "experiment_id", "lifecycle_stage", "start_time"),
    Index("ix_runs_status_heartbeat", "status", "last_heartbeat"),
    Index("ix_runs_parent", "parent_run_id"),
)

params = Table(
    "params",
    metadata,
    Column("run_uuid", RUN_ID, ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("run_uuid", RUN_ID, ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
)

metric_series = Table(
    "metric_series",
    metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=True),
    Column("run_uuid", RUN_ID, ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", KEY, nullable=False),
    Column("last_value", Float),
    Column("last_step", BigInteger, nullable=False),
    Column("last_timestamp", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    UniqueConstraint("run_uuid", "key", name="uq_metric_series_run_key"),
    Index("ix_metric_series_key_value", "key", "last_value"),
)

metric_points = Table(
    "metric_points",
    metadata,
    Column(
        "series_id",
        Integer,
        ForeignKey("metric_series.series_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("step", BigInteger, primary_key=True, autoincrement=False),
    Column("timestamp", BigInteger, primary_key=True, autoincrement=False),
    # The point's ordinal within its series: keeps equal (step, timestamp) points apart.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("value", Float),
    # SQLite keeps the rows in key order: one b-tree, no separate index to maintain.
    sqlite_with_rowid=False,
)

metric_rollups = Table(
    "metric_rollups",
    metadata,
    Column(
        "series_id",
        Integer,
        ForeignKey("metric_series.series_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("bucket", BigInteger, primary_key=True, autoincrement=False),
    Column("points", BigInteger, nullable=False),
    Column("min_value", Float),
    Column("min_step", BigInteger),
    Column("min_timestamp", BigInteger),
    Column("max_value", Float),
    Column("max_step", BigInteger),
    Column("max_timestamp", BigInteger),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_uuid", RUN_ID, ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("path", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
)

write_batches = Table(
    "write_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("received_at", BigInteger, nullable=False),
)

__all__ = [
    "artifacts",
    "experiment_tags",
    "experiments",
    "metadata",
    "metric_points",
    "metric_rollups",
    "metric_series",
    "params",
    "runs",
    "tags",
    "write_batches",
]
