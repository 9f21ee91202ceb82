"""This machine's memory of its files: digests by (path, size, mtime, inode), and which
dataset version each working folder was added as or fetched from.

It lives in ``$KEEL_HOME/data/state.db`` (SQLite, through the standard library: a status
check should not wait for SQLAlchemy to import). A file whose size, modification time,
change time and inode are unchanged is not hashed again; anything else is (the change
time catches a same-size rewrite whose modification time was put back, as ``cp -p`` and
``rsync -t`` do). Losing this file loses nothing
but time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
DROP TABLE IF EXISTS hashes;
CREATE TABLE IF NOT EXISTS stat_cache (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, digest TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkouts (
    root TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL, digest TEXT NOT NULL
) WITHOUT ROWID;
"""


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
        self.db.executescript(_SCHEMA)

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

    def remember(self, entries: Iterable[tuple[str, tuple[int, int, int, int], str]]) -> None:
        """Store ``(path, (size, mtime_ns, ctime_ns, inode), digest)`` entries."""
        rows = [(path, *key, digest) for path, key, digest in entries]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO stat_cache VALUES (?, ?, ?, ?, ?, ?)", rows)

    def checkout(self, root: str) -> Checkout | None:
        row = self.db.execute(
            "SELECT root, name, version, digest FROM checkouts WHERE root = ?", (root,)
        ).fetchone()
        return None if row is None else Checkout(*row)

    def set_checkout(self, checkout: Checkout) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT OR REPLACE INTO checkouts VALUES (?, ?, ?, ?)",
                (checkout.root, checkout.name, checkout.version, checkout.digest),
            )
