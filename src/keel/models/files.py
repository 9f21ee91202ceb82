"""A package's files on disk: listing them when saving, checking them before loading.

A load reads nothing a flavor will parse until every listed file has been found as a
plain file inside the folder with its recorded size and BLAKE3 digest, and no file the
manifest does not list is there (a planted file is refused like a changed one).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from keel.artifacts.hashing import hash_stream
from keel.errors import CorruptData
from keel.models.manifest import MANIFEST_NAME, FileEntry


def walk(folder: Path) -> list[str]:
    """Every plain file below ``folder`` as a relative ``/`` path; CorruptData for a
    link, a device or anything else that is not a plain file or folder."""
    found: list[str] = []
    for directory, subfolders, filenames in os.walk(folder, followlinks=False):
        for name in [*subfolders, *filenames]:
            path = Path(directory, name)
            mode = path.lstat().st_mode
            relative = path.relative_to(folder).as_posix()
            if stat.S_ISLNK(mode):
                raise CorruptData(f"model package: {relative!r} is a link; packages hold files")
            if stat.S_ISREG(mode):
                found.append(relative)
            elif not stat.S_ISDIR(mode):
                raise CorruptData(f"model package: {relative!r} is not a plain file")
    return sorted(found)


def describe(folder: Path) -> dict[str, FileEntry]:
    """Size and digest of every file but the manifest, each flushed to disk on the way."""
    entries: dict[str, FileEntry] = {}
    for relative in walk(folder):
        if relative == MANIFEST_NAME:
            continue
        with open(folder / relative, "rb") as src:
            digest, size = hash_stream(src)
            os.fsync(src.fileno())
        entries[relative] = FileEntry(size, digest)
    return entries


def verify(folder: Path, files: Mapping[str, FileEntry]) -> None:
    """CorruptData unless the folder holds exactly the listed files, unchanged."""
    root = folder.resolve()
    on_disk = set(walk(root)) - {MANIFEST_NAME}
    missing = sorted(set(files) - on_disk)
    if missing:
        raise CorruptData(f"model package: listed files are missing: {missing[:10]}")
    unlisted = sorted(on_disk - set(files))
    if unlisted:
        raise CorruptData(f"model package: files not in its manifest were added: {unlisted[:10]}")
    for relative, entry in sorted(files.items()):
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise CorruptData(f"model package: {relative!r} resolves outside the package")
        if path.stat().st_size != entry.size:
            raise CorruptData(
                f"model package: {relative!r} is {path.stat().st_size} bytes, the manifest "
                f"says {entry.size}; it was changed or truncated"
            )
        with open(path, "rb") as src:
            digest, _ = hash_stream(src)
        if digest != entry.blake3:
            raise CorruptData(
                f"model package: {relative!r} does not match its BLAKE3 digest "
                f"(expected {entry.blake3}, got {digest}); it was changed or corrupted"
            )
