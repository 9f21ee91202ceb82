"""What a path to add holds: its files, with their sizes and modification times.

A folder is walked with ``os.scandir`` (one ``stat`` per entry, no more). A symbolic link
is never followed out of the folder: one that resolves to a regular file inside it is
stored as that file's content; one that points outside, dangles or names a folder is
refused, with every such path listed. Given an :class:`~keel.data.ignore.Ignore`, the walk
leaves out Keel's own folders and what the folder's ``.keelignore`` lists, without
entering an ignored folder.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from keel.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from keel.data.ignore import FolderIgnore, Ignore


class FoundFile(NamedTuple):  # a tuple: ten thousand of these are made per scan
    relative: str
    """POSIX path inside the added folder (the file's own name for a single file)."""
    path: str
    """Absolute path on disk."""
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @property
    def key(self) -> tuple[int, int, int, int]:
        """What must be unchanged for the file's last digest to hold: size, modification
        and change times (tools can restore the first two, never the change time), inode."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)

    def row(self, digest: str, *, relative: bool = False) -> tuple[str, int, int, int, int, str]:
        """The file as seen, with its digest: a row of the local state (``FileRow``)."""
        where = self.relative if relative else self.path
        return (where, self.size, self.mtime_ns, self.ctime_ns, self.inode, digest)


LEFTOVER = re.compile(r"\..+\.tmp-[0-9a-f]{12}")
"""How Keel names a file while it writes it (``.NAME.tmp-`` and 12 hex digits). One left
by an interrupted ``get`` is not part of the folder: it is never added, and the next
``get`` into the folder removes it."""


def found(relative: str, path: str, info: os.stat_result) -> FoundFile:
    return FoundFile(relative, path, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def scan(
    path: Path, leftovers: list[str] | None = None, *, ignore: Ignore | None = None
) -> tuple[bool, list[FoundFile]]:
    """``(is_folder, files)`` of a file or folder; NotFound or InvalidArgument when it
    cannot be added. Keel's own unfinished files are skipped (their paths are put in
    ``leftovers`` when it is given); so is what ``ignore`` leaves out of a folder (a
    private copy of a version is walked without it: it holds the version, nothing else)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise NotFound(f"path {str(path)!r}: does not exist") from None
    except PermissionError:
        raise InvalidArgument(f"path {str(path)!r}: cannot be read (permission denied)") from None
    if stat.S_ISREG(info.st_mode):
        if not os.access(path, os.R_OK):
            raise InvalidArgument(f"path {str(path)!r}: cannot be read (permission denied)")
        return False, [found(path.name, str(path.absolute()), info)]
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidArgument(f"path {str(path)!r}: not a regular file or folder")
    root = path.absolute()
    files: list[FoundFile] = []
    refused: list[str] = []
    unreadable: list[str] = []
    skipped = leftovers if leftovers is not None else []
    real_root = root.resolve()
    ignored = ignore.in_folder(real_root) if ignore is not None else None
    _walk(str(root), "", real_root, files, refused, unreadable, skipped, ignored)
    if refused:
        raise InvalidArgument(
            f"path {str(path)!r}: holds entries Keel does not add (symbolic links that leave "
            f"the folder, dangle or name a folder; sockets, devices): "
            f"{', '.join(sorted(refused)[:10])}"
            + (f" and {len(refused) - 10} more" if len(refused) > 10 else "")
        )
    if unreadable:
        raise InvalidArgument(
            f"path {str(path)!r}: cannot read {', '.join(sorted(unreadable)[:10])}"
        )
    files.sort(key=lambda f: f.relative)
    return True, files


def _walk(
    folder: str,
    prefix: str,
    real_root: Path,
    files: list[FoundFile],
    refused: list[str],
    unreadable: list[str],
    leftovers: list[str],
    ignored: FolderIgnore | None,
) -> None:
    try:
        entries = list(os.scandir(folder))
    except PermissionError:
        unreadable.append(prefix or ".")
        return
    for entry in entries:
        relative = f"{prefix}{entry.name}"
        if ignored is not None and ignored(
            relative, entry.name, is_dir=entry.is_dir(follow_symlinks=False)
        ):
            continue
        if entry.is_symlink():
            target = Path(entry.path).resolve()
            if target.is_file() and target.is_relative_to(real_root):
                info = target.stat()
                files.append(found(relative, entry.path, info))
            else:
                refused.append(relative)
        elif entry.is_dir(follow_symlinks=False):
            _walk(
                entry.path,
                f"{relative}/",
                real_root,
                files,
                refused,
                unreadable,
                leftovers,
                ignored,
            )
        elif entry.is_file(follow_symlinks=False):
            if entry.name[0] == "." and LEFTOVER.fullmatch(entry.name):
                leftovers.append(entry.path)
                continue
            files.append(found(relative, entry.path, entry.stat(follow_symlinks=False)))
        else:
            refused.append(relative)
