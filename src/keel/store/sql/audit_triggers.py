"""The database itself keeps the audit log append-only: a trigger refuses any UPDATE or
DELETE of a row of ``audit_log``, on SQLite and on PostgreSQL, whoever connects.

Used by the table definition (a new database) and by migration 0006_audit (an old one),
so both get the same triggers.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

MESSAGE = "audit_log is append-only: its records are never updated or deleted"

SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb.lower()}
BEFORE {verb} ON audit_log
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"""
    for verb in ("UPDATE", "DELETE")
]

POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END $$""",
    # TRUNCATE too: it deletes without firing row triggers.
    """CREATE TRIGGER audit_log_append_only
BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]

DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS audit_log_no_update",
        "DROP TRIGGER IF EXISTS audit_log_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
        "DROP FUNCTION IF EXISTS audit_log_append_only()",
    ],
}


def create_triggers(conn: Connection) -> None:
    for statement in SQLITE if conn.dialect.name == "sqlite" else POSTGRESQL:
        conn.execute(text(statement))


def drop_triggers(conn: Connection) -> None:
    for statement in DROP["sqlite" if conn.dialect.name == "sqlite" else "postgresql"]:
        conn.execute(text(statement))
