"""``ArtifactStore``: artifact bytes under one root, on any fsspec filesystem.

Every write streams to a temporary name beside its destination and is renamed into place
once complete, so a reader never sees half a file. Every write returns the content's
BLAKE3 digest, which the metadata store records; reads check it.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from keel.artifacts.hashing import CHUNK_SIZE, file_chunks, new_hasher
from keel.entities import FileInfo
from keel.entities.ids import new_id
from keel.entities.paths import join, safe_artifact_path
from keel.entities.progress import Progress
from keel.errors import Conflict, CorruptData, Forbidden, InvalidArgument, NotFound
from keel.extras import missing_extra

_PARTIAL = re.compile(r"\..+\.tmp-[0-9a-f]{12}")
"""The name a file has while it is being written (see ``write_stream``)."""

_EXTRA_OF_PROTOCOL = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}
"""The keel-mlops extra that brings fsspec's filesystem for each object-store protocol."""


class ArtifactStore:
    """Artifacts below ``root`` (a folder path or an fsspec URL such as ``s3://b/k``)."""

    def __init__(self, root: str, *, storage_options: dict[str, Any] | None = None) -> None:
        from fsspec.core import url_to_fs

        self.root_uri = root.rstrip("/")
        try:
            self.fs, self.root = url_to_fs(self.root_uri, **(storage_options or {}))
        except ImportError as error:  # fsspec knows the protocol; its library is missing
            extra = _EXTRA_OF_PROTOCOL.get(self.root_uri.partition("://")[0].lower())
            if extra is None:
                raise
            raise missing_extra(
                extra=extra, purpose=f"An artifact root on {root.partition('://')[0]}://"
            ) from error
        self.root = self.root.rstrip("/")
        self._local = getattr(self.fs, "protocol", None) in ("file", ("file", "local"))
        self._real_root: str | None = None

    def _full(self, relative: str) -> str:
        full = join(self.root, safe_artifact_path(relative, allow_root=True))
        if self._local and relative:
            self._refuse_links(relative, full)
        return full

    def _refuse_links(self, relative: str, full: str) -> None:
        """A symbolic link planted inside a local store (by whoever can write to its
        folder) would send a read or a write anywhere on the machine: refused. The root
        itself may be a link (``/tmp`` often is); nothing below it may."""
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        expected = os.path.join(self._real_root, *relative.split("/"))
        if os.path.realpath(full) != expected:
            raise Forbidden(
                f"artifact {relative!r}: a symbolic link inside the artifact store leads "
                f"elsewhere ({self.root}); Keel does not follow links in its store, remove it"
            )

    # writing -------------------------------------------------------------------------

    def write_stream(
        self,
        relative: str,
        chunks: Iterable[bytes],
        *,
        progress: Progress | None = None,
        expected_digest: str | None = None,
    ) -> FileInfo:
        """Stream ``chunks`` to ``relative``; returns the file's size and digest. With
        ``expected_digest``, content that does not match is discarded, never renamed in."""
        relative = safe_artifact_path(relative)
        final = self._full(relative)
        parent = final.rsplit("/", 1)[0]
        temp = f"{parent}/.{final.rsplit('/', 1)[1]}.tmp-{new_id()[:12]}"
        if self.fs.isdir(final):
            raise Conflict(
                f"artifact {relative!r}: a folder of that name exists; pick another path"
            )
        try:
            self.fs.makedirs(parent, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise Conflict(
                f"artifact {relative!r}: a file is in the way of its folder "
                f"{relative.rsplit('/', 1)[0]!r}; pick another path"
            ) from None
        hasher = new_hasher()
        size = 0
        try:
            with self.fs.open(temp, "wb") as out:
                for chunk in chunks:
                    if not chunk:
                        continue
                    out.write(chunk)
                    hasher.update(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress.advance(len(chunk))
                if self._local:
                    out.flush()
                    os.fsync(out.fileno())
            if expected_digest is not None and hasher.hexdigest() != expected_digest:
                raise InvalidArgument(
                    f"artifact {relative!r}: received content does not match the digest the "
                    f"client sent ({expected_digest}); the upload was damaged, nothing was kept"
                )
            self.fs.mv(temp, final)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm(temp)
            raise
        return FileInfo(relative, False, size, hasher.hexdigest())

    def write_file(
        self, relative: str, local_path: str | Path, *, progress: Progress | None = None
    ) -> FileInfo:
        with open(local_path, "rb") as src:
            return self.write_stream(relative, file_chunks(src), progress=progress)

    def write_bytes(self, relative: str, data: bytes) -> FileInfo:
        return self.write_stream(relative, [data])

    # reading -------------------------------------------------------------------------

    def exists(self, relative: str) -> bool:
        return bool(self.fs.exists(self._full(relative)))

    def read_chunks(
        self, relative: str, *, expected_digest: str | None = None, chunk_size: int = CHUNK_SIZE
    ) -> Iterator[bytes]:
        """Stream a file; with ``expected_digest``, raise CorruptData at the end if the
        content does not match (callers writing to disk discard what they wrote)."""
        full = self._full(relative)
        try:
            handle = self.fs.open(full, "rb")
        except FileNotFoundError:
            raise NotFound(f"artifact {relative!r}: not found in the artifact store") from None
        hasher = new_hasher() if expected_digest else None
        with handle:
            while chunk := handle.read(chunk_size):
                if hasher is not None:
                    hasher.update(chunk)
                yield chunk
        if hasher is not None and hasher.hexdigest() != expected_digest:
            raise CorruptData(
                f"artifact {relative!r}: content does not match its recorded digest "
                f"(expected {expected_digest}, got {hasher.hexdigest()}); it was changed "
                "or corrupted in storage"
            )

    def download(
        self,
        relative: str,
        destination: str | Path,
        *,
        expected_digest: str | None = None,
        progress: Progress | None = None,
    ) -> Path:
        """Copy one file to a local path, atomically and checked against its digest."""
        return write_local_atomically(
            destination,
            self.read_chunks(relative, expected_digest=expected_digest),
            progress=progress,
        )

    def size(self, relative: str) -> int:
        return int(self.fs.size(self._full(relative)))

    def location(self, relative: str) -> str:
        """Where the file at ``relative`` is, for a message: an absolute path on this
        machine, or a URL."""
        return self._full(relative) if self._local else f"{self.root_uri}/{relative}"

    def sweep_partial_writes(self, *, older_than: float = 3600.0) -> int:
        """Remove temporary files left by writes that never finished (a process killed
        mid-upload), once they are ``older_than`` seconds old; returns how many. Only on a
        local root: listing a whole bucket is left to its lifecycle rules."""
        if not self._local:
            return 0
        cutoff = time.time() - older_than
        removed = 0
        for folder, _, names in os.walk(self.root):
            for name in names:
                if not _PARTIAL.fullmatch(name):
                    continue
                path = os.path.join(folder, name)
                with contextlib.suppress(FileNotFoundError):
                    if os.stat(path).st_mtime < cutoff:
                        os.remove(path)
                        removed += 1
        return removed

    def delete(self, relative: str) -> None:
        full = self._full(relative)
        if self.fs.exists(full):
            self.fs.rm(full, recursive=True)


def local_destination(destination: str | Path, server_path: str) -> Path:
    """Where a file a server (or a store) lists as ``server_path`` goes under the local
    folder ``destination``: the path is checked as any artifact path is (no ``..``,
    absolute path, drive letter, backslash, NUL, or these percent-encoded) and the result
    must stay inside ``destination`` even through a symlink already there. A listing is
    never trusted: a hostile server or a proxy in the middle must not write elsewhere.

    >>> local_destination("/tmp/out", "model/weights.bin").as_posix()
    '/tmp/out/model/weights.bin'
    """
    try:
        relative = safe_artifact_path(server_path, field="path from the server")
    except InvalidArgument as exc:
        raise InvalidArgument(f"refused to write outside the destination: {exc}") from None
    base = Path(destination)
    target = base / relative
    root = base.resolve()
    if not target.resolve().is_relative_to(root):
        raise InvalidArgument(
            f"path from the server {server_path!r}: leads out of {str(base)!r} through a "
            "symbolic link there; refused to write outside the destination"
        )
    return target


def write_local_atomically(
    destination: str | Path, chunks: Iterable[bytes], *, progress: Progress | None = None
) -> Path:
    """Write ``chunks`` to ``destination`` via a temporary file; nothing is left behind
    under the final name if the stream fails (for instance on a digest mismatch)."""
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.tmp-{new_id()[:12]}")
    try:
        with open(temp, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                if progress is not None:
                    progress.advance(len(chunk))
        os.replace(temp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return dest
