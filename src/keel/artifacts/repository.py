"""Artifacts of runs: where the bytes go and where their records go, behind one interface.

``RunArtifacts`` writes bytes straight to the run's artifact root and records each file's
size and digest in the tracking store; the REST store's ``ProxiedArtifacts`` does the same
through ``keel server``, so clients need no storage credentials. Given the use of each
run's project (``usage``), an upload past the project's storage quota is cut off as the
bytes arrive and nothing is kept (413); the record's transaction charges the bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from keel.artifacts.hashing import file_chunks
from keel.artifacts.store import ArtifactStore
from keel.entities import FileInfo, Run
from keel.entities.paths import safe_artifact_path
from keel.entities.progress import Progress
from keel.entities.quota import ProjectUsage
from keel.errors import CorruptData, InvalidArgument, NotFound


class ArtifactRepository(Protocol):
    def upload_stream(
        self,
        run_id: str,
        path: str,
        chunks: Iterable[bytes],
        *,
        progress: Progress | None = None,
        expected_digest: str | None = None,
    ) -> FileInfo: ...
    def list(self, run_id: str, path: str | None = None) -> list[FileInfo]: ...
    def stat(self, run_id: str, path: str) -> FileInfo: ...
    def read_chunks(self, run_id: str, path: str) -> Iterator[bytes]:
        """The file's bytes, checked against its recorded digest."""
        ...


class ArtifactRecords(Protocol):
    """What ``RunArtifacts`` needs of a tracking store: the run, the artifact records,
    and the rule that says when a run's artifact is immutable (a SQL store has them all;
    a server's clients go through ``ProxiedArtifacts`` instead)."""

    def get_run(self, run_id: str) -> Run: ...
    def record_artifacts(self, run_id: str, files: Sequence[FileInfo]) -> None: ...
    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]: ...
    def get_artifact(self, run_id: str, path: str) -> FileInfo: ...
    def check_artifact_writable(self, run_id: str, path: str) -> None:
        """Raise Conflict when the run has ended or a model version holds ``path``."""
        ...


class RunArtifacts:
    """Artifacts stored directly under each run's ``artifact_uri``."""

    MAX_RUNS = 10_000
    """Runs whose artifact location is remembered (it never changes once a run exists)."""

    def __init__(
        self,
        store: ArtifactRecords,
        *,
        usage: Callable[[str], ProjectUsage | None] | None = None,
    ) -> None:
        self.store = store
        self._usage = usage
        """The use and quota of a run's project, by run id (a SQL store's quotas)."""
        self._run_roots: dict[str, ArtifactStore] = {}

    def _root(self, run_id: str) -> ArtifactStore:
        """The artifact store of a run, looked up once per run: a folder of 1,000 files
        costs one lookup, not 1,000."""
        root = self._run_roots.get(run_id)
        if root is not None:
            return root
        root = ArtifactStore(self.store.get_run(run_id).info.artifact_uri)
        if len(self._run_roots) >= self.MAX_RUNS:
            self._run_roots.clear()
        self._run_roots[run_id] = root
        return root

    def upload_stream(
        self,
        run_id: str,
        path: str,
        chunks: Iterable[bytes],
        *,
        progress: Progress | None = None,
        expected_digest: str | None = None,
    ) -> FileInfo:
        path = safe_artifact_path(path)
        root = self._root(run_id)  # NotFound for an unknown run, before any byte is read
        # Before a byte is written: an immutable file must not be replaced even briefly.
        self.store.check_artifact_writable(run_id, path)
        found = None if self._usage is None else self._usage(run_id)
        if found is not None and found.quota is not None:
            chunks = _within(chunks, found, self._replaced(run_id, path))
        info = root.write_stream(path, chunks, progress=progress, expected_digest=expected_digest)
        self.store.record_artifacts(run_id, [info])  # charges the bytes, or refuses (413)
        return info

    def _replaced(self, run_id: str, path: str) -> int:
        """The size of the file an upload replaces (0 for a new path)."""
        try:
            return self.store.get_artifact(run_id, path).file_size or 0
        except NotFound:
            return 0

    def list(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self.store.list_artifacts(run_id, safe_artifact_path(path, allow_root=True))

    def stat(self, run_id: str, path: str) -> FileInfo:
        return self.store.get_artifact(run_id, safe_artifact_path(path))

    def read_chunks(self, run_id: str, path: str) -> Iterator[bytes]:
        info = self.stat(run_id, path)
        root = self._root(run_id)
        # Checked before the first byte goes out: a file whose size changed in storage
        # cannot be sent under its recorded size (the server's Content-Length).
        try:
            size = root.size(info.path)
        except FileNotFoundError:
            raise CorruptData(
                f"artifact {info.path!r}: the stored file is missing (looked for at "
                f"{root.location(info.path)}); it was moved or lost in storage, or the "
                "store's artifact root has changed"
            ) from None
        if size != info.file_size:
            raise CorruptData(
                f"artifact {info.path!r}: the stored file is {size} bytes, recorded as "
                f"{info.file_size}; it was changed in storage"
            )
        return root.read_chunks(info.path, expected_digest=info.digest)


def _within(chunks: Iterable[bytes], usage: ProjectUsage, replaced: int) -> Iterator[bytes]:
    """``chunks``, cut off with the 413 as soon as they pass the project's room (plus
    the file they replace): the writer then discards what it wrote."""
    room = (usage.room or 0) + replaced
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > room:
            raise usage.refusal(total - replaced)
        yield chunk


def walk(repo: ArtifactRepository, run_id: str, path: str | None) -> list[FileInfo]:
    """Every file at or below ``path`` (a file or a folder)."""
    path = safe_artifact_path(path, allow_root=True)
    if path:
        try:
            return [repo.stat(run_id, path)]
        except NotFound:
            pass
    found: list[FileInfo] = []
    pending = [path]
    while pending:
        for entry in repo.list(run_id, pending.pop() or None):
            (pending.append(entry.path) if entry.is_dir else found.append(entry))
    if path and not found:
        raise NotFound(f"artifact {path!r} of run {run_id}: not found")
    return found


def upload_path(
    repo: ArtifactRepository,
    run_id: str,
    local: Path,
    artifact_path: str | None,
    *,
    contents_only: bool = False,
    progress: Progress | None = None,
) -> list[FileInfo]:
    """Upload a file, or a folder (recursively, as ``<artifact_path>/<folder name>``, or
    with ``contents_only`` its contents straight below ``artifact_path``)."""
    base = safe_artifact_path(artifact_path, field="artifact_path", allow_root=True)
    if local.is_file():
        files = [(local, local.name)]
    elif local.is_dir():
        prefix = "" if contents_only else f"{local.resolve().name}/"
        files = sorted(
            (p, prefix + p.relative_to(local).as_posix()) for p in local.rglob("*") if p.is_file()
        )
    else:
        raise InvalidArgument(f"local path {str(local)!r}: no such file or folder")
    if progress is not None:
        progress.start(sum(source.stat().st_size for source, _ in files), len(files), "uploading")
    uploaded = []
    for source, relative in files:
        target = f"{base}/{relative}" if base else relative
        with open(source, "rb") as handle:
            uploaded.append(
                repo.upload_stream(run_id, target, file_chunks(handle), progress=progress)
            )
        if progress is not None:
            progress.file_done()
    return uploaded
