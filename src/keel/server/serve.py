"""Start ``keel server``: migrate once, then uvicorn with N workers."""

from __future__ import annotations

import os

from keel.access.exposure import is_loopback, refuse_open_exposure
from keel.config import Settings

__all__ = ["host_allow_list", "is_loopback", "refuse_open_exposure", "serve"]


def serve(
    *,
    host: str,
    port: int,
    backend_store_uri: str | None,
    artifacts_uri: str | None,
    workers: int,
    allowed_hosts: str | None = None,
    log_level: str = "info",
    insecure_no_auth: bool = False,
) -> None:
    import uvicorn

    from keel.server.app import require_database
    from keel.server.auth import rate_limit
    from keel.store import open_backend
    from keel.uri import absolute_location

    settings = Settings.from_env()
    uri = backend_store_uri or settings.tracking_uri or str(settings.home)
    # Refuse a non-database URI (or a rate limit that does not parse) here, once: in the
    # workers it would crash each one.
    require_database(uri)
    rate_limit(settings.rate_limit)
    # Workers re-read these through Settings.from_env(), the one place env is read.
    os.environ["KEEL_TRACKING_URI"] = uri
    if artifacts_uri:  # absolute: workers and every later start read the same folder
        os.environ["KEEL_ARTIFACTS_URI"] = absolute_location(artifacts_uri)
    os.environ["KEEL_ALLOWED_HOSTS"] = ",".join(host_allow_list(allowed_hosts, host))
    settings = Settings.from_env()
    with open_backend(uri, settings) as backend:  # migrate once, before workers start
        has_users = backend.access.has_principals()
    refuse_open_exposure(host, has_users=has_users, insecure_no_auth=insecure_no_auth)
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


def host_allow_list(given: str | None, bound: str) -> list[str]:
    """The names the server answers to: the loopback names, the address it is bound to
    (unless that is every address) and ``given`` (comma-separated; ``*`` for any).

    >>> host_allow_list("keel.internal", "10.0.0.5")
    ['localhost', '127.0.0.1', '::1', '10.0.0.5', 'keel.internal']
    """
    from keel.server.hosts import LOOPBACK_HOSTS

    hosts = list(LOOPBACK_HOSTS)
    extra = [bound.strip("[]")] if bound.strip("[]") not in ("0.0.0.0", "::", "") else []
    extra += (given or "").split(",")
    for name in (h.strip().lower() for h in extra):
        if name and name not in hosts:
            hosts.append(name)
    return hosts
