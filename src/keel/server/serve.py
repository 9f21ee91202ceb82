"""Start ``keel server``: migrate once, then uvicorn with N workers."""

from __future__ import annotations

import os

from keel.config import Settings


def serve(
    *,
    host: str,
    port: int,
    backend_store_uri: str | None,
    artifacts_uri: str | None,
    workers: int,
    log_level: str = "info",
) -> None:
    import uvicorn

    from keel.server.app import require_database
    from keel.store import open_store
    from keel.uri import absolute_location

    settings = Settings.from_env()
    uri = backend_store_uri or settings.tracking_uri or str(settings.home)
    # Refuse a non-database URI here, once: in the workers it would crash each one.
    require_database(uri)
    # Workers re-read these through Settings.from_env(), the one place env is read.
    os.environ["KEEL_TRACKING_URI"] = uri
    if artifacts_uri:  # absolute: workers and every later start read the same folder
        os.environ["KEEL_ARTIFACTS_URI"] = absolute_location(artifacts_uri)
    settings = Settings.from_env()
    open_store(uri, settings).close()  # apply migrations once, before workers start
    uvicorn.run(
        "keel.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
