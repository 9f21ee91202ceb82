"""Pack files: many small objects in one file, as git keeps them.

Creating a file costs about half a millisecond on a journaled filesystem, whatever its
size, so ten thousand 10 KiB files would spend seconds on file creation alone. Objects
under ``PACK_MAX_BYTES`` that one ``add`` stores are appended to one pack instead:
``<cache>/packs/<id>.pack``, written under a temporary name and renamed whole, then
indexed in ``<cache>/packs.db`` (digest -> pack, offset, size). A crash before the index
is written leaves an unindexed pack, which is never read; a pack is never changed.
Reading an object from a pack checks its digest.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from keel.artifacts.hashing import hash_bytes
from keel.entities.ids import new_id
from keel.errors import CorruptData, NotFound

PACK_MAX_BYTES = 256 * 1024
"""Objects smaller than this go into packs; bigger ones are files of their own."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS packed (
    digest TEXT PRIMARY KEY, pack TEXT NOT NULL, offset INTEGER NOT NULL, size INTEGER NOT NULL
) WITHOUT ROWID;
"""


_FIND = (
    "SELECT digest, pack, offset, size FROM packed WHERE digest IN (SELECT value FROM json_each(?))"
)
_GET = "SELECT pack, offset, size FROM packed WHERE digest = ?"
_FIND_BATCH = 10_000
"""Digests looked up per query (each is one probe of the index, in SQLite)."""
_WHOLE_INDEX_BYTES = 4 * 1024 * 1024
"""An index smaller than this on disk (about 30,000 objects) is read whole on first use,
quicker than one question per object; a bigger one is asked for what each command needs,
so a command costs no more as the cache grows."""

Location = tuple[str, int, int]
"""Where a packed object is: ``(pack, offset, size)``."""


class PackIndex:
    """Where each packed object is: a small index is read whole, a big one is asked for
    the objects a command needs. What it answered is remembered until :meth:`refresh`."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "packs"
        self._db_path = root / "packs.db"
        self._db: sqlite3.Connection | None = None
        self._known: dict[str, Location] = {}
        self._complete: bool | None = None
        """True when ``_known`` is the whole index; None until first use."""
        self._lock = threading.Lock()
        """Guards the connection, ``_known`` and ``_open``: threads share this index."""
        self._open: dict[str, int] = {}
        """Pack file descriptors kept for ``pread`` (thread-safe), one open per pack."""
        self._retired: list[int] = []
        """Descriptors of forgotten packs: another thread may still be reading through one,
        so they are closed only by :meth:`close`."""

    def close(self) -> None:
        with self._lock:
            for fd in [*self._open.values(), *self._retired]:
                os.close(fd)
            self._open.clear()
            self._retired.clear()
            if self._db is not None:
                self._db.close()
                self._db = None

    def _connection(self) -> sqlite3.Connection:
        """The index database, made on first use (under the lock)."""
        if self._db is None:
            self._db_path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self._db_path, timeout=60, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    def _to_ask(self) -> sqlite3.Connection | None:
        """Under the lock: the database to ask about objects not in ``_known``, or None
        when ``_known`` is the whole index (decided on first use: none yet, or small
        enough to read whole)."""
        if self._complete is None:
            size = 0
            for path in (self._db_path, self._db_path.with_name(f"{self._db_path.name}-wal")):
                with contextlib.suppress(FileNotFoundError):
                    size += path.stat().st_size
            complete = size == 0 or size < _WHOLE_INDEX_BYTES  # none yet, or small
            if complete and size:
                rows = self._connection().execute("SELECT digest, pack, offset, size FROM packed")
                self._known = {d: (p, o, s) for d, p, o, s in rows}
            self._complete = complete  # only once read: a failed read is tried again
        return None if self._complete else self._connection()

    def find(self, digests: Iterable[str]) -> set[str]:
        """Which of these objects are packed."""
        wanted = list(digests)
        with self._lock:
            db = self._to_ask()
            if db is not None:
                missing = [d for d in wanted if d not in self._known]
                for start in range(0, len(missing), _FIND_BATCH):
                    batch = json.dumps(missing[start : start + _FIND_BATCH])
                    for digest, pack, offset, size in db.execute(_FIND, (batch,)):
                        self._known[digest] = (pack, offset, size)
            return {d for d in wanted if d in self._known}

    def has(self, digest: str) -> bool:
        return self._locate(digest) is not None

    def _locate(self, digest: str) -> Location | None:
        with self._lock:
            db = self._to_ask()
            where = self._known.get(digest)
            if where is None and db is not None:
                row = db.execute(_GET, (digest,)).fetchone()
                if row is not None:
                    where = self._known[digest] = (row[0], row[1], row[2])
            return where

    def digests(self) -> set[str]:
        """Every packed object, read from the index (for tests and maintenance)."""
        with self._lock:
            if self._db is None and not self._db_path.exists():
                return set()
            return {d for (d,) in self._connection().execute("SELECT digest FROM packed")}

    def refresh(self) -> None:
        """Ask the index again from now on (another process may have changed it)."""
        with self._lock:
            self._known = {}
            self._complete = None

    def read(self, digest: str) -> bytes | None:
        """A packed object's bytes, checked against its digest; None when no pack holds it."""
        where = self._locate(digest)
        if where is None:
            return None
        pack, offset, size = where
        fd = self._open.get(pack)
        if fd is None:
            with self._lock:
                fd = self._open.get(pack)
                if fd is None:
                    try:
                        fd = self._open[pack] = os.open(self.folder / pack, os.O_RDONLY)
                    except FileNotFoundError:
                        self._forget(pack)
                        raise NotFound(
                            f"object {digest[:12]}: its pack {pack} is gone from the cache; it "
                            "is no longer listed, so `keel data pull` (or adding the files "
                            "again) restores it"
                        ) from None
        data = os.pread(fd, size, offset)
        if len(data) != size or hash_bytes(data) != digest:
            with self._lock:
                self._forget(pack)
            raise CorruptData(
                f"object {digest[:12]}: its bytes in pack {pack} do not match its digest; the "
                "pack is damaged and no longer listed, so `keel data pull` (or adding the "
                "files again) restores what it held"
            )
        return data

    def _forget(self, pack: str, *, keep_file: bool = True) -> None:
        """Drop a pack from the index (under the lock). A damaged one's file is kept
        aside as ``<name>.damaged`` for inspection; with ``keep_file=False`` it is
        deleted."""
        db = self._connection()
        with db:
            db.execute("BEGIN")
            db.execute("DELETE FROM packed WHERE pack = ?", (pack,))
        for digest in [d for d, (p, _, _) in self._known.items() if p == pack]:
            del self._known[digest]
        fd = self._open.pop(pack, None)
        if fd is not None:
            self._retired.append(fd)
        path = self.folder / pack
        if not keep_file:
            path.unlink(missing_ok=True)
        elif path.exists():
            os.replace(path, path.with_name(f"{pack}.damaged"))

    def contents(self) -> dict[str, dict[str, int]]:
        """Every indexed pack and what it holds: ``{pack: {digest: size}}`` (for gc)."""
        packs: dict[str, dict[str, int]] = {}
        with self._lock:
            if self._db is None and not self._db_path.exists():
                return packs
            for pack, digest, size in self._connection().execute(
                "SELECT pack, digest, size FROM packed"
            ):
                packs.setdefault(pack, {})[digest] = size
        return packs

    def remove(self, pack: str) -> None:
        """Drop a pack: out of the index first, then its file (a reader that found it in
        the index before keeps reading through its open descriptor)."""
        with self._lock:
            self._forget(pack, keep_file=False)

    def writer(self) -> PackWriter:
        return PackWriter(self)

    def _commit(self, pack: str, placed: dict[str, tuple[int, int]]) -> None:
        with self._lock:
            db = self._connection()
            with db:
                db.execute("BEGIN")
                db.executemany(
                    "INSERT OR IGNORE INTO packed VALUES (?, ?, ?, ?)",
                    [(d, pack, offset, size) for d, (offset, size) in placed.items()],
                )
            if self._complete:  # still the whole index, as far as this process knows
                for d, (offset, size) in placed.items():
                    self._known.setdefault(d, (pack, offset, size))
            else:  # another process may have packed some first: ask again
                for d in placed:
                    self._known.pop(d, None)


