"""The offline spool: write batches that could not reach the store wait here, on disk.

One folder per store address; one file per batch, named so that sorting the names gives
the order the batches were made in. A file is written to a temporary name and renamed, and
removed only once the store acknowledged its batch. Replaying a batch the store already
applied is harmless: the store remembers batch ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path

import orjson

from keel.entities import WriteBatch


class Spool:
    def __init__(self, root: Path, store_address: str) -> None:
        digest = hashlib.sha256(store_address.encode()).hexdigest()[:16]
        self.folder = root / digest

    def __len__(self) -> int:
        return len(self._files())

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.suffix == ".batch")

    def append(self, batch: WriteBatch) -> Path:
        # Imported here: every tracking client imports this module, and the wire's
        # pydantic schemas are for the clients of a server (the only ones that spool).
        from keel.wire.writes import batch_to_dict

        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{batch.batch_id}"
        final = self.folder / f"{name}.batch"
        temp = self.folder / f".{name}.tmp"
        with open(temp, "wb") as out:
            out.write(orjson.dumps(batch_to_dict(batch)))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, final)
        return final

    def pending(self) -> list[tuple[Path, WriteBatch]]:
        """Spooled batches, oldest first. Unreadable files are set aside as ``.bad``."""
        from keel.wire.writes import batch_from_json

        found = []
        for path in self._files():
            try:
                found.append((path, batch_from_json(path.read_bytes())))
            except Exception:
                with contextlib.suppress(OSError):
                    path.rename(path.with_suffix(".bad"))
        return found

    def remove(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
