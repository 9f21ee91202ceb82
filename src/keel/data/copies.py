"""Private copies: one read-only copy of a version under the cache, which
``keel.data.load`` hands out. It is made once and reused while it is intact; one that was
edited, or lost a file, is set aside and made again (checked by each file's stat, as
``status`` checks a folder), under a lock beside it so that two processes never set each
other's fresh copy aside."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from keel.data.folders import locked
from keel.data.scan import scan
from keel.data.state import Checkout
from keel.entities.dataset import DatasetVersion
from keel.entities.ids import new_id
from keel.errors import NotFound

if TYPE_CHECKING:
    from keel.data.client import DataClient


def private_copy(client: DataClient, version: DatasetVersion) -> Path:
    """A private, read-only copy of a version under the cache, made once and reused
    while it is intact: one that was edited, or lost a file, is set aside and made
    again (checked by each file's stat, as ``status`` checks a folder)."""
    folder = client.cache.root.parent / "checkouts" / version.digest
    with locked(folder.with_name(f".{folder.name}.lock")):  # one checker at a time
        if folder.exists():
            if _intact(client, folder, version):
                return folder
            aside = folder.with_name(f".{folder.name}.damaged-{new_id()[:12]}")
            with contextlib.suppress(FileNotFoundError):
                os.rename(folder, aside)
            shutil.rmtree(aside, ignore_errors=True)
        staging = folder.with_name(f".{folder.name}.partial-{new_id()[:12]}")
        try:
            client.get(version, staging)
            for path in staging.rglob("*"):
                if path.is_file():
                    path.chmod(0o444)  # a shared copy: nobody edits it in place
            with contextlib.suppress(OSError):  # made meanwhile by a Keel without the lock
                os.rename(staging, folder)
        finally:
            client.state.forget(str(staging))  # a private copy, never a working folder
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        _record(client, folder, version)
    return folder


def _intact(client: DataClient, folder: Path, version: DatasetVersion) -> bool:
    root = str(folder)
    checkout = client.state.checkout(root)
    try:
        _, found = scan(folder)
    except NotFound:  # deleted meanwhile (not by Keel: it holds the lock)
        return False
    if checkout is None:  # made before private copies were recorded: hashed once
        checkout = Checkout(root, version.name, version.version, version.digest)
    if not client._changes(root, found, checkout).clean:
        return False
    if client.state.snapshot(root) is None:
        _record(client, folder, version)
    return True


def _record(client: DataClient, folder: Path, version: DatasetVersion) -> None:
    """Keep the stat of each file of a private copy as it is now (read-only)."""
    files = client.manifest(version.digest).files
    _, found = scan(folder)
    rows = [f.row(files[f.relative].digest, relative=True) for f in found if f.relative in files]
    client.state.set_checkout(
        Checkout(str(folder), version.name, version.version, version.digest), rows
    )
