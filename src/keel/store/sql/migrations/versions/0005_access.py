"""Access: principals (users, service accounts), API tokens (hashed), projects, groups
and grants; every experiment, registered model and dataset gets a project (``default``).

Revision ID: 0005_access
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_access"
down_revision = "0004"
branch_labels = None
depends_on = None

NAME = sa.String(64)
PROJECT_OF = ("experiments", "registered_models", "datasets")


def upgrade() -> None:
    op.create_table(
        "principals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", NAME, nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "principal_id",
            sa.Integer,
            sa.ForeignKey("principals.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger),
        sa.Column("revoked_at", sa.BigInteger),
        sa.Column("last_used_at", sa.BigInteger),
    )
    op.create_index("ix_api_tokens_principal", "api_tokens", ["principal_id"])
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", NAME, nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    # The first row: id 1, what every resource's project_id defaults to.
    op.execute(
        "INSERT INTO projects (name, description, created) "
        "VALUES ('default', 'Everything not placed in another project', 0)"
    )
    op.create_table(
        "grants",
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "principal_id",
            sa.Integer,
            sa.ForeignKey("principals.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_grants_principal", "grants", ["principal_id"])
    op.create_table(
        "principal_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", NAME, nullable=False, unique=True),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "group_members",
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey("principal_groups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "principal_id",
            sa.Integer,
            sa.ForeignKey("principals.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_group_members_principal", "group_members", ["principal_id"])
    op.create_table(
        "group_grants",
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey("principal_groups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    # Existing rows take the default (the project above): the backfill is the default.
    for table in PROJECT_OF:
        op.add_column(
            table, sa.Column("project_id", sa.Integer, nullable=False, server_default="1")
        )
        op.create_index(f"ix_{table}_project", table, ["project_id"])


def downgrade() -> None:
    for table in PROJECT_OF:
        op.drop_index(f"ix_{table}_project", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("project_id")
    for name in (
        "group_grants",
        "group_members",
        "principal_groups",
        "grants",
        "projects",
        "api_tokens",
        "principals",
    ):
        op.drop_table(name)
