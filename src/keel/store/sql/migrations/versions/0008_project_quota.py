"""Per-project storage quotas: ``projects.quota_bytes`` (NULL: no limit) and
``projects.used_bytes``, the bytes of run artifacts and dataset objects uploaded to the
project, kept up to date by the transaction that records each upload (never a scan per
upload). The upgrade counts what the artifacts table records already, once.

Revision ID: 0008_project_quota
Revises: 0007_name_keys
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_project_quota"
down_revision = "0007_name_keys"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both engines (SQLite 3.35+ drops columns too): a batch rebuild
# of ``projects`` would cascade-delete its grants on SQLite.
def upgrade() -> None:
    op.add_column("projects", sa.Column("quota_bytes", sa.BigInteger))
    op.add_column(
        "projects", sa.Column("used_bytes", sa.BigInteger, nullable=False, server_default="0")
    )
    op.execute(
        "UPDATE projects SET used_bytes = COALESCE((SELECT SUM(artifacts.size) FROM artifacts "
        "JOIN runs ON runs.run_uuid = artifacts.run_uuid "
        "JOIN experiments ON experiments.experiment_id = runs.experiment_id "
        "WHERE experiments.project_id = projects.id), 0)"
    )


def downgrade() -> None:
    op.drop_column("projects", "used_bytes")
    op.drop_column("projects", "quota_bytes")
