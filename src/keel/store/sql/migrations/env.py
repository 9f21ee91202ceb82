"""Alembic environment: runs on the connection Keel hands over (see ``migrate.upgrade``)."""

from __future__ import annotations

from alembic import context

from keel.store.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run Keel's migrations with `keel db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
context.run_migrations()
