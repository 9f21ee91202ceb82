"""Tracking URIs: which store a string names, and where its artifacts go."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from keel.entities.paths import safe_artifact_path
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
    if artifacts_uri:  # recorded in the database: it must mean the same from any folder
        artifacts_uri = absolute_location(artifacts_uri)
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


def absolute_location(location: str) -> str:
    """A local path made absolute (``~`` expanded), as a ``file://`` URL if it was one; a
    URL of any other filesystem as it is. A store records its artifact root in every
    experiment and run: a relative one would name another folder for a process started
    somewhere else.

    >>> absolute_location("s3://bucket/prefix")
    's3://bucket/prefix'
    >>> absolute_location("file:///srv/artifacts")
    'file:///srv/artifacts'
    """
    scheme, sep, rest = location.partition("://")
    if sep and scheme.lower() != "file":
        return location
    path = os.path.abspath(os.path.expanduser(rest if sep else location))
    return f"file://{path}" if sep else path


def store_key(uri: str, *, artifacts_uri: str | None, home: Path) -> str | None:
    """A short key that names one store, and the artifact root its dataset objects are
    pushed to, however the URI was written (a folder, the SQLite file in it, a relative
    path): for what this machine remembers of that store. The root is worked out as
    ``keel.store.open_store`` does, from ``artifacts_uri`` (``KEEL_ARTIFACTS_URI``) and
    ``home``; a server decides its own. None for an in-memory database, which no other
    process can see. It is a hash, so a password in the URI is never written down."""
    import hashlib

    target = resolve_tracking_uri(uri, artifacts_uri=artifacts_uri)
    address, root = target.uri, ""
    if target.kind is StoreKind.SQL:
        root = target.artifacts_uri or str((Path(home) / "artifacts").resolve())
    if address.startswith("sqlite"):
        scheme, _, path = address.partition(":///")
        if not path or path == ":memory:" or "mode=memory" in path:
            return None
        address = f"{scheme}:///{Path(path).resolve()}"  # as SQLAlchemy opens it: no ~
    return hashlib.sha256(f"{address}\n{root}".encode()).hexdigest()[:32]


MODEL_MANIFEST = "keel-model.json"
"""The file that makes a folder of artifacts a model package."""


@dataclass(frozen=True, slots=True)
class RunArtifactUri:
    """``runs:/<run_id>/<path>``: an artifact (or folder) of a run."""

    run_id: str
    path: str

    def child(self, name: str) -> str:
        """The artifact path of ``name`` inside this folder."""
        return f"{self.path}/{name}" if self.path else name

    @property
    def manifest_path(self) -> str:
        """Where the model package at this URI keeps its manifest."""
        return self.child(MODEL_MANIFEST)

    def __str__(self) -> str:
        return f"runs:/{self.run_id}/{self.path}" if self.path else f"runs:/{self.run_id}"


@dataclass(frozen=True, slots=True)
class ModelUri:
    """``models:/<name>/<version>``, ``models:/<name>@<alias>`` or ``models:/<name>/latest``
    (``latest``: the highest version number, as in MLflow)."""

    name: str
    version: int | None = None
    alias: str | None = None
    latest: bool = False

    def __str__(self) -> str:
        if self.alias is not None:
            return f"models:/{self.name}@{self.alias}"
        if self.latest:
            return f"models:/{self.name}/{LATEST}"
        return f"models:/{self.name}/{self.version}"


LATEST = "latest"


def parse_run_artifact_uri(uri: str, *, field: str = "source") -> RunArtifactUri:
    """Parse ``runs:/<run_id>/<path>``; the path is checked like any artifact path.

    >>> parse_run_artifact_uri("runs:/0123456789abcdef0123456789abcdef/model").path
    'model'
    """
    if not isinstance(uri, str) or not uri.startswith("runs:/"):
        raise InvalidArgument(
            f"{field} {uri!r}: must be runs:/<run_id>/<path> (a model logged to a run); "
            "file://, http(s)://, bucket URLs and local paths are not accepted"
        )
    run_id, _, path = uri[len("runs:/") :].partition("/")
    if len(run_id) != 32 or any(c not in "0123456789abcdef" for c in run_id):
        raise InvalidArgument(f"{field} {uri!r}: the run id must be 32 lowercase hex characters")
    return RunArtifactUri(run_id, safe_artifact_path(path, field=field, allow_root=True))


def parse_model_uri(uri: str) -> ModelUri:
    """Parse ``models:/<name>/<version>``, ``models:/<name>@<alias>`` or
    ``models:/<name>/latest``.

    >>> parse_model_uri("models:/fraud@champion")
    ModelUri(name='fraud', version=None, alias='champion', latest=False)
    >>> parse_model_uri("models:/fraud/latest").latest
    True
    """
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise InvalidArgument(
            f"model URI {uri!r}: must be models:/<name>/<version>, models:/<name>@<alias> "
            "or models:/<name>/latest"
        )
    rest = uri[len("models:/") :]
    if "@" in rest:
        name, _, alias = rest.partition("@")
        if not name or not alias or "/" in alias or "/" in name:
            raise InvalidArgument(f"model URI {uri!r}: expected models:/<name>@<alias>")
        return ModelUri(name, alias=alias)
    name, sep, version = rest.rpartition("/")
    if sep and name and "/" not in name and version == LATEST:
        return ModelUri(name, latest=True)
    if not sep or not name or "/" in name or not version.isdigit() or int(version) < 1:
        raise InvalidArgument(
            f"model URI {uri!r}: expected models:/<name>/<version> with a version number "
            "from 1, models:/<name>/latest or models:/<name>@<alias>"
        )
    return ModelUri(name, version=int(version))
