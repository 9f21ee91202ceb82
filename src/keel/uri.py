"""Tracking URIs: which store a string names, and where its artifacts go."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from keel.errors import InvalidArgument

SQL_SCHEMES = ("sqlite", "postgresql", "postgres")
EMBEDDED_DB_NAME = "keel.db"


class StoreKind(StrEnum):
    SQL = "sql"
    REST = "rest"


@dataclass(frozen=True, slots=True)
class TrackingTarget:
    """What a tracking URI resolves to."""

    kind: StoreKind
    uri: str
    """A SQLAlchemy URL for SQL stores, a base URL for REST stores."""
    artifacts_uri: str | None = None
    """Default artifact root: set for folder URIs and SQLite files."""


def resolve_tracking_uri(uri: str, *, artifacts_uri: str | None = None) -> TrackingTarget:
    """Turn what the user wrote into a store address.

    >>> resolve_tracking_uri("/tmp/k").uri
    'sqlite:////tmp/k/keel.db'
    """
    if not uri or not uri.strip():
        raise InvalidArgument("tracking URI: must not be empty")
    uri = uri.strip()
    scheme, sep, _ = uri.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        return TrackingTarget(StoreKind.REST, uri.rstrip("/"))
    if sep and scheme.split("+")[0].lower() in SQL_SCHEMES:
        base = scheme.split("+")[0].lower()
        if base == "postgres":
            uri = "postgresql" + uri[len("postgres") :]
        if base.startswith("postgres") and "+" not in scheme:
            uri = "postgresql+psycopg" + uri[uri.index("://") :]
        default_artifacts = artifacts_uri
        if default_artifacts is None and base == "sqlite":
            db_path = uri.split(":///", 1)[1] if ":///" in uri else ""
            if db_path and db_path != ":memory:":
                default_artifacts = str(Path(db_path).resolve().parent / "artifacts")
        return TrackingTarget(StoreKind.SQL, uri, default_artifacts)
    if sep and scheme.lower() == "file":
        uri = uri[len("file://") :]
    elif sep:
        raise InvalidArgument(
            f"tracking URI {uri!r}: unknown scheme {scheme!r}; use a folder path, "
            "sqlite:///FILE, postgresql+psycopg://... or http(s)://HOST:PORT"
        )
    folder = Path(uri).expanduser().resolve()
    return TrackingTarget(
        StoreKind.SQL,
        f"sqlite:///{folder / EMBEDDED_DB_NAME}",
        artifacts_uri or str(folder / "artifacts"),
    )
