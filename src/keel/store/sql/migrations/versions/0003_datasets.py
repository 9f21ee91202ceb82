"""Datasets: named datasets, their immutable versions and manifests, and the runs that
used them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME = sa.String(250)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("name", NAME, primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.BigInteger, nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "dataset_versions",
        sa.Column(
            "name", NAME, sa.ForeignKey("datasets.name", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("file_count", sa.BigInteger, nullable=False),
        sa.Column("total_bytes", sa.BigInteger, nullable=False),
        sa.Column("row_count", sa.BigInteger),
        sa.Column("column_count", sa.Integer),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("profile", sa.Text),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=False),
    )
    op.create_index("ix_dataset_versions_digest", "dataset_versions", ["digest"])
    op.create_table(
        "dataset_manifests",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "run_inputs",
        sa.Column(
            "run_uuid",
            sa.String(32),
            sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("context", sa.String(64), primary_key=True),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["dataset_versions.name", "dataset_versions.version"],
            ondelete="CASCADE",
            name="fk_run_inputs_version",
        ),
    )
    op.create_index("ix_run_inputs_version", "run_inputs", ["name", "version"])


def downgrade() -> None:
    for name in ("run_inputs", "dataset_manifests", "dataset_versions", "datasets"):
        op.drop_table(name)
