"""Moving objects between the local cache and the shared artifact store.

The remote is ``<artifact root>/datasets`` on any fsspec filesystem (a folder, ``s3://``,
``gs://``): ``objects/ab/cdef...`` as in the cache. A transfer lists what the other side
has once, then moves only what is missing, several objects at a time. Every object is
written under a temporary name and renamed only when its bytes hash to its name, on both
sides, so an interrupted push or pull leaves nothing corrupt: running it again finishes
the job (what arrived is skipped).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from keel.artifacts.store import ArtifactStore, write_local_atomically
from keel.data.hashing import parallel_map
from keel.data.objects import ObjectCache
from keel.errors import NotFound

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Transfer:
    objects: int
    """Objects moved."""
    bytes: int
    skipped: int
    """Objects the other side already had."""


def object_key(digest: str) -> str:
    return f"objects/{digest[:2]}/{digest[2:]}"


def remote_digests(remote: ArtifactStore) -> set[str]:
    """Every object the remote holds (one listing, not one request per object)."""
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
    remote: ArtifactStore,
    wanted: Iterable[tuple[str, int]],
    *,
    progress: Progress | None = None,
) -> Transfer:
    """Upload the ``(digest, size)`` objects the remote lacks; each is checked against its
    digest as it streams and renamed into place only when it matches."""
    unique = dict(wanted)
    there = remote_digests(remote)
    todo = [(d, s) for d, s in unique.items() if d not in there]
    missing = [d for d, _ in todo if not cache.has(d)]
    if missing:
        raise NotFound(
            f"{len(missing)} objects to push are not in the local cache "
            f"(first: {missing[0][:12]}); pull them first"
        )

    def send(item: tuple[str, int]) -> int:
        digest, size = item
        remote.write_stream(
            object_key(digest), cache.chunks(digest), expected_digest=digest, progress=progress
        )
        return size

    moved = sum(parallel_map(send, todo))
    return Transfer(len(todo), moved, len(unique) - len(todo))


def pull(
    cache: ObjectCache,
    remote: ArtifactStore,
    wanted: Iterable[tuple[str, int]],
    *,
    progress: Progress | None = None,
) -> Transfer:
    """Download the ``(digest, size)`` objects the cache lacks, each checked against its
    digest on the way and renamed into the cache only when it matches."""
    unique = dict(wanted)
    todo = [(d, s) for d, s in unique.items() if not cache.has(d)]

    def fetch(item: tuple[str, int]) -> int:
        digest, size = item
        target = cache.object_path(digest)
        try:
            chunks = remote.read_chunks(object_key(digest), expected_digest=digest)
            write_local_atomically(target, chunks, progress=progress)
        except NotFound:
            raise NotFound(
                f"object {digest[:12]}: not in the remote ({remote.root_uri}); push it from "
                "the machine that added it"
            ) from None
        os.chmod(target, 0o444)
        return size

    moved = sum(parallel_map(fetch, todo))
    return Transfer(len(todo), moved, len(unique) - len(todo))
