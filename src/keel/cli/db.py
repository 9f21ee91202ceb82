"""``keel db``: schema management."""

from __future__ import annotations

import typer

from keel.cli.output import TrackingUri

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(tracking_uri: str = TrackingUri) -> None:
    """Apply pending migrations to a SQL store (idempotent)."""
    from keel.config import Settings
    from keel.errors import InvalidArgument
    from keel.store.sql.engine import make_engine
    from keel.store.sql.migrate import HEAD_REVISION
    from keel.store.sql.migrate import upgrade as run_upgrade
    from keel.uri import StoreKind, resolve_tracking_uri

    settings = Settings.from_env()
    target = resolve_tracking_uri(tracking_uri or settings.tracking_uri or str(settings.home))
    if target.kind is not StoreKind.SQL:
        raise InvalidArgument(
            "tracking URI: `keel db upgrade` runs against a database, not a server"
        )
    engine = make_engine(target.uri)
    try:
        before = run_upgrade(engine)
    finally:
        engine.dispose()
    if before == HEAD_REVISION:
        typer.echo(f"schema already at revision {HEAD_REVISION}")
    else:
        typer.echo(f"schema upgraded from {before or 'empty'} to {HEAD_REVISION}")