class PackWriter:
    """Collects small objects from many threads into one new pack; on a clean exit the
    pack is renamed into place and indexed, on an error it is discarded."""

    def __init__(self, index: PackIndex) -> None:
        self.index = index
        self.name = f"{new_id()[:24]}.pack"
        self._tmp: Path | None = None
        self._out: object = None
        self._placed: dict[str, tuple[int, int]] = {}
        self._offset = 0
        self._lock = threading.Lock()

    def __enter__(self) -> PackWriter:
        return self

    def add(self, digest: str, data: bytes) -> bool:
        """Append an object unless the cache or this pack has it; True when appended."""
        with self._lock:
            if digest in self._placed or self.index.has(digest):
                return False
            if self._out is None:
                self.index.folder.mkdir(parents=True, exist_ok=True)
                self._tmp = self.index.folder / f".{self.name}.tmp-{new_id()[:12]}"
                self._out = open(self._tmp, "wb")  # noqa: SIM115 (closed in __exit__)
            self._out.write(data)  # type: ignore[attr-defined]
            self._placed[digest] = (self._offset, len(data))
            self._offset += len(data)
            return True

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._out is None or self._tmp is None:
            return
        self._out.close()  # type: ignore[attr-defined]
        if kind is not None:
            self._tmp.unlink(missing_ok=True)
            return
        os.chmod(self._tmp, 0o444)
        os.replace(self._tmp, self.index.folder / self.name)
        self.index._commit(self.name, self._placed)
