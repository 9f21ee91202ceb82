"""Name keys: registered models and datasets whose names differ only by case or Unicode
form are one name.

Adds ``name_key`` (the name in NFKC, case folded; see ``keel.entities.rules.name_key``)
to ``registered_models`` and ``datasets`` with a unique index on each, so that 'Fraud'
cannot be created beside 'fraud' by any writer, however concurrent. Existing rows get
their key; where two existing names already share one (made before this rule), the
oldest keeps it and the others get a key of their own that no new name can take (it
holds a control character), so nothing stored is lost or renamed.

Revision ID: 0007_name_keys
Revises: 0004 (on main: re-chain onto its newest revision)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from keel.entities.rules import name_key

revision = "0007_name_keys"
down_revision = "0006_audit"
branch_labels = None
depends_on = None

TABLES = ("registered_models", "datasets")


def upgrade() -> None:
    conn = op.get_bind()
    for table in TABLES:
        op.add_column(table, sa.Column("name_key", sa.String(250), nullable=True))
        rows = conn.execute(sa.text(f"SELECT name FROM {table} ORDER BY created, name")).all()
        taken: set[str] = set()
        for (name,) in rows:
            key = name_key(name)
            if key in taken:
                key = f"{key}\x1f{name}"
            taken.add(key)
            conn.execute(
                sa.text(f"UPDATE {table} SET name_key = :key WHERE name = :name"),
                {"key": key, "name": name},
            )
        op.create_index(f"ux_{table}_name_key", table, ["name_key"], unique=True)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ux_{table}_name_key", table_name=table)
        op.drop_column(table, "name_key")
