"""Tokens ``keel login`` saved, one per server, in ``credentials.json`` (mode 0600).

The file maps a server's base URL to its token. It is written to a temporary name with
the final mode and renamed, so no reader ever sees it half written or world-readable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keel.config import Settings
from keel.errors import InvalidArgument


def server_key(url: str) -> str:
    """How a server is named in the file: its URL without a trailing slash."""
    return url.strip().rstrip("/")


def _read(path: Path) -> dict[str, str]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        found = json.loads(raw)
    except ValueError:
        raise InvalidArgument(
            f"{path}: not valid JSON; delete it and run `keel login` again"
        ) from None
    if not isinstance(found, dict):
        raise InvalidArgument(f"{path}: must map server URLs to tokens")
    return {str(k): str(v) for k, v in found.items()}


def saved_token(settings: Settings, url: str) -> str | None:
    """The token saved for the server at ``url``, if any."""
    return _read(settings.credentials_path).get(server_key(url))


def save_token(settings: Settings, url: str, token: str | None) -> Path:
    """Save (or with ``None`` forget) the token for the server at ``url``."""
    path = settings.credentials_path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    found = _read(path)
    if token is None:
        found.pop(server_key(url), None)
    else:
        found[server_key(url)] = token
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(found, out, indent=2, sort_keys=True)
    os.replace(temporary, path)
    return path
