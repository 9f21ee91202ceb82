"""Model registry: registered models and their tags, versions and their tags, aliases,
alias policies, check results, promotion requests and the audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MODEL_NAME = sa.String(250)
ALIAS = sa.String(64)
KEY = sa.String(250)


def _model_fk() -> sa.ForeignKey:
    return sa.ForeignKey("registered_models.name", ondelete="CASCADE")


def _version_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        ondelete="CASCADE",
        name=name,
    )


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("name", MODEL_NAME, primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("name", MODEL_NAME, _model_fk(), primary_key=True),
        sa.Column("key", KEY, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("name", MODEL_NAME, _model_fk(), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(160), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("signature", sa.Text),
        sa.Column("parent_version", sa.Integer),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
    )
    op.create_index("ix_model_versions_run", "model_versions", ["run_id"])
    op.create_table(
        "model_version_tags",
        sa.Column("name", MODEL_NAME, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", KEY, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        _version_fk("fk_model_version_tags_version"),
    )
    op.create_table(
        "model_aliases",
        sa.Column("name", MODEL_NAME, primary_key=True),
        sa.Column("alias", ALIAS, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        _version_fk("fk_model_aliases_version"),
    )
    op.create_table(
        "alias_policy_checks",
        sa.Column("name", MODEL_NAME, _model_fk(), primary_key=True),
        sa.Column("alias", ALIAS, primary_key=True),
        sa.Column("check_name", KEY, primary_key=True),
    )
    op.create_table(
        "check_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", MODEL_NAME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("check_name", KEY, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("details", sa.Text),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
        _version_fk("fk_check_results_version"),
    )
    op.create_index(
        "ix_check_results_version_check",
        "check_results",
        ["name", "version", "check_name", "id"],
    )
    op.create_table(
        "promotion_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", MODEL_NAME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("alias", ALIAS, nullable=False),
        sa.Column("requested_by", sa.String(250), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(250)),
        sa.Column("comment", sa.Text),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("decided", sa.BigInteger),
        _version_fk("fk_promotion_requests_version"),
    )
    op.create_index("ix_promotion_requests_name_state", "promotion_requests", ["name", "state"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("model_name", MODEL_NAME, nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("alias", ALIAS),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
    )
    op.create_index("ix_audit_log_model", "audit_log", ["model_name", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    for name in (
        "audit_log",
        "promotion_requests",
        "check_results",
        "alias_policy_checks",
        "model_aliases",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
    ):
        op.drop_table(name)
