"""Writing a version's files into a folder from the local object cache: a new folder is
filled out of sight and renamed into place; files are placed one by one, each reported as
the row the local state keeps of it."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from keel.data.hashing import parallel_map
from keel.data.objects import LinkMode, ObjectCache
from keel.data.state import FileRow
from keel.entities.dataset_manifest import DataFile, DataManifest
from keel.entities.ids import new_id
from keel.entities.progress import Progress
from keel.errors import Conflict


def materialise_new(
    cache: ObjectCache,
    folder: Path,
    manifest: DataManifest,
    link: LinkMode,
    progress: Progress | None,
) -> list[FileRow]:
    """Write a version into a private folder beside ``folder`` (which does not exist),
    then rename it into place: the folder appears whole or not at all, and each file
    is written once, straight to its name. (An existing folder, even an empty one, is
    filled file by file: renaming over it would strand whoever has it open, such as
    a shell whose working folder it is.)"""
    root = folder.absolute()
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.with_name(f".keel-partial-{new_id()[:12]}")  # short: any name fits
    files = manifest.files
    try:
        for parent in sorted({r.rpartition("/")[0] for r in files}):
            os.makedirs(os.path.join(staging, parent), exist_ok=True)
        placed = place(cache, files.items(), str(staging), link, False, progress)
        try:
            os.rename(staging, root)  # refused if a folder with files appeared meanwhile
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
            raise Conflict(
                f"out {str(folder)!r}: was created by something else while the version "
                "was being fetched; nothing of the version was put there"
            ) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return placed


def place(
    cache: ObjectCache,
    items: Iterable[tuple[str, DataFile]],
    write_root: str,
    link: LinkMode,
    whole: bool,
    progress: Progress | None,
) -> list[FileRow]:
    """Write each ``(relative path, file)`` under ``write_root`` (each replaced whole with
    ``whole``; else written in place, for a private staging folder): the row of each, as
    written."""

    def place_one(item: tuple[str, DataFile]) -> FileRow:
        relative, entry = item
        target = os.path.join(write_root, relative)
        cache.copy_out(entry.digest, target, link=link, whole=whole)
        info = os.stat(target)
        if progress is not None:
            progress.advance(entry.size)
            progress.file_done()
        return (
            relative,
            info.st_size,
            info.st_mtime_ns,
            info.st_ctime_ns,
            info.st_ino,
            entry.digest,
        )

    items = list(items)
    if progress is not None:
        progress.start(sum(entry.size for _, entry in items), len(items), "copying")
    return list(parallel_map(place_one, items, weight=lambda item: item[1].size))
