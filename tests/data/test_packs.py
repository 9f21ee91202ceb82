"""The pack index, read whole while small and asked object by object once big: both ways
find the same objects, see other processes' packs and keep one entry per object."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from keel.artifacts.hashing import hash_bytes
from keel.data import packs
from keel.data.packs import PackIndex


@pytest.fixture(params=["read whole", "asked"], autouse=True)
def index_size_limit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 1 << 40 if request.param == "read whole" else 0
    monkeypatch.setattr(packs, "_WHOLE_INDEX_BYTES", limit)


def pack_objects(index: PackIndex, blobs: list[bytes]) -> list[str]:
    digests = [hash_bytes(b) for b in blobs]
    with index.writer() as writer:
        for digest, blob in zip(digests, blobs, strict=True):
            writer.add(digest, blob)
    return digests


def test_lookups_come_in_batches_and_find_only_what_is_packed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packs, "_FIND_BATCH", 3)  # eight digests: three queries when asked
    index = PackIndex(tmp_path)
    packed = pack_objects(index, [f"object {i}".encode() for i in range(5)])
    absent = [hash_bytes(f"never stored {i}".encode()) for i in range(3)]

    fresh = PackIndex(tmp_path)  # another process: nothing remembered yet
    assert fresh.find([*absent, *packed]) == set(packed)
    assert all(fresh.read(d) == f"object {i}".encode() for i, d in enumerate(packed))
    assert fresh.read(absent[0]) is None
    fresh.close()
    index.close()


def test_an_empty_cache_has_no_index_until_something_is_packed(tmp_path: Path) -> None:
    index = PackIndex(tmp_path)
    assert index.find([hash_bytes(b"x")]) == set()
    assert not index.has(hash_bytes(b"x")) and index.digests() == set()
    assert not (tmp_path / "packs.db").exists()  # asking creates nothing
    pack_objects(index, [b"x"])
    assert index.has(hash_bytes(b"x")) and (tmp_path / "packs.db").exists()


def test_what_another_process_packs_is_seen_after_a_refresh_and_indexed_once(
    tmp_path: Path,
) -> None:
    ours, theirs = PackIndex(tmp_path), PackIndex(tmp_path)
    seen_first, raced = b"packed by them first", b"packed by both at once"
    assert not ours.has(hash_bytes(seen_first))  # looked for before the other process packs it
    pack_objects(theirs, [seen_first])
    ours.refresh()  # as `get` does before it reads
    assert ours.has(hash_bytes(seen_first))

    digest = hash_bytes(raced)
    with ours.writer() as mine, theirs.writer() as other:  # neither sees the other's pack
        assert mine.add(digest, raced) and other.add(digest, raced)
    assert ours.digests() == {hash_bytes(seen_first), digest}  # one entry: the first indexed
    assert ours.read(digest) == raced and theirs.read(digest) == raced
    ours.close()
    theirs.close()


def test_an_index_that_cannot_be_read_is_never_taken_for_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "packs.db").write_bytes(b"not a database, but not empty either " * 100)
    index = PackIndex(tmp_path)
    for _ in range(2):  # the second question fails too: no silent "nothing is packed"
        with pytest.raises(sqlite3.DatabaseError):
            index.has(hash_bytes(b"x"))
