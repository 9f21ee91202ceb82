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
"""Threads for many files: hashing releases the GIL, and small files wait on the disk."""

_In = TypeVar("_In")
_Out = TypeVar("_Out")


def hash_file(path: str | os.PathLike[str], size: int | None = None) -> str:
    """The BLAKE3 hex digest of a file's content."""
    from blake3 import blake3

    if size is None:
        size = os.stat(path).st_size
    if size >= MMAP_THRESHOLD:
        return blake3(max_threads=blake3.AUTO).update_mmap(path).hexdigest()
    hasher = blake3()
    with open(path, "rb") as src:
        while chunk := src.read(CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def parallel_map(work: Callable[[_In], _Out], items: Iterable[_In]) -> Iterator[_Out]:
    """``map`` over a thread pool, in order; one item runs inline (no pool to start)."""
    items = list(items)
    if len(items) <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        yield from pool.map(work, items, chunksize=max(1, len(items) // (WORKERS * 8)))
