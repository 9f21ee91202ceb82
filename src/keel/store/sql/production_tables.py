"""Tables of what runs in production: deployments and their revisions, monitors, their
results, the alerts they raise and the events pipelines follow. Defined on the one
``metadata`` (:mod:`keel.store.sql.schema_metadata`); :mod:`keel.store.sql.tables`
imports this module, so every schema built from ``metadata`` has them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from keel.store.sql.schema_metadata import metadata

# monitors (keel.monitoring) ------------------------------------------------------------

monitors = Table(
    "monitors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("deployment", String(63), nullable=False),
    Column("reference", Text, nullable=False),
    Column("every_seconds", Integer, nullable=False),
    Column("window_seconds", Integer, nullable=False),
    # JSON: the columns watched (NULL: all), per-column tests, alert rules, channels.
    Column("columns", Text),
    Column("tests", Text, nullable=False),
    Column("rules", Text, nullable=False),
    Column("channels", Text, nullable=False),
    # The reference's statistics, computed once at the first run (JSON).
    Column("reference_profile", Text),
    # classifier or regressor: each window is also scored against its labels.
    Column("performance", String(16)),
    Column("alert_states", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=False),
    Column("next_run_at", BigInteger, nullable=False),
    Column("last_window_end", BigInteger),
    # A replica running the monitor holds it until then; another may take it after.
    Column("claimed_until", BigInteger, nullable=False, server_default="0"),
    Index("ix_monitors_next_run_at", "next_run_at"),
)

monitor_results = Table(
    "monitor_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("monitor_id", Integer, ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("window_end", BigInteger, nullable=False),
    # NULL: the dataset's row (share of drifted columns in ``score``).
    Column("column_name", String(250)),
    Column("test", String(32)),
    Column("score", Float),
    Column("threshold", Float),
    Column("drifted", Boolean, nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("no_data", Boolean, nullable=False),
    Index("ix_monitor_results_series", "monitor_id", "column_name", "window_end"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("monitor_id", Integer, ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("dedup_key", String(250), nullable=False, unique=True),
    Column("fired_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger),
    Column("notified_at", BigInteger),
    Column("notifications", Integer, nullable=False),
    Column("last_error", Text),
    Index("ix_alerts_monitor_status", "monitor_id", "status"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", String(250), nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_events_kind_id", "kind", "id"),
)


# deployments (keel.deployments) --------------------------------------------------------
# A deployment's name is a DNS-1123 label (lowercase ASCII), so the name is its own key:
# no two names differ only by case or Unicode form.

DEPLOYMENT_NAME = String(63)

deployments = Table(
    "deployments",
    metadata,
    Column("name", DEPLOYMENT_NAME, primary_key=True),
    Column("project_id", Integer, nullable=False, server_default="1"),
    Column("policy", Text, nullable=False),  # the current revision's policy, JSON
    # Grows by one at every change; a write naming the revision it read is refused
    # (Conflict) when another landed in between.
    Column("revision", Integer, nullable=False),
    Column("description", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=False),
    Index("ix_deployments_project", "project_id"),
)

deployment_revisions = Table(
    "deployment_revisions",
    metadata,
    Column(
        "name",
        DEPLOYMENT_NAME,
        ForeignKey("deployments.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("policy", Text, nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor", String(250), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("request_id", String(128)),
)
