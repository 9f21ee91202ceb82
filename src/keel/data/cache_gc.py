"""``gc``: free the local cache of the objects this machine can fetch again.

One cache serves every store this machine uses, and the same bytes may belong to versions
of several stores, so an object leaves the cache only when all of these hold:

- no folder on this machine that still exists (added, fetched, or a private copy that
  ``load`` made) holds a version with it;
- every version this machine knows with it is one it used of the store ``gc`` runs
  against: a version of another store, or one from before Keel recorded stores, keeps
  its objects (that store's remote is not asked);
- this store's remote holds the object and it reads back whole: each is hashed there
  first, so a damaged remote copy never costs the good local one.

A pack goes only when everything in it may go (packs are never rewritten). Manifests
stay: a few KiB per version. Nothing else is changed: folders that are gone are skipped,
not forgotten (a drive may come back). Commands that use the cache hold a shared lock on
it from their first look to their record of what they used; gc removes only under the
exclusive lock, after surveying again, so none of them loses an object meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keel.data.folders import locked
from keel.errors import InvalidArgument

if TYPE_CHECKING:
    from keel.data.client import DataClient
    from keel.data.objects import ObjectCache


_DIGEST = re.compile(r"[0-9a-f]{64}")
"""An object's file name (with its folder's two characters): not a ``.tmp-`` file."""


@dataclass(frozen=True, slots=True)
class Collected:
    """What a gc removed (or, with ``dry_run``, would remove), what it kept, and why."""

    removed: int
    freed_bytes: int
    in_use: int
    """Objects kept because a folder on this machine holds a version with them."""
    other_stores: int
    """Objects kept because a version of another store (or one used before Keel
    recorded stores) has them."""
    not_on_remote: int
    """Objects kept because this store's remote lacks them, or holds them damaged: push
    (``push --verify``) to let gc free them."""
    not_on_remote_bytes: int
    packed_with_kept: int
    """Objects that could go but share a pack with ones that must stay."""
    dry_run: bool


def collect(client: DataClient, *, dry_run: bool = False) -> Collected:
    """Reading the remote back takes as long as the objects are big, so it runs without
    the lock; then, under an exclusive lock on the cache (commands that use it hold it
    shared from their first look to their record of what they used), what may go is
    worked out again and only what was read back is removed. A dry run takes no lock."""
    store = client.store_key
    if store is None:
        raise InvalidArgument(
            "gc: this client does not know which store it uses (it was given a store "
            "object); open it from a tracking URI"
        )
    first = _survey(client, store)
    not_on_remote = (
        client.remote.missing(first.candidates, verify=True) if first.candidates else set()
    )
    read_back = first.candidates - not_on_remote
    if dry_run:
        return _remove(client, first, read_back, not_on_remote, dry_run=True)
    with locked(client.cache.root / "lock"):
        return _remove(client, _survey(client, store), read_back, not_on_remote, dry_run=False)


@dataclass(frozen=True, slots=True)
class _Survey:
    held: dict[str, int]
    loose: set[str]
    packs: dict[str, dict[str, int]]
    in_use: set[str]
    elsewhere: set[str]

    @property
    def candidates(self) -> set[str]:
        return self.held.keys() - self.in_use - self.elsewhere


def _survey(client: DataClient, store: str) -> _Survey:
    """What the cache holds, and which of it a folder here or another store's version
    needs."""
    cache = client.cache
    cache.packs.refresh()
    held = _loose_objects(cache)
    loose = set(held)
    packs = cache.packs.contents()
    for contents in packs.values():
        held.update(contents)
    in_use = _in_use(client) & held.keys()
    elsewhere = _of_other_stores(client, store) & held.keys()
    return _Survey(held, loose, packs, in_use, elsewhere)


def _remove(
    client: DataClient,
    survey: _Survey,
    read_back: set[str],
    not_on_remote: set[str],
    *,
    dry_run: bool,
) -> Collected:
    removable = survey.candidates & read_back
    removed: set[str] = set()
    for digest in sorted(removable & survey.loose):
        if not dry_run:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(client.cache.object_path(digest))
        removed.add(digest)
    kept_in_packs: set[str] = set()
    for pack, contents in survey.packs.items():
        if not removable.issuperset(contents):
            kept_in_packs |= removable.intersection(contents) - removed
            continue
        if not dry_run:
            client.cache.packs.remove(pack)
        removed.update(contents)
    held = survey.held
    kept = not_on_remote & held.keys()
    return Collected(
        removed=len(removed),
        freed_bytes=sum(held[d] for d in removed),
        in_use=len(survey.in_use),
        other_stores=len(survey.elsewhere - survey.in_use),
        not_on_remote=len(kept),
        not_on_remote_bytes=sum(held[d] for d in kept),
        packed_with_kept=len(kept_in_packs),
        dry_run=dry_run,
    )


def _in_use(client: DataClient) -> set[str]:
    """Every object a folder on this machine that still exists holds a version with."""
    needed: set[str] = set()
    for checkout in client.state.checkouts():
        if os.path.lexists(checkout.root):
            needed |= _objects_of(client, checkout.digest, f"folder {checkout.root!r}")
    return needed


def _of_other_stores(client: DataClient, store: str) -> set[str]:
    """Every object of a version in the local cache that this machine did not use only
    of ``store``: of another store, or from before Keel recorded stores."""
    stores_of = client.state.stores_of()
    kept: set[str] = set()
    for path in client.cache.manifests.glob("*.json"):
        digest = path.stem
        if stores_of.get(digest) != {store}:  # another's, "?" (unknown) or never recorded
            kept |= _objects_of(client, digest, f"manifest {digest[:12]}")
    return kept


def _objects_of(client: DataClient, digest: str, what: str) -> set[str]:
    try:
        manifest = client.manifest(digest)  # the local cache's, else the store's
    except Exception as exc:  # keep everything rather than guess what it needs
        raise InvalidArgument(
            f"gc: cannot tell which objects {what} needs ({exc}); nothing was removed"
        ) from exc
    return {f.digest for f in manifest.files.values()}


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
            if _DIGEST.fullmatch(digest) and entry.is_file(follow_symlinks=False):
                found[digest] = entry.stat(follow_symlinks=False).st_size
    return found
