"""``keel login``: check a token against a server, then save it for that server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from keel.config import Settings
from keel.errors import InvalidArgument


def login(url: str, token: str, settings: Settings) -> tuple[dict[str, Any], Path]:
    """Who ``token`` is on the server at ``url`` (it is refused with ``Unauthenticated``
    if the server does not take it), and the file it was saved to."""
    from keel.store.rest.credentials import save_token
    from keel.store.rest.http import Http
    from keel.wire import routes

    if not url.startswith(("http://", "https://")):
        raise InvalidArgument(f"server URL {url!r}: must start with http:// or https://")
    token = token.strip()
    if not token:
        raise InvalidArgument("token: must not be empty")
    http = Http(url, timeout=settings.http_timeout, token=token)
    try:
        who: dict[str, Any] = http.request(*routes.WHOAMI.at())
    finally:
        http.close()
    return who, save_token(settings, url, token)


def forget(url: str, settings: Settings) -> Path:
    """Remove the token saved for the server at ``url``."""
    from keel.store.rest.credentials import save_token

    return save_token(settings, url, None)
