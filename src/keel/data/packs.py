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

import os
import sqlite3
import threading
from pathlib import Path
from types import TracebackType

from keel.artifacts.hashing import hash_bytes
from keel.entities.ids import new_id
from keel.errors import IntegrityError, NotFound

PACK_MAX_BYTES = 256 * 1024
"""Objects smaller than this go into packs; bigger ones are files of their own."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS packed (
    digest TEXT PRIMARY KEY, pack TEXT NOT NULL, offset INTEGER NOT NULL, size INTEGER NOT NULL
) WITHOUT ROWID;
"""


class PackIndex:
    """Where each packed object is; read once into memory, appended to as packs close."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "packs"
        self._db_path = root / "packs.db"
        self._entries: dict[str, tuple[str, int, int]] | None = None
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}
        """Pack file descriptors kept for ``pread`` (thread-safe), one open per pack."""

    def close(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()

    def _db(self) -> sqlite3.Connection:
        self._db_path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._db_path, timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)
        return db

    @property
    def entries(self) -> dict[str, tuple[str, int, int]]:
        if self._entries is None:
            with self._lock:
                if self._entries is None:
                    if not self._db_path.exists():
                        self._entries = {}
                    else:
                        db = self._db()
                        rows = db.execute("SELECT digest, pack, offset, size FROM packed")
                        self._entries = {d: (p, o, s) for d, p, o, s in rows}
                        db.close()
        return self._entries

    def has(self, digest: str) -> bool:
        return digest in self.entries

    def refresh(self) -> None:
        """Read the index again on next use (another process may have added packs)."""
        with self._lock:
            self._entries = None

    def read(self, digest: str) -> bytes:
        pack, offset, size = self.entries[digest]
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
            self._forget(pack)
            raise IntegrityError(
                f"object {digest[:12]}: its bytes in pack {pack} do not match its digest; the "
                "pack is damaged and no longer listed, so `keel data pull` (or adding the "
                "files again) restores what it held"
            )
        return data

    def _forget(self, pack: str) -> None:
        """Drop a damaged or missing pack from the index (its file, if any, is kept aside
        as ``<name>.damaged`` for inspection)."""
        db = self._db()
        with db:
            db.execute("BEGIN")
            db.execute("DELETE FROM packed WHERE pack = ?", (pack,))
        db.close()
        entries = self._entries or {}
        for digest in [d for d, (p, _, _) in entries.items() if p == pack]:
            del entries[digest]
        fd = self._open.pop(pack, None)
        if fd is not None:
            os.close(fd)
        path = self.folder / pack
        if path.exists():
            os.replace(path, path.with_name(f"{pack}.damaged"))

    def writer(self) -> PackWriter:
        return PackWriter(self)

    def _commit(self, pack: str, placed: dict[str, tuple[int, int]]) -> None:
        db = self._db()
        with db:
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR IGNORE INTO packed VALUES (?, ?, ?, ?)",
                [(d, pack, offset, size) for d, (offset, size) in placed.items()],
            )
        db.close()
        entries = self.entries
        for d, (offset, size) in placed.items():
            entries.setdefault(d, (pack, offset, size))


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
