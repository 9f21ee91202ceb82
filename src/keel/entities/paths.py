"""Artifact paths from users: relative, forward-slashed, and never out of the store."""

from __future__ import annotations

import re
from urllib.parse import unquote

from keel.errors import InvalidArgument

MAX_PATH_LENGTH = 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_artifact_path(path: str | None, *, field: str = "path", allow_root: bool = False) -> str:
    """Return ``path`` normalised (no leading/trailing ``/``) or raise InvalidArgument.

    Refuses absolute paths, ``..`` and ``.`` segments, backslashes, NUL and other control
    characters, and any of these hidden behind percent-encoding (decoded repeatedly).

    >>> safe_artifact_path("plots/loss.png")
    'plots/loss.png'
    """
    if path is None or path in ("", "/", "."):
        if allow_root:
            return ""
        raise InvalidArgument(f"{field}: must name a file, not the artifact root")
    if not isinstance(path, str):
        raise InvalidArgument(f"{field}: must be a string")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidArgument(f"{field}: must be at most {MAX_PATH_LENGTH} characters")
    decoded = path
    for _ in range(4):
        _check_plain(decoded, path, field)
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    else:
        raise InvalidArgument(f"{field} {path!r}: too many layers of percent-encoding")
    cleaned = path.rstrip("/")
    return cleaned


def _check_plain(candidate: str, original: str, field: str) -> None:
    if candidate.startswith("/") or _DRIVE.match(candidate) or candidate.startswith("~"):
        raise InvalidArgument(f"{field} {original!r}: must be relative to the artifact root")
    if "\\" in candidate:
        raise InvalidArgument(f"{field} {original!r}: must use '/' as separator, not '\\'")
    if _CONTROL.search(candidate):
        raise InvalidArgument(f"{field} {original!r}: must not contain NUL or control characters")
    segments = candidate.rstrip("/").split("/")
    for segment in segments:
        if segment in ("..", "."):
            raise InvalidArgument(f"{field} {original!r}: must not contain '.' or '..' segments")
        if segment == "":
            raise InvalidArgument(f"{field} {original!r}: must not contain empty segments ('//')")


def join(base: str, relative: str) -> str:
    return f"{base.rstrip('/')}/{relative}" if relative else base.rstrip("/")
