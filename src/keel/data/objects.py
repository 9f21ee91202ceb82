"""The local object cache: every file of every version once, named by its BLAKE3 digest.

``<root>/objects/ab/cdef...`` holds the bytes of digest ``abcdef...``, read-only (small
objects that one ``add`` stores go into a pack file instead: see ``keel.data.packs``);
``<root>/manifests/<digest>.json`` holds a version's manifest. Everything is written to a
temporary name in the same folder, then renamed, so a name in the cache always holds the
whole of what it names; a crash leaves at most a ``.tmp-`` file, which is never read.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from keel.artifacts.hashing import file_chunks
from keel.data.hashing import CHUNK, MMAP_THRESHOLD, hash_bytes, hash_file
from keel.data.packs import PACK_MAX_BYTES, PackIndex, PackWriter
from keel.entities.dataset_manifest import DataManifest
from keel.entities.ids import new_id
from keel.errors import CorruptData, NotFound


class ContentChanged(Exception):
    """A file's bytes changed between hashing and storing it; nothing was stored."""


LinkMode = Literal["copy", "hardlink"]
LINK_MODES: tuple[LinkMode, ...] = ("copy", "hardlink")


class ObjectCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.manifests = root / "manifests"
        self.packs = PackIndex(root)

    def object_path(self, digest: str) -> Path:
        """Where a loose object is (packed objects are read with :meth:`read`)."""
        return self.objects / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        return self.packs.has(digest) or os.path.exists(self.object_path(digest))

    def present(self, digests: Iterable[str]) -> set[str]:
        """Which of these objects the cache holds (the pack index asked once for all)."""
        wanted = set(digests)
        packed = self.packs.find(wanted)
        return packed | {d for d in wanted - packed if os.path.exists(self.object_path(d))}

    def chunks(self, digest: str) -> Iterator[bytes]:
        """An object's bytes in pieces, wherever it is kept."""
        data = self.packs.read(digest)
        if data is not None:
            yield data
            return
        with open(self.object_path(digest), "rb") as src:
            yield from file_chunks(src)

    def add_file(
        self,
        source: str,
        size: int,
        pack: PackWriter | None = None,
        advance: Callable[[int], None] | None = None,
    ) -> tuple[str, bool, os.stat_result]:
        """Hash ``source`` and store it unless the cache has it: ``(digest, stored, stat
        after reading)``. A small file is read once (hashed and stored from the same
        bytes; into ``pack`` when given and it is under ``PACK_MAX_BYTES``); a big one is
        hashed on every core, then copied by the kernel. ``advance`` is told the bytes
        hashed as they are."""
        if size < MMAP_THRESHOLD:
            fd = os.open(source, os.O_RDONLY)
            try:
                data = os.read(fd, size + 1)
                while len(data) <= size:  # a short read, or a file that shrank: read to the end
                    more = os.read(fd, size + 1 - len(data))
                    if not more:
                        break
                    data += more
                after = os.fstat(fd)
            finally:
                os.close(fd)
            digest = hash_bytes(data)
            if advance is not None:
                advance(len(data))
            if pack is not None and len(data) < PACK_MAX_BYTES:
                return digest, pack.add(digest, data), after
            if self.has(digest):
                return digest, False, after
            self._write(digest, lambda tmp: _write_new(tmp, data))
            return digest, True, after
        digest = hash_file(source, size, advance=advance)
        if self.has(digest):
            return digest, False, os.stat(source)
        # The copy is a second read: hashed again before it takes the name, so a file
        # written to in between can never be stored under the digest of other bytes.
        self._write(digest, lambda tmp: copy_file(source, tmp), check=True)
        return digest, True, os.stat(source)

    def _write(self, digest: str, fill: Fill, *, check: bool = False) -> None:
        target = self.object_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)

        def checked(tmp: str) -> None:
            fill(tmp)
            if check and hash_file(tmp) != digest:
                raise ContentChanged(digest)
            os.chmod(tmp, 0o444)

        replace_whole(target, checked)

    def put_manifest(self, raw: bytes) -> str:
        digest = hash_bytes(raw)
        target = self.manifests / f"{digest}.json"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            replace_whole(target, lambda tmp: _write_new(tmp, raw))
        return digest

    def has_manifest(self, digest: str) -> bool:
        return (self.manifests / f"{digest}.json").exists()

    def manifest(self, digest: str) -> DataManifest:
        """The manifest with this digest, checked against it."""
        path = self.manifests / f"{digest}.json"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"dataset manifest {digest[:12]}: not in the local cache ({self.root}); "
                "run `keel data pull` to fetch it"
            ) from None
        if hash_bytes(raw) != digest:
            raise CorruptData(f"dataset manifest {digest[:12]}: does not match its digest")
        return DataManifest.from_bytes(raw, source=f"manifest {digest[:12]}")

    def copy_out(
        self, digest: str, target: str, *, link: LinkMode = "copy", whole: bool = True
    ) -> None:
        """Put an object at ``target``: a copy, or with ``link="hardlink"`` the cache's own
        file (packed objects, which have none, are copied). With ``whole`` it goes through
        a temporary name and replaces what was there; without, ``target`` must not exist
        and is written in place (for a private staging folder, renamed whole later).

        A copied cache file is hashed while it is copied (on another thread: within the
        copy's own time here): bytes that do not match the digest, as on a disk that
        damaged them, are never handed out, and the file is moved aside so that a pull
        restores it. A hard link is the cache's own file and is not hashed."""
        data = self.packs.read(digest)
        if data is not None:
            fill: Fill = lambda path: _write_new(path, data)  # noqa: E731
        else:
            source = self.object_path(digest)
            aside = source.with_name(f"{source.name}.damaged")
            if not source.exists():
                if aside.exists():  # another thread found it damaged just now
                    raise _damaged(digest)
                raise NotFound(
                    f"object {digest[:12]}: not in the local cache; run `keel data pull` first"
                )

            def fill(path: str) -> None:
                if link == "hardlink":
                    try:
                        os.link(source, path)
                        return
                    except OSError:  # another filesystem, or no links there: copy instead
                        pass
                try:
                    matches = _copy_checked(source, path, digest)
                except FileNotFoundError:  # moved aside by a thread that found it damaged
                    matches = False
                if not matches:
                    with contextlib.suppress(FileNotFoundError):  # another thread moved it
                        os.replace(source, aside)
                    raise _damaged(digest)

        if whole:
            replace_whole(target, fill)
        else:
            fill(target)


