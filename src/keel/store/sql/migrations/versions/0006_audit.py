"""One audit log for every store, append-only in the database; approved digests.

- ``audit_log`` names its resource by type and name (``resource_type``, ``resource``;
  the registry's records so far become ``model``/<model name>) and keeps the request id a
  server passed on (``request_id``). Rebuilt with its rows copied, as SQLite cannot
  rename or retype a column in place.
- Triggers refuse UPDATE and DELETE of audit rows (and TRUNCATE on PostgreSQL).
- ``promotion_requests.approved_digest``: the digest a reviewer approved for an alias
  guarded by a policy, which trust by review is granted to.

Revision ID: 0006_audit
Revises: 0004 (the lead re-chains it after 0005_access on merge)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from keel.store.sql.audit_triggers import create_triggers, drop_triggers

revision = "0006_audit"
down_revision = "0005_access"
branch_labels = None
depends_on = None


def _audit_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(16), nullable=False),
        sa.Column("resource", sa.String(250), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("alias", sa.String(64)),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
        sa.Column("request_id", sa.String(128)),
    )


def upgrade() -> None:
    _audit_table("audit_log_new")
    op.execute(
        "INSERT INTO audit_log_new (id, at, actor, action, resource_type, resource, version, "
        "alias, before, after) SELECT id, at, actor, action, 'model', model_name, version, "
        "alias, before, after FROM audit_log"
    )
    op.drop_index("ix_audit_log_model", "audit_log")
    op.drop_index("ix_audit_log_at", "audit_log")
    op.drop_table("audit_log")
    op.rename_table("audit_log_new", "audit_log")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # The copied ids came with their values; the sequence follows them.
        op.execute("ALTER SEQUENCE audit_log_new_id_seq RENAME TO audit_log_id_seq")
        op.execute(
            "SELECT setval('audit_log_id_seq', COALESCE((SELECT MAX(id) FROM audit_log), 0) + 1, "
            "false)"
        )
        op.execute("ALTER INDEX audit_log_new_pkey RENAME TO audit_log_pkey")
    op.create_index("ix_audit_log_resource", "audit_log", ["resource_type", "resource", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    create_triggers(bind)
    op.add_column("promotion_requests", sa.Column("approved_digest", sa.String(200)))


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_column("promotion_requests", "approved_digest")
    drop_triggers(bind)
    # The records of other resources have no place in the registry-only log: they go.
    op.create_table(
        "audit_log_old",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(250), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(250), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("alias", sa.String(64)),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
    )
    op.execute(
        "INSERT INTO audit_log_old (id, at, actor, action, model_name, version, alias, before, "
        "after) SELECT id, at, actor, action, resource, version, alias, before, after "
        "FROM audit_log WHERE resource_type = 'model'"
    )
    op.drop_index("ix_audit_log_resource", "audit_log")
    op.drop_index("ix_audit_log_at", "audit_log")
    op.drop_table("audit_log")
    op.rename_table("audit_log_old", "audit_log")
    if bind.dialect.name == "postgresql":
        op.execute("ALTER SEQUENCE audit_log_old_id_seq RENAME TO audit_log_id_seq")
        op.execute("ALTER INDEX audit_log_old_pkey RENAME TO audit_log_pkey")
    op.create_index("ix_audit_log_model", "audit_log", ["model_name", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
