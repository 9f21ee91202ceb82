"""``keel server``"""

from __future__ import annotations

import typer


def server(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(5000, help="Port to listen on."),
    backend_store_uri: str = typer.Option(
        None,
        "--backend-store-uri",
        help="Database for metadata: a folder, sqlite:///FILE or postgresql+psycopg://... "
        "(default: KEEL_TRACKING_URI or the embedded store).",
    ),
    artifacts_uri: str = typer.Option(
        None,
        "--artifacts-uri",
        envvar="KEEL_ARTIFACTS_URI",
        help="Root for artifacts: a folder or an fsspec URL (s3://bucket/prefix).",
    ),
    allowed_hosts: str = typer.Option(
        None,
        "--allowed-hosts",
        envvar="KEEL_ALLOWED_HOSTS",
        help="Comma-separated host names the server answers to (its Host header) and whose "
        "pages may change data, besides localhost, 127.0.0.1, ::1 and the bound address; "
        "'*' for any.",
    ),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    log_level: str = typer.Option("info", help="Server log level."),
    insecure_no_auth: bool = typer.Option(
        False,
        "--insecure-no-auth",
        help="Serve on a non-loopback address although the store has no users "
        "(anyone who reaches it can do anything).",
    ),
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /docs) over a store. Once the store has a
    user, every request needs an API token (Authorization: Bearer)."""
    from keel.server.serve import serve

    serve(
        host=host,
        port=port,
        backend_store_uri=backend_store_uri,
        artifacts_uri=artifacts_uri,
        allowed_hosts=allowed_hosts,
        workers=workers,
        log_level=log_level,
        insecure_no_auth=insecure_no_auth,
    )
