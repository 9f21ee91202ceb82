"""Deployments: a name that callers send predictions to, its traffic policy, and every
revision of that policy.

- ``deployments``: one row per deployment, its project (``project_id`` as models and
  datasets have it, default project 1), the current policy (JSON) and ``revision``, which
  grows by one at every change (optimistic concurrency: a write naming a stale revision
  is refused).
- ``deployment_revisions``: each revision's policy, what made it (create, traffic,
  promote, rollback), who, when and in which request, so history and rollback are exact.

Revision ID: 0009_deployments
Revises: 0008_project_quota
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_deployments"
down_revision = "0008_project_quota"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("project_id", sa.Integer, nullable=False, server_default="1"),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
    )
    op.create_index("ix_deployments_project", "deployments", ["project_id"])
    op.create_table(
        "deployment_revisions",
        sa.Column(
            "name",
            sa.String(63),
            sa.ForeignKey("deployments.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.String(128)),
    )


def downgrade() -> None:
    op.drop_table("deployment_revisions")
    op.drop_index("ix_deployments_project", table_name="deployments")
    op.drop_table("deployments")
