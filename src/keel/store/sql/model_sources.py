"""Where a model version comes from, and what the registry derives from it.

A source is ``runs:/<run_id>/<path>``. The path is checked like every artifact path (no
absolute paths, ``..``, backslashes, NUL, or these behind percent-encoding); the run must
exist, and the tracking store's artifact records must hold ``<path>/keel-model.json`` for
it, the file every model package carries.

At registration the store reads that manifest from the run's artifact root, checks the
bytes against the digest recorded when they were stored and that they are a model
manifest, and derives what the version records from them: its ``content_hash``
(``blake3:`` and the BLAKE3 digest of the manifest's bytes, which a loader checks the
package against) and its signature. Nothing a client says about the package is trusted.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select

from keel.artifacts.hashing import hash_bytes
from keel.artifacts.store import ArtifactStore
from keel.entities.registry import check_signature
from keel.errors import CorruptData, InvalidArgument, NotFound
from keel.store.sql.tables import artifacts, runs
from keel.uri import MODEL_MANIFEST, RunArtifactUri, parse_run_artifact_uri

MAX_SOURCE_LENGTH = 1100
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
"""As ``keel.models.manifest`` reads them: a larger manifest is no model package."""
MANIFEST_FORMAT = 1
_DIGEST = re.compile(r"[0-9a-f]{64}")


def parse_model_source(source: object, run_id: object = None) -> RunArtifactUri:
    """The checked source, or InvalidArgument naming the rule it breaks."""
    if isinstance(source, str) and len(source) > MAX_SOURCE_LENGTH:
        raise InvalidArgument(f"source: must be at most {MAX_SOURCE_LENGTH} characters")
    parsed = parse_run_artifact_uri(source, field="source")  # type: ignore[arg-type]
    if not parsed.path:
        raise InvalidArgument(
            f"source {source!r}: must name the model's folder in the run, "
            "runs:/<run_id>/<path>, not the run's artifact root"
        )
    if run_id is not None and run_id != parsed.run_id:
        raise InvalidArgument(
            f"run_id {run_id!r}: must be the run named in source ({parsed.run_id}), or left out"
        )
    return parsed


@dataclass(frozen=True, slots=True)
class StoredManifest:
    """Where a source's manifest is stored, and what was recorded of it."""

    source: RunArtifactUri
    artifact_uri: str
    size: int
    digest: str


@dataclass(frozen=True, slots=True)
class ModelPackage:
    """What a version records of its package, derived from the stored manifest."""

    content_hash: str
    signature: str | None


def locate_manifest(conn: Connection, source: RunArtifactUri) -> StoredManifest:
    """The record of the source's manifest, with one query. NotFound for an unknown run;
    InvalidArgument when the folder holds no model."""
    marker = source.manifest_path
    row = conn.execute(_LOCATE, {"run_id": source.run_id, "path": marker}).first()
    if row is None:
        raise NotFound(f"source {str(source)!r}: run {source.run_id}: no such run")
    if row.digest is None:
        raise InvalidArgument(
            f"source {str(source)!r}: not a model: run {source.run_id} has no artifact "
            f"{marker!r} (log the model with its package, then register it)"
        )
    return StoredManifest(source, row.artifact_uri, row.size, row.digest)


_LOCATE = (
    select(runs.c.artifact_uri, artifacts.c.size, artifacts.c.digest)
    .select_from(
        runs.outerjoin(
            artifacts,
            and_(artifacts.c.run_uuid == runs.c.run_uuid, artifacts.c.path == bindparam("path")),
        )
    )
    .where(runs.c.run_uuid == bindparam("run_id"))
)
"""Built once: it runs at every registration."""


