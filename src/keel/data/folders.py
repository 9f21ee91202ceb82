"""Housekeeping in a working folder that a version is written over: folders that emptied
are removed, and an empty folder where a file must go makes way for it; and a lock for
work on a folder that other processes share."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Collection, Iterator
from pathlib import Path

from keel.errors import Conflict


def remove_empty_folders(root: Path) -> None:
    """Remove folders under ``root`` that hold nothing (deepest first), keeping ``root``."""
    for current, _, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
        if current != str(root):
            with contextlib.suppress(OSError):
                os.rmdir(current)


def clear_way(root: str, relative: str) -> None:
    """An empty folder where a file must go is removed; anything else there is refused."""
    target = os.path.join(root, relative)
    if os.path.isdir(target) and not os.path.islink(target):
        try:
            os.rmdir(target)
        except OSError:
            raise Conflict(
                f"out {root!r}: {relative!r} is a folder with files in it, where the version "
                "has a file; move it away first"
            ) from None


@contextlib.contextmanager
def locked(lock: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold a lock on the file ``lock`` (made if missing) against other processes and
    threads of this machine until the block ends: exclusive, or ``shared`` with other
    shared holders."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


LEFTOVER_AGE_S = 600
"""A temporary file left in a folder this long ago is no running get's."""


def remove_leftovers(root: str, leftovers: list[str], names: Collection[str]) -> None:
    """Delete the temporary files an interrupted get left under ``root`` (paths found by
    a walk): only those named for one of ``names`` (relative paths of the version being
    put there), and only once they are old enough that no running get still writes them."""
    old = time.time() - LEFTOVER_AGE_S
    for path in leftovers:
        folder, name = os.path.split(path)
        relative = os.path.relpath(os.path.join(folder, name[1 : -len(".tmp-") - 12]), root)
        with contextlib.suppress(FileNotFoundError):
            if relative in names and os.stat(path).st_mtime < old:
                os.unlink(path)
