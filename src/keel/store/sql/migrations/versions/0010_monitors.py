"""Monitors: a deployment's prediction log compared with a reference on a schedule; their
results as time series (one row per window and column), the alerts their rules raise, and
an append-only table of events (alerts firing and resolving) that pipelines trigger on.

Revision ID: 0010_monitors
Revises: 0009_deployments
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_monitors"
down_revision = "0009_deployments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column("deployment", sa.String(63), nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("every_seconds", sa.Integer, nullable=False),
        sa.Column("window_seconds", sa.Integer, nullable=False),
        sa.Column("columns", sa.Text),
        sa.Column("tests", sa.Text, nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("channels", sa.Text, nullable=False),
        sa.Column("reference_profile", sa.Text),
        sa.Column("performance", sa.String(16)),
        sa.Column("alert_states", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
        sa.Column("next_run_at", sa.BigInteger, nullable=False),
        sa.Column("last_window_end", sa.BigInteger),
        sa.Column("claimed_until", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_monitors_next_run_at", "monitors", ["next_run_at"])
    op.create_table(
        "monitor_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "monitor_id",
            sa.Integer,
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("column_name", sa.String(250)),
        sa.Column("test", sa.String(32)),
        sa.Column("score", sa.Float),
        sa.Column("threshold", sa.Float),
        sa.Column("drifted", sa.Boolean, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("no_data", sa.Boolean, nullable=False),
    )
    op.create_index(
        "ix_monitor_results_series",
        "monitor_results",
        ["monitor_id", "column_name", "window_end"],
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "monitor_id",
            sa.Integer,
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("dedup_key", sa.String(250), nullable=False, unique=True),
        sa.Column("fired_at", sa.BigInteger, nullable=False),
        sa.Column("resolved_at", sa.BigInteger),
        sa.Column("notified_at", sa.BigInteger),
        sa.Column("notifications", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_alerts_monitor_status", "alerts", ["monitor_id", "status"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("ix_events_kind_id", "events", ["kind", "id"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("alerts")
    op.drop_table("monitor_results")
    op.drop_table("monitors")
