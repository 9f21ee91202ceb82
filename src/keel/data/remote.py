"""Moving objects between the local cache and the shared artifact store.

The remote is ``<artifact root>/datasets`` on any fsspec filesystem (a folder, ``s3://``,
``gs://``; ``objects/ab/cdef...`` as in the cache), reached directly or through
``keel server``. A transfer lists what the other side
has once, then moves only what is missing, several objects at a time. Every object is
written under a temporary name and renamed only when its bytes hash to its name, on both
sides, so an interrupted push or pull leaves nothing corrupt: running it again finishes
the job (what arrived is skipped).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from keel.artifacts.store import ArtifactStore, write_local_atomically
from keel.data.hashing import WORKERS, parallel_map
from keel.data.objects import ObjectCache
from keel.entities.progress import Progress
from keel.errors import CorruptData, NotFound


@dataclass(frozen=True, slots=True)
class Transfer:
    objects: int
    """Objects moved."""
    bytes: int
    skipped: int
    """Objects the other side already had."""


class ObjectRemote(Protocol):
    """Where pushed objects go: the artifact store directly, or a ``keel server``."""

    root_uri: str

    def missing(self, digests: Iterable[str], *, verify: bool = False) -> set[str]:
        """The objects not held; with ``verify`` also those held whose bytes no longer
        match their digest (each read whole and hashed), so a push replaces them."""
        ...

    def upload(
        self,
        digest: str,
        chunks: Iterable[bytes],
        *,
        dataset: str | None = None,
        project: str | None = None,
    ) -> None:
        """Store the object; refused whole (nothing under its name) if the bytes do not
        hash to ``digest``. A server charges a new object's bytes to the project of
        ``dataset`` (or to ``project``, where a new dataset will be made) and refuses it
        past that project's storage quota (413)."""
        ...

    def download(self, digest: str) -> Iterator[bytes]:
        """The object's bytes; CorruptData at the end if they do not match."""
        ...


class StoreObjects:
    """Objects under ``objects/`` of an artifact store (a folder, ``s3://``, ``gs://``)."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store
        self.root_uri = store.root_uri

    def missing(self, digests: Iterable[str], *, verify: bool = False) -> set[str]:
        wanted = set(digests)
        held = wanted & remote_digests(self.store)
        if verify:
            order = sorted(held)
            checked = zip(order, parallel_map(self._intact, order), strict=True)
            held -= {digest for digest, intact in checked if not intact}
        return wanted - held

    def _intact(self, digest: str) -> bool:
        try:
            for _ in self.download(digest):
                pass
        except CorruptData:
            return False
        return True

    def has(self, digest: str) -> bool:
        """One object (one request, not a listing)."""
        return self.store.exists(object_key(digest))

    def absent(self, digests: set[str]) -> set[str]:
        """Which of these objects are not here, asked of each (several at a time): work in
        proportion to the objects asked about, not to all the store holds."""
        wanted = sorted(digests)
        if len(wanted) <= _ASK_ONE_AT_A_TIME:
            return {d for d in wanted if not self.has(d)}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            held = list(pool.map(self.has, wanted, chunksize=64))
        return {d for d, here in zip(wanted, held, strict=True) if not here}

    def upload(
        self,
        digest: str,
        chunks: Iterable[bytes],
        *,
        dataset: str | None = None,
        project: str | None = None,
    ) -> None:
        # Straight to storage, no server between: nothing to charge a quota to.
        self.store.write_stream(object_key(digest), chunks, expected_digest=digest)

    def download(self, digest: str) -> Iterator[bytes]:
        return self.store.read_chunks(object_key(digest), expected_digest=digest)


_ASK_ONE_AT_A_TIME = 16
"""Up to this many objects, threads cost more than they save."""


def object_key(digest: str) -> str:
    return f"objects/{digest[:2]}/{digest[2:]}"


def remote_digests(remote: ArtifactStore) -> set[str]:
    """Every object an artifact store holds (one listing, not one request per object)."""
    base = f"{remote.root}/objects"
    try:
        found = remote.fs.find(base)
    except FileNotFoundError:
        return set()
    digests = set()
    for path in found:
        parts = str(path).rstrip("/").rsplit("/", 2)
        if len(parts) == 3 and not parts[2].startswith("."):
            digests.add(parts[1] + parts[2])
    return digests


def push(
    cache: ObjectCache,
    remote: ObjectRemote,
    wanted: Iterable[tuple[str, int]],
    *,
    progress: Progress | None = None,
    verify: bool = False,
    dataset: str | None = None,
    project: str | None = None,
) -> Transfer:
    """Upload the ``(digest, size)`` objects the remote lacks (with ``verify``, also those
    it holds damaged); each is checked against its digest as it streams and renamed into
    place only when it matches. ``dataset`` (and ``project``, for a new one) tell a
    server whose storage quota the new objects count against."""
    unique = dict(wanted)
    lacking = remote.missing(unique, verify=verify)
    todo = [(d, s) for d, s in unique.items() if d in lacking]
    held = cache.present(d for d, _ in todo)
    missing = [d for d, _ in todo if d not in held]
    if missing:
        raise NotFound(
            f"{len(missing)} objects to push are not in the local cache "
            f"(first: {missing[0][:12]}); pull them first"
        )

    def send(item: tuple[str, int]) -> int:
        digest, size = item
        remote.upload(
            digest, _counted(cache.chunks(digest), progress), dataset=dataset, project=project
        )
        if progress is not None:
            progress.file_done()
        return size

    if progress is not None:
        progress.start(sum(s for _, s in todo), len(todo), "pushing")

    moved = sum(parallel_map(send, todo))
    return Transfer(len(todo), moved, len(unique) - len(todo))


def pull(
    cache: ObjectCache,
    remote: ObjectRemote,
    wanted: Iterable[tuple[str, int]],
    *,
    progress: Progress | None = None,
) -> Transfer:
    """Download the ``(digest, size)`` objects the cache lacks, each checked against its
    digest on the way and renamed into the cache only when it matches."""
    unique = dict(wanted)
    held = cache.present(unique)
    todo = [(d, s) for d, s in unique.items() if d not in held]

    def fetch(item: tuple[str, int]) -> int:
        digest, size = item
        target = cache.object_path(digest)
        try:
            write_local_atomically(target, remote.download(digest), progress=progress)
        except NotFound:
            raise NotFound(
                f"object {digest[:12]}: not in the remote ({remote.root_uri}); push it from "
                "the machine that added it"
            ) from None
        os.chmod(target, 0o444)
        if progress is not None:
            progress.file_done()
        return size

    if progress is not None:
        progress.start(sum(s for _, s in todo), len(todo), "pulling")

    moved = sum(parallel_map(fetch, todo))
    return Transfer(len(todo), moved, len(unique) - len(todo))


def _counted(chunks: Iterable[bytes], progress: Progress | None) -> Iterator[bytes]:
    for chunk in chunks:
        if progress is not None:
            progress.advance(len(chunk))
        yield chunk
