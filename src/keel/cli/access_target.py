"""What ``keel users``, ``tokens``, ``projects`` and ``groups`` act on: the database named
by ``-t`` (on the server's machine), or a ``keel server`` with the caller's token."""

from __future__ import annotations

from typing import Any


def open_target(tracking_uri: str | None) -> Any:
    """A context giving the access service of the database, or the server's access API;
    both have the same methods."""
    from keel.access import open_access
    from keel.config import Settings

    settings = Settings.from_env()
    return open_access(tracking_uri or settings.tracking_uri or str(settings.home), settings)
