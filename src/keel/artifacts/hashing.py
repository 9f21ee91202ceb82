"""Content hashes: BLAKE3, streamed in chunks, hex-encoded."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import BinaryIO

CHUNK_SIZE = 4 * 1024 * 1024
THREADED_BYTES = 1024 * 1024


@cache
def _blake3():  # type: ignore[no-untyped-def]
    """The ``blake3`` class, imported on first use (a command that never hashes skips it)."""
    from blake3 import blake3

    return blake3


def new_hasher():  # type: ignore[no-untyped-def]
    from blake3 import blake3

    return blake3(max_threads=blake3.AUTO)


def file_chunks(stream: BinaryIO) -> Iterator[bytes]:
    """What is left in ``stream``, ``CHUNK_SIZE`` bytes at a time."""
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """Digest and size of everything left in ``stream``."""
    hasher = new_hasher()
    size = 0
    for chunk in file_chunks(stream):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def hash_bytes(data: bytes) -> str:
    if len(data) < THREADED_BYTES:  # threads cost more than they save here
        return str(_blake3()(data).hexdigest())
    hasher = new_hasher()
    hasher.update(data)
    return str(hasher.hexdigest())