def _damaged(digest: str) -> CorruptData:
    return CorruptData(
        f"object {digest[:12]}: its bytes in the local cache do not match its digest; the "
        "file is moved aside, so `keel data pull` (or adding the files again) restores it"
    )


def _write_new(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


Fill = Callable[[str], object]
"""Writes a file's content at the path it is given, which does not exist yet."""


def replace_whole(target: str | Path, fill: Fill) -> None:
    """Write ``target`` through a temporary name beside it, renamed over it only once
    ``fill`` has finished: a reader sees the old file or the new one, never half of one."""
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.tmp-{new_id()[:12]}")
    try:
        fill(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def copy_file(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Copy bytes in the kernel with ``copy_file_range`` (a clone where the filesystem
    can; several times faster than ``sendfile`` here), else through a buffer."""
    with open(source, "rb") as src:
        _copy_from(src.fileno(), os.fstat(src.fileno()).st_size, target)


def _copy_checked(source: Path, target: str, digest: str) -> bool:
    """Copy ``source`` to ``target`` while another thread hashes it: True when its bytes
    match ``digest``. Both read one open file, so what is hashed is what is copied even
    if the name is moved meanwhile. (Where the filesystem clones, the hash is a full read
    the clone would not need; the check is worth it.)"""
    with open(source, "rb") as src:
        fd = src.fileno()
        size = os.fstat(fd).st_size
        with ThreadPoolExecutor(max_workers=1) as beside:
            hashed = beside.submit(_hash_open, fd, size)
            _copy_from(fd, size, target)
            return hashed.result() == digest


def _hash_open(fd: int, size: int) -> str:
    """The BLAKE3 digest of an open file's first ``size`` bytes (its position untouched)."""
    from blake3 import blake3

    if size >= MMAP_THRESHOLD:
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped:
            return str(blake3(mapped, max_threads=blake3.AUTO).hexdigest())
    hasher = blake3()
    for chunk in _chunks_at(fd, size):
        hasher.update(chunk)
    return str(hasher.hexdigest())


def _copy_from(fd: int, size: int, target: str | os.PathLike[str]) -> None:
    """Write the first ``size`` bytes of the open file ``fd`` to ``target`` by offset, so
    another thread may read ``fd`` at the same time."""
    with open(target, "wb") as dst:
        done = 0
        try:
            while done < size:
                moved = os.copy_file_range(fd, dst.fileno(), size - done, done)
                if moved == 0:
                    break
                done += moved
        except OSError:  # no copy_file_range between these files: through a buffer
            dst.seek(0)
            dst.truncate()
            for chunk in _chunks_at(fd, size):
                dst.write(chunk)


def _chunks_at(fd: int, size: int) -> Iterator[bytes]:
    """The first ``size`` bytes of the open file ``fd``, ``CHUNK`` at a time, read by
    offset (its position untouched, so threads may share it)."""
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(CHUNK, size - offset), offset)
        if not chunk:
            return
        yield chunk
        offset += len(chunk)