class ManifestReader:
    """Reads stored manifests (one :class:`ArtifactStore` per artifact root) and keeps
    what it derived from each it verified, by where it is stored and the size and digest
    recorded for it: registering the same package again reads nothing. A manifest whose
    record changes is read again; one whose bytes change in storage under an unchanged
    record is caught by every loader, which checks the bytes against that record."""

    def __init__(self, capacity: int = 4096) -> None:
        self._roots: dict[str, ArtifactStore] = {}
        self._known: dict[tuple[str, str, int, str], ModelPackage] = {}
        self._capacity = capacity
        self._lock = threading.Lock()

    def known(self, stored: StoredManifest) -> ModelPackage | None:
        """What was derived from this manifest, if it was read since it was recorded."""
        return self._known.get(_key(stored))

    def read(self, stored: StoredManifest) -> ModelPackage:
        """The package's digest and signature, from the manifest's stored bytes."""
        source, marker = stored.source, stored.source.manifest_path
        if stored.size > MAX_MANIFEST_BYTES:
            raise InvalidArgument(
                f"source {str(source)!r}: its {MODEL_MANIFEST} is {stored.size} bytes; a "
                f"model manifest is at most {MAX_MANIFEST_BYTES}"
            )
        try:
            data = b"".join(self._root(stored.artifact_uri).read_chunks(marker))
        except NotFound:
            raise CorruptData(
                f"source {str(source)!r}: {marker!r} is recorded for run {source.run_id} but "
                "missing from the artifact store; it was moved or lost in storage"
            ) from None
        digest = hash_bytes(data)
        if digest != stored.digest:
            raise CorruptData(
                f"source {str(source)!r}: {marker!r} does not match the digest recorded when "
                f"it was stored (recorded {stored.digest}, stored bytes {digest}); it was "
                "changed or corrupted in storage"
            )
        package = ModelPackage(f"blake3:{digest}", manifest_signature(source, data))
        with self._lock:
            if len(self._known) >= self._capacity:
                self._known.pop(next(iter(self._known)))  # the oldest
            self._known[_key(stored)] = package
        return package

    def _root(self, uri: str) -> ArtifactStore:
        with self._lock:
            root = self._roots.get(uri)
            if root is None:
                root = self._roots[uri] = ArtifactStore(uri)
            return root


def _key(stored: StoredManifest) -> tuple[str, str, int, str]:
    return (stored.artifact_uri, stored.source.manifest_path, stored.size, stored.digest)


def manifest_signature(source: RunArtifactUri, data: bytes) -> str | None:
    """The signature of the manifest ``data`` as canonical JSON text (or None), once the
    manifest's frame is checked: a JSON object of format version 1, its flavor among its
    flavors, and every file listed with its size and BLAKE3 digest. ``keel.models``
    checks the rest when it loads the package."""

    def refuse(why: str) -> InvalidArgument:
        return InvalidArgument(
            f"source {str(source)!r}: its {MODEL_MANIFEST} is not a model manifest: {why}"
        )

    try:
        raw: Any = json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise refuse(f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise refuse("not a JSON object")
    version = raw.get("format_version")
    if isinstance(version, bool) or version != MANIFEST_FORMAT:
        raise refuse(f"format_version must be {MANIFEST_FORMAT}, got {version!r}")
    flavors = raw.get("flavors")
    if not isinstance(flavors, dict) or raw.get("flavor") not in flavors:
        raise refuse("flavor must name one of its flavors")
    files = raw.get("files")
    if not isinstance(files, dict):
        raise refuse("files must be an object of path -> {size, blake3}")
    for path, entry in files.items():
        if not (
            isinstance(entry, dict)
            and set(entry) == {"size", "blake3"}
            and type(entry["size"]) is int
            and entry["size"] >= 0
            and isinstance(entry["blake3"], str)
            and _DIGEST.fullmatch(entry["blake3"])
        ):
            raise refuse(f"files {path!r} must have a size and a BLAKE3 digest")
    signature = raw.get("signature")
    if signature is not None and not isinstance(signature, dict):
        raise refuse("signature must be an object or null")
    return check_signature(json.dumps(signature, sort_keys=True)) if signature else None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")
