"""BLAKE3 of files: big files memory-mapped and hashed on every core, many small files
hashed side by side in threads (BLAKE3 releases the GIL), never a whole file in memory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from keel.artifacts.hashing import hash_bytes

__all__ = ["hash_bytes", "hash_file", "parallel_map"]

MMAP_THRESHOLD = 4 * 1024 * 1024
"""Files from this size up are memory-mapped and hashed with all threads."""
CHUNK = 1024 * 1024
WORKERS = min(32, (os.cpu_count() or 2) * 4)
"""Threads for big files: hashing and kernel copies release the GIL."""
THREADED_MIN_BYTES = 1024 * 1024

_In = TypeVar("_In")
_Out = TypeVar("_Out")


def hash_file(
    path: str | os.PathLike[str],
    size: int | None = None,
    *,
    advance: Callable[[int], None] | None = None,
) -> str:
    """The BLAKE3 hex digest of a file's content; ``advance`` is told the bytes hashed as
    they are (a big file in segments of ``PROGRESS_SEGMENT``, so a bar moves)."""
    from blake3 import blake3

    if size is None:
        size = os.stat(path).st_size
    if size >= MMAP_THRESHOLD:
        if advance is None:
            return blake3(max_threads=blake3.AUTO).update_mmap(path).hexdigest()
        return _hash_mapped_in_segments(path, advance)
    hasher = blake3()
    with open(path, "rb") as src:
        while chunk := src.read(CHUNK):
            hasher.update(chunk)
            if advance is not None:
                advance(len(chunk))
    return hasher.hexdigest()


PROGRESS_SEGMENT = 256 * 1024 * 1024
"""Bytes of a big file hashed between two progress reports: big enough that every core
stays busy on each, small enough that a 3 GiB file reports a dozen times."""


def _hash_mapped_in_segments(path: str | os.PathLike[str], advance: Callable[[int], None]) -> str:
    import mmap

    from blake3 import blake3

    hasher = blake3(max_threads=blake3.AUTO)
    with open(path, "rb") as src:
        length = os.fstat(src.fileno()).st_size
        if length == 0:
            return hasher.hexdigest()
        with mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                for offset in range(0, length, PROGRESS_SEGMENT):
                    segment = view[offset : offset + PROGRESS_SEGMENT]
                    hasher.update(segment)
                    advance(len(segment))
                    segment.release()
            finally:
                view.release()
    return hasher.hexdigest()


def parallel_map(
    work: Callable[[_In], _Out],
    items: Iterable[_In],
    *,
    weight: Callable[[_In], int] | None = None,
) -> Iterator[_Out]:
    """``map`` over a thread pool. With ``weight`` (bytes) the items come back in two
    groups, each in order: those under ``THREADED_MIN_BYTES`` run inline first, then the
    rest in the pool. For small files the pool's hand-offs and the GIL cost more than the
    work (5x slower for 10 KiB files here)."""
    items = list(items)
    if weight is not None:
        light = [item for item in items if weight(item) < THREADED_MIN_BYTES]
        heavy = [item for item in items if weight(item) >= THREADED_MIN_BYTES]
        yield from map(work, light)
        items = heavy
    if len(items) <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        yield from pool.map(work, items, chunksize=max(1, len(items) // (WORKERS * 8)))
