"""``DataClient``: add a path as a dataset version, fetch a version into a folder, and tell
what changed — in a folder since its version, or between two versions.

The database holds versions (:class:`keel.store.DatasetStore`); the local object cache
holds bytes and manifests (:class:`ObjectCache`); the local state remembers digests by file
stat and which version each folder holds (:class:`LocalState`). ``status`` touches only
the last two, so it never waits on the database.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from keel.data.folders import clear_way, locked, remove_empty_folders, remove_leftovers
from keel.data.hashing import hash_file, parallel_map
from keel.data.ignore import Ignore, own_paths
from keel.data.objects import LINK_MODES, ContentChanged, LinkMode, ObjectCache
from keel.data.placing import materialise_new, place
from keel.data.results import AddResult, Changes, Status, VersionDiff
from keel.data.scan import FoundFile, scan
from keel.data.state import Checkout, FileRow, LocalState
from keel.data.tables import is_table, table_summary
from keel.entities import PagedList
from keel.entities.dataset import (
    Dataset,
    DatasetKind,
    DatasetRef,
    DatasetVersion,
    check_dataset_name,
    parse_dataset_ref,
)
from keel.entities.dataset_manifest import DataFile, DataManifest, unreadable_paths
from keel.entities.progress import Progress
from keel.errors import Conflict, InvalidArgument, NotFound

if TYPE_CHECKING:
    from keel.data.cache_gc import Collected
    from keel.data.remote import ObjectRemote, Transfer
    from keel.store.backend import Backend
    from keel.store.datasets import DatasetStore


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _sharing_cache(
    method: Callable[Concatenate[DataClient, _P], _R],
) -> Callable[Concatenate[DataClient, _P], _R]:
    """Run a method under a shared lock on the cache: ``gc`` takes it exclusively, so it
    never removes an object between a command's look at the cache and its record of what
    it used."""

    @functools.wraps(method)
    def sharing(self: DataClient, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with locked(self.cache.root / "lock", shared=True):
            return method(self, *args, **kwargs)

    return sharing


UNKNOWN_STORE = "?"
"""The store key of versions used through a store object, or cached before stores were
recorded: no gc frees their objects."""


class DataClient:
    def __init__(
        self,
        store: Callable[[], DatasetStore],
        cache: ObjectCache,
        state: LocalState,
        *,
        actor: str,
        remote: Callable[[], ObjectRemote | None] = lambda: None,
        push_on_add: bool = False,
        store_key: str | None = None,
        ignore: Ignore | None = None,
    ) -> None:
        self._store_factory = store
        self.ignore = ignore or Ignore()
        """What ``add``, ``status`` and ``get`` leave out of a folder: ``.keel`` folders,
        the store in use and what the folder's ``.keelignore`` lists."""
        self.store_key = store_key
        """Names the store in the local state, which records the versions this machine
        used of each store (for ``gc``); None (a client handed a store object) records
        them under an unknown store."""
        self.push_on_add = push_on_add
        """Through ``keel server`` the server is where objects live: ``add`` uploads what
        it lacks before creating the version."""
        self._store: DatasetStore | None = None
        self._remote_factory = remote
        self._remote: ObjectRemote | None = None
        self.cache = cache
        self.state = state
        self.actor = actor
        if state.used_is_new:  # versions cached before uses were recorded: store unknown
            for path in cache.manifests.glob("*.json"):
                state.used(UNKNOWN_STORE, path.stem)

    def close(self) -> None:
        self.state.close()
        self.cache.packs.close()

    @property
    def store(self) -> DatasetStore:
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    @property
    def remote(self) -> ObjectRemote:
        """``<artifact root>/datasets`` of the tracking store, where push and pull go."""
        if self._remote is None:
            self._remote = self._remote_factory()
        remote = self._remote
        if remote is None:
            raise InvalidArgument(
                "tracking URI: this store has no artifact root for datasets to push to"
            )
        return remote

    @_sharing_cache
    def push(
        self,
        refs: Sequence[str | DatasetRef | DatasetVersion],
        *,
        progress: Progress | None = None,
        verify: bool = False,
    ) -> Transfer:
        """Upload the objects of these versions that the remote lacks; with ``verify``
        also those it holds whose bytes no longer match (each read back and hashed). A
        server charges new objects to the dataset's project when all are of one dataset
        (else to the default project's storage quota)."""
        from keel.data.remote import push

        self.cache.packs.refresh()  # objects another process packed since we looked
        versions = [self.resolve(ref) for ref in ([refs] if isinstance(refs, str) else refs)]
        names = {v.name for v in versions}
        objects = self.objects_of(versions)
        dataset = names.pop() if len(names) == 1 else None
        return push(
            self.cache, self.remote, objects, progress=progress, verify=verify, dataset=dataset
        )

    @_sharing_cache
    def pull(
        self, refs: Sequence[str | DatasetRef | DatasetVersion], *, progress: Progress | None = None
    ) -> Transfer:
        """Download the objects of these versions that the local cache lacks."""
        from keel.data.remote import pull

        self.cache.packs.refresh()
        return pull(self.cache, self.remote, self.objects_of(refs), progress=progress)

    def gc(self, *, dry_run: bool = False) -> Collected:
        """Remove from the local cache the objects this machine can fetch again from this
        store's remote and no folder here needs (see :mod:`keel.data.cache_gc`); ``dry_run``
        only counts them."""
        from keel.data.cache_gc import collect

        return collect(self, dry_run=dry_run)

    def objects_of(
        self, refs: str | Sequence[str | DatasetRef | DatasetVersion]
    ) -> list[tuple[str, int]]:
        """The ``(digest, size)`` of every object these versions hold, once each."""
        if isinstance(refs, str):
            refs = [refs]
        wanted: dict[str, int] = {}
        for ref in refs:
            for entry in self.manifest(self.resolve(ref).digest).files.values():
                wanted[entry.digest] = entry.size
        return list(wanted.items())

    # add ----------------------------------------------------------------------------------

    @_sharing_cache
    def add(
        self,
        path: str | os.PathLike[str],
        *,
        name: str,
        description: str = "",
        progress: Progress | None = None,
        source: str | None = None,
        project: str | None = None,
    ) -> AddResult:
        """Version a file, a folder or a table file (Parquet, CSV) under ``name``; the
        version records ``source`` as where it came from (by default the path). A new
        dataset is made in ``project`` when one is named (through a server, that needs
        ``dataset:write`` there); an existing one stays in its own.

        Files whose size, modification time, change time and inode are as last seen are
        not hashed again. A file that changes while it is being added fails the add
        (nothing is created; what reached the cache is correct by construction). A folder
        that ``get`` filled with a file or table version, and that still holds just that
        file, is added as that file, so the version keeps its kind (and a table its
        profile). A folder's ``.keel`` folders, the store in use and what its
        ``.keelignore`` lists are left out (see :mod:`keel.data.ignore`).
        """
        check_dataset_name(name)
        target = self._single_file_checkout(Path(path))
        is_folder, found = scan(target, ignore=self.ignore)
        if is_folder and not found:
            raise InvalidArgument(f"path {str(path)!r}: the folder holds no files")
        bad = unreadable_paths([f.relative for f in found])
        if bad:
            raise InvalidArgument(
                f"path {str(path)!r}: {len(bad)} file names cannot be stored portably "
                f"({', '.join(repr(b) for b in bad[:10])}): names must be UTF-8 and hold no "
                "backslash, control character, '%' escape, '.' or '..' segment, or leading "
                "'~'; rename them or add a folder without them"
            )
        kind = (
            DatasetKind.FOLDER
            if is_folder
            else DatasetKind.TABLE
            if is_table(target)
            else DatasetKind.FILE
        )
        root = str(target.absolute())
        known = self.state.known_digests(root)
        self.cache.packs.refresh()  # what another process packed need not be packed again
        # A table that does not parse is refused before any of it is stored.
        table = table_summary(target) if kind is DatasetKind.TABLE else {}
        digests, fresh, stored = self._digests(found, known, progress)
        manifest = DataManifest(
            kind, {f.relative: DataFile(f.size, digests[f.path]) for f in found}
        )
        raw = manifest.to_bytes()
        digest = self.cache.put_manifest(raw)
        if self.push_on_add:
            from keel.data.remote import push

            wanted = [(f.digest, f.size) for f in manifest.files.values()]
            push(self.cache, self.remote, wanted, progress=progress, dataset=name, project=project)
        version, created = self.store.create_dataset_version(
            name,
            digest=digest,
            manifest=raw,
            kind=kind,
            file_count=len(found),
            total_bytes=manifest.total_bytes,
            source=root if source is None else source,
            actor=self.actor,
            description=description,
            project=project,
            **table,
        )
        self._used(version)
        self.state.remember(fresh)
        files = [f.row(digests[f.path], relative=True) for f in found]
        for where in {root, str(Path(path).absolute())}:  # and the folder it was fetched into
            self.state.set_checkout(Checkout(where, version.name, version.version, digest), files)
        return AddResult(version, created, len(fresh), stored)

    def _single_file_checkout(self, folder: Path) -> Path:
        if not folder.is_dir():
            return folder
        with os.scandir(folder) as found:
            entries = list(itertools.islice(found, 2))
        if len(entries) != 1 or not entries[0].is_file():  # never a big folder's manifest
            return folder
        checkout = self.state.checkout(str(folder.absolute()))
        if checkout is None or not self.cache.has_manifest(checkout.digest):
            return folder
        manifest = self.cache.manifest(checkout.digest)
        if manifest.kind is DatasetKind.FOLDER or list(manifest.files) != [entries[0].name]:
            return folder
        return folder / entries[0].name

    def _digests(
        self,
        found: list[FoundFile],
        known: dict[str, tuple[tuple[int, int, int, int], str]],
        progress: Progress | None,
    ) -> tuple[dict[str, str], list[FileRow], int]:
        unchanged: dict[str, str] = {}
        for f in found:
            seen = known.get(f.path)
            if seen is not None and seen[0] == f.key:
                unchanged[f.path] = seen[1]
        cached = self.cache.present(unchanged.values())  # a file the cache lost is stored again
        digests = {path: digest for path, digest in unchanged.items() if digest in cached}
        todo = [f for f in found if f.path not in digests]

        pack = self.cache.packs.writer()
        if progress is not None:
            progress.start(sum(f.size for f in todo), len(todo), "hashing")
        advance = None if progress is None else progress.advance

        def store_one(f: FoundFile) -> tuple[FoundFile, str, bool]:
            try:
                digest, stored, after = self.cache.add_file(f.path, f.size, pack, advance)
            except PermissionError:
                raise InvalidArgument(f"file {f.relative!r}: cannot be read") from None
            except FileNotFoundError:
                raise InvalidArgument(
                    f"file {f.relative!r}: removed while it was being added; nothing was created"
                ) from None
            except ContentChanged:
                raise InvalidArgument(
                    f"file {f.relative!r}: changed while it was being added; nothing was "
                    "created (add it again once it is written)"
                ) from None
            if (after.st_size, after.st_mtime_ns, after.st_ctime_ns, after.st_ino) != f.key:
                raise InvalidArgument(
                    f"file {f.relative!r}: changed while it was being added; nothing was "
                    "created (add it again once it is written)"
                )
            if progress is not None:
                progress.file_done()
            return f, digest, stored

        fresh = []
        stored_bytes = 0
        with pack:  # indexed only if every file was stored
            for f, digest, stored in parallel_map(store_one, todo, weight=_size_of):
                digests[f.path] = digest
                fresh.append(f.row(digest))
                stored_bytes += f.size if stored else 0
        return digests, fresh, stored_bytes

    # list ---------------------------------------------------------------------------------

    def list_datasets(self) -> PagedList[Dataset]:
        """Every dataset, as one page (``token`` is None: the store answers them all)."""
        return PagedList(self.store.list_datasets(), None)

    def list_dataset_versions(self, name: str) -> PagedList[DatasetVersion]:
        """The versions of a dataset, newest first, without profiles, as one page."""
        return PagedList(self.store.list_dataset_versions(check_dataset_name(name)), None)

    # get ----------------------------------------------------------------------------------

    def resolve(self, ref: str | DatasetRef | DatasetVersion) -> DatasetVersion:
        if isinstance(ref, DatasetVersion):
            return ref
        parsed = ref if isinstance(ref, DatasetRef) else parse_dataset_ref(ref)
        version = self.store.get_dataset_version(parsed.name, parsed.version)
        self._used(version)
        return version

    def _used(self, version: DatasetVersion) -> None:
        """Record that this machine used a version of this store (of an unknown one when
        the client was handed a store object): ``gc`` frees its objects only when they are
        of its own store's versions alone and that store's remote holds them."""
        self.state.used(self.store_key or UNKNOWN_STORE, version.digest)

    @_sharing_cache
    def get(
        self,
        ref: str | DatasetRef | DatasetVersion,
        out: str | os.PathLike[str],
        *,
        force: bool = False,
        progress: Progress | None = None,
        link: LinkMode = "copy",
    ) -> DatasetVersion:
        """Materialise a version into the folder ``out`` (its files at their paths).

        A folder holding anything else is refused unless ``force``: a folder fetched or
        added before with local changes (those are listed), or any other non-empty folder.
        With ``force`` the version's files overwrite those of the same name, and files the
        folder's previous version had that this one lacks are removed; no other file is.
        A new folder is filled beside it, out of sight, and renamed into place: it
        appears whole or not at all.

        ``link="hardlink"`` links big files to the cache instead of copying them (as DVC's
        ``cache.type hardlink``): instant, no extra space, and read-only — a program that
        rewrote such a file in place would change the cache, so its write permission is
        off; editors that save by replacing the file are fine.
        """
        if link not in LINK_MODES:
            raise InvalidArgument(f"link: must be one of {', '.join(LINK_MODES)}, got {link!r}")
        version = self.resolve(ref)
        manifest = self.manifest(version.digest)
        self.cache.packs.refresh()  # objects another process packed since we looked
        cached = self._cached(manifest)
        if any(f.digest not in cached for f in manifest.files.values()):
            self.pull([version], progress=progress)  # fetched and checked on the way
        folder = Path(os.path.abspath(out))  # "x/.." is the folder it names
        root = str(folder)
        if not os.path.lexists(folder):
            files = materialise_new(self.cache, folder, manifest, link, progress)
        else:
            files = self._materialise_over(folder, version, manifest, link, force, progress)
        self.state.remember(
            [
                (os.path.join(root, rel), size, mtime, ctime, inode, digest)
                for rel, size, mtime, ctime, inode, digest in files
            ]
        )
        checkout = Checkout(root, version.name, version.version, version.digest)
        self.state.set_checkout(checkout, files)
        return version

    def _materialise_over(
        self,
        folder: Path,
        version: DatasetVersion,
        manifest: DataManifest,
        link: LinkMode,
        force: bool,
        progress: Progress | None,
    ) -> list[FileRow]:
        """Bring a folder that holds files to a version, file by file (each replaced whole),
        leaving files that already hold the right content alone."""
        root = str(folder.absolute())
        if not folder.is_dir():
            raise InvalidArgument(f"out {str(folder)!r}: exists and is not a folder")
        leftovers: list[str] = []
        _, existing = scan(folder, leftovers, ignore=self.ignore)
        if existing and not force:
            self._refuse_overwrite(root, folder, existing, version)
        remove_leftovers(root, leftovers, manifest.files.keys())
        known = self.state.known_digests(root)
        present = {f.relative: f for f in existing}
        wanted = manifest.files
        todo, kept = [], []
        for relative, entry in wanted.items():
            here = present.get(relative)
            seen = known.get(here.path) if here is not None else None
            if here is not None and seen is not None and seen == (here.key, entry.digest):
                kept.append(here.row(entry.digest, relative=True))  # already this content
                continue
            todo.append((relative, entry))
        for relative in sorted(self._owned(root, present) - set(wanted)):
            os.unlink(present[relative].path)
        remove_empty_folders(folder)
        for relative, _ in todo:
            clear_way(root, relative)
        parents = {os.path.dirname(os.path.join(root, r)) for r, _ in todo}
        for parent in sorted(parents):
            os.makedirs(parent, exist_ok=True)
        return kept + place(self.cache, todo, root, link, True, progress)

    @_sharing_cache
    def checkout_path(self, ref: str | DatasetRef | DatasetVersion) -> Path:
        """A private, read-only copy of a version under the cache, made once and reused
        while it is intact (see :func:`keel.data.copies.private_copy`)."""
        from keel.data.copies import private_copy

        return private_copy(self, self.resolve(ref))

    def load(self, ref: str | DatasetRef | DatasetVersion) -> Any:
        version = self.resolve(ref)
        folder = self.checkout_path(version)
        if version.kind is not DatasetKind.TABLE:
            return folder if version.kind is DatasetKind.FOLDER else next(folder.iterdir())
        from keel.data.tables import read_table

        return read_table(next(folder.iterdir()))

    def manifest(self, digest: str) -> DataManifest:
        """A manifest from the local cache, else from the store (then cached)."""
        if not self.cache.has_manifest(digest):
            self.cache.put_manifest(self.store.get_manifest(digest))
        return self.cache.manifest(digest)

    def _owned(self, root: str, present: dict[str, FoundFile]) -> set[str]:
        """The files in a folder that its last Keel version put there: the only ones a
        ``get --force`` may delete (anything else in the folder is left alone)."""
        checkout = self.state.checkout(root)
        if checkout is None:
            return set()
        stored = self.state.snapshot(root)
        owned = stored[0] if stored is not None else self.manifest(checkout.digest).files
        return set(present) & set(owned)

    def _cached(self, manifest: DataManifest) -> set[str]:
        return self.cache.present(f.digest for f in manifest.files.values())

    def _refuse_overwrite(
        self, root: str, folder: Path, existing: list[FoundFile], version: DatasetVersion
    ) -> None:
        checkout = self.state.checkout(root)
        if checkout is None:
            raise Conflict(
                f"out {str(folder)!r}: is not empty and holds no Keel dataset; pick an empty "
                "folder, or pass --force to write the version's files into it (files of the "
                "same name are overwritten; no other file is touched)"
            )
        changes = self._changes(root, existing, checkout)
        if not changes.clean:
            listed = (changes.modified + changes.added + changes.removed)[:10]
            raise Conflict(
                f"out {str(folder)!r}: has local changes since {checkout.name}@"
                f"{checkout.version} ({', '.join(listed)}); commit them with `keel data add` "
                "or pass --force to put the version's files back (files you added are kept)"
            )

    # status and diff ----------------------------------------------------------------------

    def status(self, path: str | os.PathLike[str]) -> Status:
        """What changed in ``path`` since the version it was added as or fetched from."""
        target = Path(path)
        root = str(target.absolute())
        checkout = self.state.checkout(root)
        if checkout is None and not os.path.lexists(target):
            raise NotFound(f"path {str(path)!r}: does not exist")
        if checkout is None:
            raise NotFound(
                f"path {str(path)!r}: not a dataset folder on this machine; "
                "`keel data add` it or `keel data get` a version into it first"
            )
        _, found = scan(target, ignore=self.ignore)
        return Status(root, checkout, self._changes(root, found, checkout))

    def _changes(self, root: str, found: list[FoundFile], checkout: Checkout) -> Changes:
        """What differs in ``found`` from the version ``root`` was checked out as: a file
        whose stat is as recorded is unchanged; any other is looked up in the stat cache
        or hashed."""
        stored = self.state.snapshot(root)
        if stored is not None:
            snapshot, read = stored
        else:  # recorded before snapshots: every file is checked once
            files = self.manifest(checkout.digest).files
            snapshot = {rel: [f.size, -1, -1, -1, f.digest] for rel, f in files.items()}
            read = None
        added, modified, suspect = [], [], []
        for f in found:
            entry = snapshot.get(f.relative)
            if entry is None:
                added.append(f.relative)
            elif entry[0] != f.size:
                modified.append(f.relative)
            elif entry[1] != f.mtime_ns or entry[2] != f.ctime_ns or entry[3] != f.inode:
                suspect.append(f)
        known = self.state.digests_of([f.path for f in suspect]) if suspect else {}
        rehash, same = [], []
        for f in suspect:
            seen = known.get(f.path)
            if seen is None or seen[0] != f.key:
                rehash.append(f)
            elif seen[1] != snapshot[f.relative][4]:
                modified.append(f.relative)
            else:
                same.append(f)
        fresh = []
        for f, digest in parallel_map(
            lambda f: (f, hash_file(f.path, f.size)), rehash, weight=_size_of
        ):
            fresh.append(f.row(digest))
            if digest != snapshot[f.relative][4]:
                modified.append(f.relative)
            else:
                same.append(f)
        if fresh:
            self.state.remember(fresh)
        if same:  # touched but unchanged: their new stats spare the next look a lookup
            for f in same:
                snapshot[f.relative][:4] = [f.size, f.mtime_ns, f.ctime_ns, f.inode]
            self.state.update_snapshot(root, read, snapshot)
        present = {f.relative for f in found}
        removed = sorted(set(snapshot) - present)
        return Changes(sorted(added), removed, sorted(modified))

    def diff(
        self, a: str | DatasetRef | DatasetVersion, b: str | DatasetRef | DatasetVersion
    ) -> VersionDiff:
        first, second = self.resolve(a), self.resolve(b)
        old, new = self.manifest(first.digest), self.manifest(second.digest)
        files = Changes(
            added=sorted(set(new.files) - set(old.files)),
            removed=sorted(set(old.files) - set(new.files)),
            modified=sorted(
                p for p in set(old.files) & set(new.files) if old.files[p] != new.files[p]
            ),
        )
        table = None
        if first.profile is not None and second.profile is not None:
            from keel.data.profile import TableProfile, diff_profiles

            table = diff_profiles(
                TableProfile.from_dict(first.profile), TableProfile.from_dict(second.profile)
            )
        return VersionDiff(first, second, files, table)


