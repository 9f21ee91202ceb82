"""Database tables (SQLAlchemy Core). Domain entities and wire schemas live elsewhere.

Metric points are stored by series: ``metric_series`` holds one row per (run, key) with the
latest point (what search filters and orders on), ``metric_points`` the full history keyed
by the series id, so each point row is five numbers rather than two repeated strings.
A NaN metric value is stored as NULL (SQLite cannot store NaN); nothing else is NULL there.

The indexes follow the searches (``search.py``): runs newest first within an experiment and
stage, in exactly the default order; each metric's latest values (scanned either way, so
one index serves both directions); and the first ``VALUE_PREFIX`` characters of param and
tag values by key, for equality and prefix ``LIKE`` (the whole value would exceed
PostgreSQL's limit on an index entry: tag values may be 64 KiB). On PostgreSQL that index
uses ``text_pattern_ops``, which ``LIKE 'prefix%'`` can use whatever the collation, and
the pair (key, value prefix) has extended statistics.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    literal_column,
)

from keel.store.sql.schema_metadata import metadata

RUN_ID = String(32)
KEY = String(250)
VALUE_PREFIX = 256
"""Characters of a param or tag value that its index holds (4 bytes each at most)."""


def value_prefix(column: Column[str]) -> Any:
    """The indexed prefix of a param or tag value, as the index and the searches spell it
    (with literal numbers: an expression with bound ones would not match the index)."""
    return func.substr(column, literal_column("1"), literal_column(str(VALUE_PREFIX)))


def _key_value_index(name: str, table: Table) -> Index:
    # PostgreSQL estimates a (key, value) condition as if key and value were independent,
    # and so expects 'model = rf' to be ten times rarer than it is; statistics on the pair
    # (their most common combinations) correct that. SQLite has nothing like them.
    statistics = DDL(
        f"CREATE STATISTICS st_{table.name}_key_value (mcv) "
        f"ON key, substr(value, 1, {VALUE_PREFIX}) FROM {table.name}"
    )
    event.listen(table, "after_create", statistics.execute_if(dialect="postgresql"))
    return Index(
        name,
        table.c.key,
        value_prefix(table.c.value).label("value_prefix"),
        postgresql_ops={"value_prefix": "text_pattern_ops"},
    )


experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(16), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Column("project_id", Integer, nullable=False, server_default="1"),
    Index("ix_experiments_project", "project_id"),
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
    Index("ix_runs_status_heartbeat", "status", "last_heartbeat"),
    Index("ix_runs_parent", "parent_run_id"),
)
# A search's default order (newest first, then run id), so a page is a range of it.
Index(
    "ix_runs_experiment_stage_start",
    runs.c.experiment_id,
    runs.c.lifecycle_stage,
    runs.c.start_time.desc(),
    runs.c.run_uuid,
)

params = Table(
    "params",
    metadata,
    Column("run_uuid", RUN_ID, ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
)
_key_value_index("ix_params_key_value", params)

tags = Table(
    "tags",
    metadata,
    Column("run_uuid", RUN_ID, ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
)
_key_value_index("ix_tags_key_value", tags)

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


# model registry --------------------------------------------------------------------------
# Keyed by model name (no renames). Versions point at runs by id without a foreign key:
# a model outlives the housekeeping of the runs that made it. The audit log has no foreign
# keys at all, so it outlives the models it speaks of.

MODEL_NAME = String(250)
ALIAS = String(64)


def _model_fk() -> ForeignKey:
    return ForeignKey("registered_models.name", ondelete="CASCADE")


def _version_fk(name: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        ondelete="CASCADE",
        name=name,
    )


registered_models = Table(
    "registered_models",
    metadata,
    Column("name", MODEL_NAME, primary_key=True),
    Column("description", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    # The number the last version got; bumped under the model's row lock.
    Column("last_version", Integer, nullable=False),
    Column("project_id", Integer, nullable=False, server_default="1"),
    Index("ix_registered_models_project", "project_id"),
    # The name compared (NFKC, case folded): 'Fraud' and 'fraud' are one model.
    Column("name_key", String(250)),
    Index("ux_registered_models_name_key", "name_key", unique=True),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("name", MODEL_NAME, _model_fk(), primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", MODEL_NAME, _model_fk(), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("source", Text, nullable=False),
    Column("run_id", RUN_ID, nullable=False),
    Column("content_hash", String(160), nullable=False),
    Column("status", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("signature", Text),
    Column("parent_version", Integer),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=False),
    Index("ix_model_versions_run", "run_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", MODEL_NAME, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("key", KEY, primary_key=True),
    Column("value", Text, nullable=False),
    _version_fk("fk_model_version_tags_version"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", MODEL_NAME, primary_key=True),
    Column("alias", ALIAS, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated", BigInteger, nullable=False),
    _version_fk("fk_model_aliases_version"),
)

alias_policy_checks = Table(
    "alias_policy_checks",
    metadata,
    Column("name", MODEL_NAME, _model_fk(), primary_key=True),
    Column("alias", ALIAS, primary_key=True),
    Column("check_name", KEY, primary_key=True),
)

check_results = Table(
    "check_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", MODEL_NAME, nullable=False),
    Column("version", Integer, nullable=False),
    Column("check_name", KEY, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("details", Text),
    Column("created", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=False),
    _version_fk("fk_check_results_version"),
    Index("ix_check_results_version_check", "name", "version", "check_name", "id"),
)

promotion_requests = Table(
    "promotion_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", MODEL_NAME, nullable=False),
    Column("version", Integer, nullable=False),
    Column("alias", ALIAS, nullable=False),
    Column("requested_by", String(250), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reviewer", String(250)),
    Column("comment", Text),
    Column("created", BigInteger, nullable=False),
    Column("decided", BigInteger),
    # Set on approving a version for an alias guarded by a policy: the digest reviewed.
    Column("approved_digest", String(200)),
    _version_fk("fk_promotion_requests_version"),
    Index("ix_promotion_requests_name_state", "name", "state"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(250), nullable=False),
    Column("action", String(32), nullable=False),
    Column("resource_type", String(16), nullable=False),
    # A model's or dataset's name, an experiment's or run's id.
    Column("resource", String(250), nullable=False),
    Column("version", Integer),
    Column("alias", ALIAS),
    Column("before", Text),
    Column("after", Text),
    Column("request_id", String(128)),
    Index("ix_audit_log_resource", "resource_type", "resource", "id"),
    Index("ix_audit_log_at", "at"),
)


@event.listens_for(audit_log, "after_create")
def _append_only(target: Any, connection: Any, **kw: Any) -> None:
    from keel.store.sql.audit_triggers import create_triggers

    create_triggers(connection)


__all__ = [
    "alias_policy_checks",
    "artifacts",
    "audit_log",
    "check_results",
    "experiment_tags",
    "experiments",
    "metadata",
    "metric_points",
    "metric_rollups",
    "metric_series",
    "model_aliases",
    "model_version_tags",
    "model_versions",
    "params",
    "promotion_requests",
    "registered_model_tags",
    "registered_models",
    "runs",
    "tags",
    "write_batches",
]

# datasets (keel.data) ------------------------------------------------------------------

DATASET_NAME = String(250)

datasets = Table(
    "datasets",
    metadata,
    Column("name", DATASET_NAME, primary_key=True),
    Column("description", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("last_version", Integer, nullable=False),
    Column("project_id", Integer, nullable=False, server_default="1"),
    Index("ix_datasets_project", "project_id"),
    Column("name_key", String(250)),  # as registered_models.name_key
    Index("ux_datasets_name_key", "name_key", unique=True),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("name", DATASET_NAME, ForeignKey("datasets.name", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("file_count", BigInteger, nullable=False),
    Column("total_bytes", BigInteger, nullable=False),
    Column("row_count", BigInteger),
    Column("column_count", Integer),
    Column("source", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("profile", Text),
    Column("created", BigInteger, nullable=False),
    Column("created_by", String(250), nullable=False),
    Index("ix_dataset_versions_digest", "digest"),
)

dataset_manifests = Table(
    "dataset_manifests",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("body", LargeBinary, nullable=False),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_uuid", RUN_ID, ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("name", DATASET_NAME, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("context", String(64), primary_key=True),
    Column("created", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"],
        ["dataset_versions.name", "dataset_versions.version"],
        ondelete="CASCADE",
        name="fk_run_inputs_version",
    ),
    Index("ix_run_inputs_version", "name", "version"),
)


# access (keel.access) ------------------------------------------------------------------
# A resource's project_id (experiments, registered_models, datasets) has no foreign key:
# SQLite cannot add a column with one to a table in place, and a project is never
# deleted while anything names it (the access store refuses).

PRINCIPAL_NAME = String(64)

principals = Table(
    "principals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # NFKC, lower case (keel.entities.access.canonical_name): unique as people read it.
    Column("name", PRINCIPAL_NAME, nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    # SHA-256 of the whole token: enough for 256 random bits (no password to guess).
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "principal_id",
        Integer,
        ForeignKey("principals.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(250), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
    Column("revoked_at", BigInteger),
    Column("last_used_at", BigInteger),
    Index("ix_api_tokens_principal", "principal_id"),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", PRINCIPAL_NAME, nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    # Bytes its uploads may hold (NULL: no limit), and the bytes they hold: run artifacts
    # and dataset objects, counted in the transaction that records each upload.
    Column("quota_bytes", BigInteger),
    Column("used_bytes", BigInteger, nullable=False, server_default="0"),
)
# The default project exists in every schema, as the migration makes it.
event.listen(
    projects,
    "after_create",
    DDL(
        # No explicit id: PostgreSQL's sequence would not know it was taken. The first
        # row is id 1, which every resource's project_id defaults to.
        "INSERT INTO projects (name, description, created) "
        "VALUES ('default', 'Everything not placed in another project', 0)"
    ),
)

grants = Table(
    "grants",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "principal_id", Integer, ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("role", String(16), nullable=False),
    Column("created", BigInteger, nullable=False),
    Index("ix_grants_principal", "principal_id"),
)

principal_groups = Table(
    "principal_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", PRINCIPAL_NAME, nullable=False, unique=True),
    Column("created", BigInteger, nullable=False),
)

group_members = Table(
    "group_members",
    metadata,
    Column(
        "group_id", Integer, ForeignKey("principal_groups.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "principal_id", Integer, ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    ),
    Index("ix_group_members_principal", "principal_id"),
)

group_grants = Table(
    "group_grants",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "group_id", Integer, ForeignKey("principal_groups.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("role", String(16), nullable=False),
    Column("created", BigInteger, nullable=False),
)


# Deployments and monitors are defined on the same metadata in a module of their own;
# importing it here puts them in every schema built from ``metadata``.
import keel.store.sql.production_tables  # noqa: E402, F401
