"""This machine's memory of its files: digests by (path, size, mtime, inode), and which
dataset version each working folder was added as or fetched from.

It lives in ``$KEEL_HOME/data/state.db`` (SQLite, through the standard library: a status
check should not wait for SQLAlchemy to import). A file whose size, modification time,
change time and inode are unchanged is not hashed again; anything else is (the change
time catches a same-size rewrite whose modification time was put back, as ``cp -p`` and
``rsync -t`` do). Losing this file loses nothing
but time.

Each checkout also keeps its files as they were when the folder was added or fetched:
path, size, times, inode and the version's digest, in one blob. ``status`` compares a
walk of the folder against that alone: no manifest to parse, no stat cache to read,
unless a file's stat changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

_SCHEMA = """
DROP TABLE IF EXISTS hashes;
CREATE TABLE IF NOT EXISTS stat_cache (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, digest TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkouts (
    root TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL, digest TEXT NOT NULL,
    files BLOB
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS used (
    store TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (store, digest)
) WITHOUT ROWID;
"""

FileRow = tuple[str, int, int, int, int, str]
"""``(path, size, mtime_ns, ctime_ns, inode, digest)``: a file as last seen, and its
digest. The path is absolute in the stat cache, relative to the folder in a snapshot."""

Snapshot = dict[str, list[int | str]]
"""A checkout's files: relative path -> ``[size, mtime_ns, ctime_ns, inode, digest]``, the
digest being the version's. Times of -1 are unknown (the file is hashed to be sure)."""


@dataclass(frozen=True, slots=True)
class Checkout:
    root: str
    name: str
    version: int
    digest: str


class LocalState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        had_used = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'used'"
        ).fetchone()
        self.db.executescript(_SCHEMA)
        self.used_is_new = had_used is None
        """The record of versions used was made just now: the cache may hold versions from
        before it, of stores nobody knows (see ``DataClient``)."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(checkouts)")}
        if "files" not in columns:  # a state file from before snapshots
            try:
                self.db.execute("ALTER TABLE checkouts ADD COLUMN files BLOB")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise

    def close(self) -> None:
        self.db.close()

    def known_digests(self, under: str) -> dict[str, tuple[tuple[int, int, int, int], str]]:
        """``path -> ((size, mtime_ns, ctime_ns, inode), digest)`` for every path at or
        under ``under``."""
        rows = self.db.execute(
            "SELECT path, size, mtime_ns, ctime_ns, inode, digest FROM stat_cache "
            "WHERE path = ? OR (path >= ? AND path < ?)",
            (under, under + "/", under + "0"),  # '0' sorts right after '/'
        )
        return {
            path: ((size, mtime, ctime, inode), digest)
            for path, size, mtime, ctime, inode, digest in rows
        }

    def remember(self, rows: Iterable[FileRow]) -> None:
        """Keep the digests of these files, by absolute path, until their stat changes."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO stat_cache VALUES (?, ?, ?, ?, ?, ?)", rows)

    def checkouts(self) -> list[Checkout]:
        """Every folder this machine recorded a version for (some may be gone since)."""
        rows = self.db.execute("SELECT root, name, version, digest FROM checkouts")
        return [Checkout(*row) for row in rows]

    def used(self, store: str, digest: str) -> None:
        """Record that this machine added or fetched the version ``digest`` of ``store``
        (a key naming the store; see ``keel.uri.store_key``)."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT OR IGNORE INTO used VALUES (?, ?)", (store, digest))

    def stores_of(self) -> dict[str, set[str]]:
        """``{version digest: the stores this machine used it of}``."""
        stores: dict[str, set[str]] = {}
        for store, digest in self.db.execute("SELECT store, digest FROM used"):
            stores.setdefault(digest, set()).add(store)
        return stores

    def checkout(self, root: str) -> Checkout | None:
        row = self.db.execute(
            "SELECT root, name, version, digest FROM checkouts WHERE root = ?", (root,)
        ).fetchone()
        return None if row is None else Checkout(*row)

    def set_checkout(self, checkout: Checkout, files: Sequence[FileRow]) -> None:
        """Record what ``checkout.root`` holds: each of its files by relative path, with
        the version's digest of it."""
        blob = orjson.dumps(files)
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT OR REPLACE INTO checkouts (root, name, version, digest, files) "
                "VALUES (?, ?, ?, ?, ?)",
                (checkout.root, checkout.name, checkout.version, checkout.digest, blob),
            )

    def snapshot(self, root: str) -> tuple[Snapshot, bytes] | None:
        """The files ``root`` held when it was last added or fetched, and the stored form
        to hand back to :meth:`update_snapshot`; None when this machine has no snapshot
        of it (no checkout, or one recorded before snapshots)."""
        row = self.db.execute("SELECT files FROM checkouts WHERE root = ?", (root,)).fetchone()
        if row is None or row[0] is None:
            return None
        return {entry[0]: entry[1:] for entry in orjson.loads(row[0])}, row[0]

    def update_snapshot(self, root: str, read: bytes | None, snapshot: Snapshot) -> None:
        """Store what was learnt about a checkout's files, unless its snapshot is no longer
        the one read (``read``; None: there was none): a get or add meanwhile wins."""
        blob = orjson.dumps([[relative, *entry] for relative, entry in snapshot.items()])
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "UPDATE checkouts SET files = ? WHERE root = ? AND files IS ?", (blob, root, read)
            )

    def forget(self, root: str) -> None:
        """Drop what this machine knows of a folder and the files under it (one that was
        renamed away, such as a staging folder)."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "DELETE FROM checkouts WHERE root = ? OR (root >= ? AND root < ?)",
                (root, root + "/", root + "0"),
            )
            self.db.execute(
                "DELETE FROM stat_cache WHERE path = ? OR (path >= ? AND path < ?)",
                (root, root + "/", root + "0"),
            )

    def digests_of(self, paths: Sequence[str]) -> dict[str, tuple[tuple[int, int, int, int], str]]:
        """``known_digests`` for these paths only (a handful, usually)."""
        rows = self.db.execute(
            "SELECT path, size, mtime_ns, ctime_ns, inode, digest FROM stat_cache "
            "WHERE path IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(paths)).decode(),),
        )
        return {
            path: ((size, mtime, ctime, inode), digest)
            for path, size, mtime, ctime, inode, digest in rows
        }