def _size_of(f: FoundFile) -> int:
    return f.size


def open_data_client(
    settings: Any,
    store: Callable[[], DatasetStore],
    *,
    actor: str,
    remote: Callable[[], ObjectRemote | None] = lambda: None,
    push_on_add: bool = False,
    store_key: str | None = None,
) -> DataClient:
    """The data client of this machine: its cache and state under ``$KEEL_HOME/data``;
    folders are walked without the store ``settings`` name (see :mod:`keel.data.ignore`)."""
    home = Path(settings.home) / "data"
    return DataClient(
        store,
        ObjectCache(home / "cache"),
        LocalState(home / "state.db"),
        actor=actor,
        remote=remote,
        push_on_add=push_on_add,
        store_key=store_key,
        ignore=Ignore(own_paths(settings)),
    )


def dataset_objects(backend: Backend) -> ObjectRemote | None:
    """Where a store keeps dataset objects: ``<artifact root>/datasets`` of a SQL store,
    reached directly, or of a ``keel server``, through it."""
    if backend.remote:
        # The backend's own session: it carries the caller's token, as every other
        # request to that server does.
        return backend.server_objects
    from keel.artifacts.store import ArtifactStore
    from keel.data.remote import StoreObjects

    root = backend.artifact_root
    return None if root is None else StoreObjects(ArtifactStore(f"{root}/datasets"))
