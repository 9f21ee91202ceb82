"""``gc``: free the local cache of the objects this machine can fetch again.

An object leaves the cache only when both hold:

- no dataset folder on this machine needs it: no folder added or fetched here that still
  exists (nor a private copy that ``load`` made) holds a version with it;
- the remote (``<artifact root>/datasets``, directly or through ``keel server``) holds it,
  so ``get`` pulls it back when it is wanted again.

An object that only this cache holds is never removed, whatever it belongs to: it may be
the only copy of a version. A pack goes only when everything in it may go (packs are never
rewritten). Manifests stay: they are a few KiB per version. Another Keel command running
meanwhile loses nothing: what it finds gone it pulls, or tells the user to pull.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keel.errors import InvalidArgument

if TYPE_CHECKING:
    from keel.data.client import DataClient
    from keel.data.objects import ObjectCache


@dataclass(frozen=True, slots=True)
class Collected:
    """What a gc removed (or, with ``dry_run``, would remove) and what it kept, and why."""

    removed: int
    freed_bytes: int
    in_use: int
    """Objects kept because a folder on this machine holds a version with them."""
    not_pushed: int
    """Objects kept because the remote lacks them: push them first."""
    not_pushed_bytes: int
    packed_with_kept: int
    """Objects that could go but share a pack with ones that must stay."""
    dry_run: bool


def collect(client: DataClient, *, dry_run: bool = False) -> Collected:
    cache = client.cache
    cache.packs.refresh()
    in_use = _in_use(client, forget_gone=not dry_run)
    loose = _loose_objects(cache)
    packs = cache.packs.contents()
    held = dict(loose)
    for contents in packs.values():
        held.update(contents)
    unused = {digest for digest in held if digest not in in_use}
    only_here = client.remote.missing(unused) if unused else set()
    removable = unused - only_here

    removed = freed = kept_in_packs = 0
    for digest in removable & loose.keys():
        if not dry_run:
            with contextlib.suppress(FileNotFoundError):  # another gc took it first
                os.unlink(cache.object_path(digest))
        removed += 1
        freed += loose[digest]
    for pack, contents in packs.items():
        if not removable.issuperset(contents):
            kept_in_packs += len(removable.intersection(contents))
            continue
        if not dry_run:
            cache.packs.remove(pack)
        removed += len(contents)
        freed += sum(contents.values())
    return Collected(
        removed=removed,
        freed_bytes=freed,
        in_use=len(in_use.intersection(held)),
        not_pushed=len(only_here),
        not_pushed_bytes=sum(held[d] for d in only_here),
        packed_with_kept=kept_in_packs,
        dry_run=dry_run,
    )


def _in_use(client: DataClient, *, forget_gone: bool) -> set[str]:
    """Every object a folder on this machine holds a version with. A folder that is gone
    needs nothing; with ``forget_gone`` what this machine knew of it is dropped."""
    needed: set[str] = set()
    for checkout in client.state.checkouts():
        if not os.path.lexists(checkout.root):
            if forget_gone:
                client.state.forget(checkout.root)
            continue
        try:
            manifest = client.manifest(checkout.digest)
        except Exception as exc:  # keep everything rather than guess what it needs
            raise InvalidArgument(
                f"gc: cannot tell which objects {checkout.root!r} needs "
                f"({checkout.name}@{checkout.version}: {exc}); nothing was removed"
            ) from exc
        needed.update(f.digest for f in manifest.files.values())
    return needed


def _loose_objects(cache: ObjectCache) -> dict[str, int]:
    """``{digest: size}`` of every object kept as a file of its own."""
    found: dict[str, int] = {}
    try:
        folders = list(os.scandir(cache.objects))
    except FileNotFoundError:
        return found
    for folder in folders:
        if len(folder.name) != 2 or not folder.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(folder.path):
            digest = folder.name + entry.name
            if len(digest) == 64 and entry.is_file(follow_symlinks=False):  # not a .tmp- file
                found[digest] = entry.stat(follow_symlinks=False).st_size
    return found
