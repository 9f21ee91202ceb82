"""The SQL tracking store: SQLite (embedded default) and PostgreSQL through SQLAlchemy 2."""
