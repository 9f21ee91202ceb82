"""Adding, fetching and comparing versions of files and folders, on SQLite and PostgreSQL:
dedupe, status without re-hashing, refusals that change nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conftest import ServerProcess, unique
from data.support import damage, write_files
from keel.artifacts.hashing import hash_bytes
from keel.client import Client
from keel.data import client as client_module
from keel.data.client import DataClient
from keel.entities.dataset import DatasetKind
from keel.errors import AlreadyExists, Conflict, CorruptData, InvalidArgument, NotFound


@pytest.fixture
def data(keel_client: Client) -> DataClient:
    return keel_client.data


def objects_in(data: DataClient) -> set[str]:
    """Every object in the cache, loose or packed."""
    loose = {p.parent.name + p.name for p in data.cache.objects.rglob("*") if p.is_file()}
    return loose | data.cache.packs.digests()


def test_a_folder_round_trips_and_unchanged_content_makes_no_new_version(
    data: DataClient, tmp_path: Path
) -> None:
    name = unique("images")
    src = write_files(tmp_path / "src", {"a.txt": "alpha", "sub/b.bin": b"\x00\x01", "c": ""})
    first = data.add(src, name=name, description="three files")
    assert first.created and first.version.version == 1
    assert first.version.kind is DatasetKind.FOLDER
    assert (first.version.file_count, first.version.total_bytes) == (3, 7)
    assert first.version.created_by == "alice"

    again = data.add(src, name=name)
    assert not again.created and again.version.version == 1 and again.hashed_files == 0

    out = tmp_path / "out"
    data.get(f"datasets:/{name}@1", out)
    assert (out / "a.txt").read_text() == "alpha"
    assert (out / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert (out / "c").read_bytes() == b""
    assert data.status(out).changes.clean


def test_versions_share_unchanged_files_in_the_cache(data: DataClient, tmp_path: Path) -> None:
    name = unique("shared")
    src = write_files(tmp_path / "src", {f"f{i}.txt": f"file {i}" for i in range(20)})
    data.add(src, name=name)
    before = objects_in(data)
    (src / "f3.txt").write_text("changed")
    second = data.add(src, name=name)
    assert second.created and second.version.version == 2
    assert second.hashed_files == 1  # the other 19 were known by size, mtime and inode
    assert len(objects_in(data) - before) == 1
    changes = data.diff(f"{name}@1", f"{name}@2").files
    assert (changes.added, changes.removed, changes.modified) == ([], [], ["f3.txt"])


def test_status_lists_modified_added_and_removed(data: DataClient, tmp_path: Path) -> None:
    src = write_files(tmp_path / "src", {"keep": "1", "edit": "2", "drop": "3"})
    data.add(src, name=unique("status"))
    (src / "edit").write_text("two")
    (src / "new").write_text("4")
    (src / "drop").unlink()
    # same size, other content, an old mtime: the stat differs, so it is hashed again
    (src / "keep").write_text("9")
    os.utime(src / "keep", ns=(1, 1))
    changes = data.status(src).changes
    assert changes.modified == ["edit", "keep"]
    assert changes.added == ["new"] and changes.removed == ["drop"]


def test_status_hashes_a_touched_file_once_and_then_knows_it(
    data: DataClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_files(tmp_path / "src", {"a": "alpha", "b": "beta"})
    data.add(src, name=unique("touched"))
    os.utime(src / "a", ns=(10**18, 10**18))  # new times, same bytes

    hashed: list[str] = []
    real_hash = client_module.hash_file
    monkeypatch.setattr(
        client_module, "hash_file", lambda path, size: hashed.append(path) or real_hash(path, size)
    )
    assert data.status(src).changes.clean and hashed == [str(src / "a")]
    assert data.status(src).changes.clean and len(hashed) == 1  # the snapshot learned it

    (src / "b").write_text("BETA")
    assert data.status(src).changes.modified == ["b"]
    assert data.status(src).changes.modified == ["b"] and len(hashed) == 2  # known since


def test_status_of_a_folder_recorded_before_snapshots_checks_it_once(
    data: DataClient, tmp_path: Path
) -> None:
    src = write_files(tmp_path / "src", {"a": "alpha", "b": "beta", "c": "gamma"})
    data.add(src, name=unique("older"))
    root = str(src.absolute())
    data.state.db.execute("UPDATE checkouts SET files = NULL WHERE root = ?", (root,))
    (src / "b").write_text("BETA")
    assert data.status(src).changes.modified == ["b"]
    stored = data.state.snapshot(root)
    assert stored is not None and stored[0]["a"][1] == (src / "a").stat().st_mtime_ns


def test_what_status_learns_never_overwrites_a_newer_checkout(
    data: DataClient, tmp_path: Path
) -> None:
    from keel.data.state import Checkout

    src = write_files(tmp_path / "src", {"a": "alpha"})
    data.add(src, name=unique("raced"))
    root = str(src.absolute())
    stored = data.state.snapshot(root)
    assert stored is not None
    snapshot, read = stored
    newer = [("b", 4, 1, 1, 1, "b" * 64)]  # a get of another version, meanwhile
    data.state.set_checkout(Checkout(root, "raced", 2, "c" * 64), newer)
    data.state.update_snapshot(root, read, {"a": [5, 9, 9, 9, snapshot["a"][4]]})
    after = data.state.snapshot(root)
    assert after is not None and list(after[0]) == ["b"]


def test_a_state_file_from_before_snapshots_is_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    from keel.data.state import LocalState

    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE checkouts (root TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "version INTEGER NOT NULL, digest TEXT NOT NULL) WITHOUT ROWID;"
        "INSERT INTO checkouts VALUES ('/data/x', 'x', 3, 'abc');"
    )
    old.commit()
    old.close()
    state = LocalState(path)
    checkout = state.checkout("/data/x")
    assert checkout is not None and (checkout.name, checkout.version) == ("x", 3)
    assert state.snapshot("/data/x") is None
    state.close()


def test_a_single_file_is_a_file_version(data: DataClient, tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(os.urandom(5 * 1024 * 1024))  # over the memory-mapped threshold
    result = data.add(path, name=unique("weights"))
    assert result.version.kind is DatasetKind.FILE and result.stored_bytes == 5 * 1024 * 1024
    out = tmp_path / "out"
    data.get(result.version, out)
    assert (out / "weights.bin").read_bytes() == path.read_bytes()


def test_get_refuses_a_folder_with_local_changes_unless_forced(
    data: DataClient, tmp_path: Path
) -> None:
    name = unique("guarded")
    src = write_files(tmp_path / "src", {"a": "1", "b": "2"})
    data.add(src, name=name)
    (src / "a").write_text("one")
    data.add(src, name=name)
    out = tmp_path / "out"
    data.get(f"{name}@1", out)
    (out / "b").write_text("local edit")
    with pytest.raises(Conflict, match=r"local changes since .*@1 \(b\).*--force"):
        data.get(f"{name}@2", out)
    assert (out / "b").read_text() == "local edit"  # nothing changed
    data.get(f"{name}@2", out, force=True)
    assert (out / "a").read_text() == "one" and (out / "b").read_text() == "2"

    stranger = write_files(tmp_path / "other", {"mine.txt": "x"})
    with pytest.raises(Conflict, match="not empty and holds no Keel dataset"):
        data.get(f"{name}@1", stranger)
    assert sorted(p.name for p in stranger.iterdir()) == ["mine.txt"]


def test_symlinks_out_of_the_folder_are_refused_and_nothing_is_created(
    data: DataClient, tmp_path: Path
) -> None:
    name = unique("links")
    outside = tmp_path / "secret.txt"
    outside.write_text("do not read")
    src = write_files(tmp_path / "src", {"a.txt": "alpha"})
    (src / "inside").symlink_to(src / "a.txt")
    (src / "escape").symlink_to(outside)
    with pytest.raises(InvalidArgument, match="escape"):
        data.add(src, name=name)
    with pytest.raises(NotFound):
        data.store.get_dataset(name)
    assert not data.cache.root.exists() or not any(
        b"do not read" in p.read_bytes() for p in data.cache.root.rglob("*") if p.is_file()
    )
    (src / "escape").unlink()
    result = data.add(src, name=name)  # a link inside the folder is stored as its content
    out = tmp_path / "out"
    data.get(result.version, out)
    assert (out / "inside").read_text() == "alpha" and not (out / "inside").is_symlink()


def test_a_file_changed_while_hashed_fails_the_add(
    data: DataClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("moving")
    src = write_files(tmp_path / "src", {"a": "1", "b": "2"})
    real_add = data.cache.add_file

    def written_meanwhile(
        source: str, size: int, pack: object = None, advance: object = None
    ) -> object:
        if source.endswith("b"):  # after the folder was scanned, before it is read
            Path(source).write_text("written meanwhile")
        return real_add(source, size, pack, advance)  # type: ignore[arg-type]

    monkeypatch.setattr(data.cache, "add_file", written_meanwhile)
    with pytest.raises(InvalidArgument, match=r"file 'b': changed while it was being added"):
        data.add(src, name=name)
    with pytest.raises(NotFound):
        data.store.get_dataset(name)


def test_bad_input_names_the_field(data: DataClient, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        data.add(tmp_path / "missing", name="x")
    with pytest.raises(InvalidArgument, match="dataset name"):
        data.add(tmp_path, name="a/b")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgument, match="holds no files"):
        data.add(tmp_path / "empty", name="x")
    with pytest.raises(InvalidArgument, match="must be a number or 'latest'"):
        data.resolve("x@two")
    with pytest.raises(NotFound, match="no such dataset"):
        data.resolve(unique("nothing") + "@1")
    with pytest.raises(NotFound, match="not a dataset folder"):
        data.status(tmp_path)


def test_lineage_both_ways(keel_client: Client, tmp_path: Path) -> None:
    name = unique("train")
    src = write_files(tmp_path / "src", {"rows.csv": "a,b\n1,2\n"})
    experiment = keel_client.create_experiment(unique("exp"))
    run_id = keel_client.create_run(experiment).run_id
    version = keel_client.log_dataset(run_id, src, name=name, context="training")
    keel_client.log_dataset(run_id, src, name=name, context="training")  # recorded once
    inputs = keel_client.data.store.run_inputs(run_id)
    assert [(i.name, i.version, i.context) for i in inputs] == [(name, version.version, "training")]
    users = keel_client.data.store.version_users(name, version.version)
    assert [u.run_id for u in users] == [run_id]
    with pytest.raises(InvalidArgument, match="context"):
        keel_client.log_dataset(run_id, src, name=name, context="Train ing")
    with pytest.raises(NotFound, match="no such run"):
        keel_client.data.store.log_run_input("0" * 32, name, version.version, "training")


@pytest.mark.parametrize(
    "path", ["../x", "a/../b", "/etc/passwd", "a/./b", "%2e%2e/x", "a\\b", "a\n", "a\n..", ".\nb"]
)
def test_a_manifest_path_that_leaves_the_folder_is_refused(path: str) -> None:
    import orjson

    from keel.entities.dataset_manifest import DataManifest

    raw = orjson.dumps({"files": {path: [1, "a" * 64]}, "format": 1, "kind": "folder"})
    with pytest.raises(InvalidArgument, match="file path"):
        DataManifest.from_bytes(raw)


@pytest.mark.parametrize(
    ("files", "rule"),
    [
        ({"y/": [1, "a" * 64]}, "must not end with '/'"),
        ({"a": [1, "a" * 64], "a/b": [1, "b" * 64]}, "'a': is both a file and a folder"),
        ({"d/e": [1, "a" * 64], "d/e/f/g": [1, "b" * 64]}, "'d/e': is both a file and a folder"),
    ],
)
def test_a_manifest_whose_paths_cannot_all_be_files_is_refused(
    files: dict[str, list[object]], rule: str
) -> None:
    import orjson

    from keel.entities.dataset_manifest import DataManifest

    raw = orjson.dumps({"files": files, "format": 1, "kind": "folder"})
    with pytest.raises(InvalidArgument, match=rule):
        DataManifest.from_bytes(raw)


@pytest.mark.parametrize(
    "entry", [[1, "a" * 64 + "\n"], [1, "A" * 64], [-1, "a" * 64], [True, "a" * 64]]
)
def test_a_manifest_entry_that_is_not_size_and_digest_is_refused(entry: list[object]) -> None:
    import orjson

    from keel.entities.dataset_manifest import DataManifest

    raw = orjson.dumps({"files": {"ok": [1, "b" * 64], "x": entry}, "format": 1, "kind": "folder"})
    with pytest.raises(InvalidArgument, match=r"files\['x'\]"):
        DataManifest.from_bytes(raw)


def test_get_takes_any_folder_name_and_resolves_dots(data: DataClient, tmp_path: Path) -> None:
    name = unique("names")
    data.add(write_files(tmp_path / "src", {"a.txt": "alpha"}), name=name)
    long_name = tmp_path / ("x" * 250)
    data.get(f"{name}@1", long_name)
    assert (long_name / "a.txt").read_text() == "alpha"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".keel-partial")]

    (tmp_path / "here").mkdir()
    data.get(f"{name}@1", tmp_path / "here" / "gone" / "..")  # "here" itself, empty
    assert (tmp_path / "here" / "a.txt").read_text() == "alpha"
    assert not (tmp_path / "here" / "gone").exists()
    assert data.status(tmp_path / "here").changes.clean


def test_a_model_card_names_the_dataset_versions_its_run_used(
    keel_client: Client, tmp_path: Path
) -> None:
    np = pytest.importorskip("numpy")
    linear = pytest.importorskip("sklearn.linear_model")
    name = unique("fraud-data")
    experiment = keel_client.create_experiment(unique("exp"))
    run_id = keel_client.create_run(experiment).run_id
    src = write_files(tmp_path / "src", {"train.bin": b"\x01\x02"})
    keel_client.log_dataset(run_id, src, name=name, context="training")
    x = np.arange(20, dtype=float).reshape(10, 2)
    model = linear.LinearRegression().fit(x, x[:, 0])
    logged = keel_client.log_model(run_id, model, "model", input_example=x[:2], onnx=False)
    keel_client.flush()
    model_name = unique("fraud")
    version = keel_client.registry.register_model(logged.uri, model_name)
    card = keel_client.registry.card(model_name, version.version)
    assert f"datasets:/{name}@1" in card and "training" in card


def test_small_files_share_a_pack_that_is_checked_when_read(
    data: DataClient, tmp_path: Path
) -> None:
    name = unique("packed")
    src = write_files(tmp_path / "src", {f"f{i}.txt": f"small {i}" for i in range(50)})
    data.add(src, name=name)
    packs = list((data.cache.root / "packs").glob("*.pack"))
    assert len(packs) == 1 and len(data.cache.packs.digests()) == 50
    assert not list(data.cache.objects.rglob("*"))  # no file per object

    damage(packs[0])  # the first object
    with pytest.raises(CorruptData, match="do not match its digest"):
        data.get(f"{name}@1", tmp_path / "out")


def test_a_damaged_cache_file_is_never_copied_out_and_adding_again_restores_it(
    data: DataClient, tmp_path: Path
) -> None:
    name = unique("damaged")
    src = write_files(tmp_path / "src", {"big.bin": os.urandom(512 * 1024)})  # a loose object
    version = data.add(src, name=name).version
    (entry,) = data.manifest(version.digest).files.values()
    stored = data.cache.object_path(entry.digest)
    damage(stored)

    with pytest.raises(CorruptData, match="moved aside"):
        data.get(version, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not stored.exists()

    assert data.add(src, name=name).stored_bytes == 512 * 1024  # the cache lacked it
    data.get(version, tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == (src / "big.bin").read_bytes()


def test_a_damaged_cache_file_behind_identical_files_is_always_reported_as_damage(
    data: DataClient, tmp_path: Path
) -> None:
    blob = os.urandom(5 * 1024 * 1024)  # big enough to be copied on several threads at once
    src = write_files(tmp_path / "src", {f"copy{i}.bin": blob for i in range(6)})
    version = data.add(src, name=unique("twins")).version
    stored = data.cache.object_path(next(iter(data.manifest(version.digest).files.values())).digest)
    damage(stored)
    for attempt in range(4):
        with pytest.raises(CorruptData, match="moved aside"):
            data.get(version, tmp_path / f"out{attempt}")
        assert not (tmp_path / f"out{attempt}").exists()
        os.replace(stored.with_name(f"{stored.name}.damaged"), stored)  # damage it again


def test_a_get_that_fails_midway_leaves_no_folder_behind(data: DataClient, tmp_path: Path) -> None:
    name = unique("midway")
    src = write_files(tmp_path / "src", {f"f{i:02d}.txt": f"small {i}" for i in range(30)})
    data.add(src, name=name)
    (pack,) = (data.cache.root / "packs").glob("*.pack")
    damage(pack, at=-1)  # the last object: the others are written before it fails

    out = tmp_path / "fetched" / "out"
    with pytest.raises(CorruptData, match="do not match its digest"):
        data.get(f"{name}@1", out)
    assert list((tmp_path / "fetched").iterdir()) == []  # no folder, no staging left


def test_a_new_folder_appears_whole_and_an_empty_one_is_filled_in_place(
    data: DataClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("whole")
    src = write_files(tmp_path / "src", {"a.txt": "alpha", "deep/b.txt": "beta"})
    data.add(src, name=name)
    out = tmp_path / "out"
    out.mkdir()
    inode = out.stat().st_ino
    data.get(f"{name}@1", out)
    assert out.stat().st_ino == inode  # the same folder: a shell inside it still sees it
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [
        "a.txt",
        "deep",
        "deep/b.txt",
    ]
    assert data.status(out).changes.clean

    fresh = tmp_path / "fresh" / "nested"
    data.get(f"{name}@1", fresh)
    assert (fresh / "deep" / "b.txt").read_text() == "beta" and data.status(fresh).changes.clean
    assert [p.name for p in fresh.parent.iterdir()] == ["nested"]  # no staging left

    # Someone makes the folder, with a file in it, while the version is fetched: refused,
    # theirs kept, nothing of the version there.
    crowded = tmp_path / "crowded"
    real_copy_out = data.cache.copy_out

    def interleaved(digest: str, target: str, **kwargs: object) -> None:
        crowded.mkdir(exist_ok=True)
        (crowded / "theirs.txt").write_text("mine")
        real_copy_out(digest, target, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(data.cache, "copy_out", interleaved)
    with pytest.raises(Conflict, match="created by something else"):
        data.get(f"{name}@1", crowded)
    assert [p.name for p in crowded.iterdir()] == ["theirs.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_add_that_fails_leaves_no_pack(
    data: DataClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_files(tmp_path / "src", {f"f{i:02d}": str(i) for i in range(40)})
    real_add = data.cache.add_file

    def refuse_one(
        source: str, size: int, pack: object = None, advance: object = None
    ) -> tuple[str, bool, object]:
        if source.endswith("f37"):
            raise PermissionError(source)
        return real_add(source, size, pack, advance)  # type: ignore[arg-type]

    monkeypatch.setattr(data.cache, "add_file", refuse_one)
    with pytest.raises(InvalidArgument, match="cannot be read"):
        data.add(src, name=unique("unreadable"))
    packs = data.cache.root / "packs"
    assert not packs.exists() or not list(packs.iterdir())  # not even a temporary pack
    assert data.cache.packs.digests() == set()


def test_get_can_hard_link_big_files_read_only(data: DataClient, tmp_path: Path) -> None:
    src = write_files(tmp_path / "src", {"big.bin": os.urandom(600_000), "small.txt": "s"})
    version = data.add(src, name=unique("linked")).version
    out = tmp_path / "out"
    data.get(version, out, link="hardlink")
    big = out / "big.bin"
    assert big.read_bytes() == (src / "big.bin").read_bytes()
    assert big.stat().st_nlink == 2 and not big.stat().st_mode & 0o222  # the cache's file
    assert (out / "small.txt").stat().st_nlink == 1  # packed: copied
    assert data.status(out).changes.clean
    with pytest.raises(InvalidArgument, match="link: must be one of copy, hardlink"):
        data.get(version, tmp_path / "other", link="symlink")  # type: ignore[arg-type]


def test_a_dataframe_logged_to_a_run_loads_back_as_the_same_table(
    keel_client: Client, tmp_path: Path
) -> None:
    pl = pytest.importorskip("polars")
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": [1, 2, 3], "city": ["paris", "lyon", None], "x": [0.5, 1.5, 2.5]})
    run_id = keel_client.create_run(keel_client.create_experiment(unique("exp"))).run_id
    name = unique("frame")
    version = keel_client.log_dataset(run_id, frame, name=name, context="evaluation")
    assert version.kind is DatasetKind.TABLE and (version.row_count, version.column_count) == (3, 3)
    assert version.source == f"pandas DataFrame (run {run_id})"  # not a temporary file
    assert keel_client.data.state.db.execute("SELECT count(*) FROM checkouts").fetchone() == (0,)
    again = keel_client.log_dataset(run_id, pl.from_pandas(frame), name=name)
    assert again.version == version.version  # the same content makes no new version
    loaded = keel_client.data.load(f"datasets:/{name}@1")
    assert loaded.to_dicts() == pl.from_pandas(frame).to_dicts()
    profile = keel_client.data.resolve(f"{name}@1").profile
    assert profile is not None and [c["name"] for c in profile["columns"]] == ["id", "city", "x"]


def test_the_fluent_api_links_a_dataset_to_the_active_run(
    sql_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keel
    from keel import fluent

    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KEEL_ARTIFACTS_URI", str(tmp_path / "artifacts"))
    keel.set_tracking_uri(sql_uri)
    try:
        keel.set_experiment(unique("fluent"))
        src = write_files(tmp_path / "src", {"a.csv.txt": "1,2\n"})
        name = unique("fluent-data")
        with keel.start_run() as run:  # the run reaches the store with its first batch
            version = keel.log_dataset(src, name=name, context="training")
        inputs = fluent._client().data.store.run_inputs(run.info.run_id)
        assert [(i.name, i.version) for i in inputs] == [(name, version.version)]
        assert keel.data.status(src).changes.clean
        pushed = keel.data.push(f"{name}@1")  # through a server, add pushed it already
        assert pushed.objects + pushed.skipped == 1 and keel.data.pull(f"{name}@1").skipped == 1
        assert keel.data.gc(dry_run=True).in_use == 1  # src still holds the version
    finally:
        keel.set_tracking_uri(None)


def test_get_force_touches_only_the_versions_files(data: DataClient, tmp_path: Path) -> None:
    name = unique("forced")
    src = write_files(tmp_path / "src", {"train.csv": "1", "old.csv": "2"})
    data.add(src, name=name)
    (src / "old.csv").unlink()
    data.add(src, name=name)
    project = write_files(tmp_path / "project", {"src/model.py": "code", "train.csv": "mine"})
    data.get(f"{name}@1", project, force=True)
    assert (project / "src" / "model.py").read_text() == "code"  # not the version's: kept
    assert (project / "train.csv").read_text() == "1"  # the version's name: overwritten
    data.get(f"{name}@2", project, force=True)
    assert not (project / "old.csv").exists()  # the previous version's, gone from this one
    assert (project / "src" / "model.py").read_text() == "code"


def test_files_left_by_an_interrupted_get_are_not_added_and_the_next_get_removes_them(
    data: DataClient, tmp_path: Path
) -> None:
    name = unique("interrupted")
    src = write_files(tmp_path / "src", {"a.txt": "alpha", "sub/b.txt": "beta"})
    data.add(src, name=name)
    out = tmp_path / "out"
    data.get(f"{name}@1", out)
    left = [out / ".a.txt.tmp-0123456789ab", out / "sub" / ".b.txt.tmp-abcdef012345"]
    an_hour_ago = time.time() - 3600
    for path in left:  # as a get killed while replacing these files leaves them
        path.write_text("half")
        os.utime(path, (an_hour_ago, an_hour_ago))
    running = out / ".a.txt.tmp-fedcba987654"  # another get may be writing this one now
    running.write_text("being written")
    assert data.status(out).changes.clean
    assert not data.add(out, name=name).created
    mine = [out / ".notes.tmp-mine", out / ".notes.tmp-0123456789ab"]  # not the version's
    for path in mine:
        path.write_text("mine")
        os.utime(path, (an_hour_ago, an_hour_ago))
    data.get(f"{name}@1", out, force=True)
    assert not any(path.exists() for path in left)
    assert running.exists() and all(path.read_text() == "mine" for path in mine)


def test_a_same_size_rewrite_with_its_mtime_put_back_is_seen(
    data: DataClient, tmp_path: Path
) -> None:
    name = unique("sneaky")
    src = write_files(tmp_path / "src", {"labels.csv": "a,1\n"})
    data.add(src, name=name)
    before = (src / "labels.csv").stat()
    (src / "labels.csv").write_text("a,2\n")  # same size
    os.utime(src / "labels.csv", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert data.status(src).changes.modified == ["labels.csv"]
    assert data.add(src, name=name).version.version == 2


def test_a_big_file_rewritten_between_hash_and_copy_is_not_stored(
    data: DataClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keel.data import objects
    from keel.data.hashing import hash_file

    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(5 * 1024 * 1024))
    digest = hash_file(path)

    def copy_other_bytes(source: str, target: str) -> None:
        Path(target).write_bytes(os.urandom(5 * 1024 * 1024))  # as if rewritten meanwhile

    monkeypatch.setattr(objects, "copy_file", copy_other_bytes)
    with pytest.raises(InvalidArgument, match="changed while it was being added"):
        data.add(path, name=unique("racy"))
    assert not data.cache.has(digest)


@pytest.mark.parametrize("bad", ["~$lock.docx", "back\\slash.txt", "%2e%2e"])
def test_names_a_manifest_cannot_hold_are_refused_before_anything_is_stored(
    data: DataClient, tmp_path: Path, bad: str
) -> None:
    name = unique("names")
    src = write_files(tmp_path / "src", {"fine.txt": "ok", bad: "x"})
    with pytest.raises(InvalidArgument, match="cannot be stored portably"):
        data.add(src, name=name)
    with pytest.raises(NotFound):
        data.store.get_dataset(name)


def test_a_folder_that_became_a_file_switches_cleanly(data: DataClient, tmp_path: Path) -> None:
    name = unique("switch")
    v1 = data.add(write_files(tmp_path / "v1", {"a/x": "1"}), name=name).version
    v2 = data.add(write_files(tmp_path / "v2", {"a": "2"}), name=name).version
    out = tmp_path / "out"
    data.get(v1, out)
    data.get(v2, out)
    assert (out / "a").read_text() == "2" and data.status(out).changes.clean


def test_a_loaded_copy_is_read_only(data: DataClient, tmp_path: Path) -> None:
    src = tmp_path / "config.json"
    src.write_text("{}")
    path = data.load(data.add(src, name=unique("cfg")).version)
    assert path.read_text() == "{}" and not path.stat().st_mode & 0o222
    staged = data.state.db.execute("SELECT count(*) FROM checkouts WHERE root LIKE '%.partial-%'")
    assert staged.fetchone() == (0,)  # the staging folder it was made in is forgotten


def test_a_private_copy_that_was_edited_or_lost_a_file_is_made_again(
    data: DataClient, tmp_path: Path
) -> None:
    src = write_files(tmp_path / "src", {"a.txt": "alpha", "sub/b.txt": "beta"})
    version = data.add(src, name=unique("shared-copy")).version
    folder = data.load(version)
    assert data.load(version) == folder  # reused while intact

    edited = folder / "a.txt"
    edited.chmod(0o644)
    edited.write_text("EVIL")
    (folder / "sub" / "b.txt").unlink()
    again = data.load(version)
    assert (again / "a.txt").read_text() == "alpha"
    assert (again / "sub" / "b.txt").read_text() == "beta"
    assert not (again / "a.txt").stat().st_mode & 0o222
    left = {p.name for p in again.parent.iterdir()}
    assert left == {again.name, f".{again.name}.lock"}  # nothing set aside is left


@pytest.mark.parametrize(
    ("ref", "rule"),
    [
        ("ds@²", "must be a number or 'latest'"),
        ("ds@-1", "must be a number or 'latest'"),
        ("ds@1.5", "must be a number or 'latest'"),
        ("a/b@1", r"must not contain '/' \(it separates parts of datasets:/"),
        ("@1", "dataset name"),
        ("s3://bucket/x", "must be datasets:/<name>@<version>"),
        ("models:/x@1", "must be datasets:/<name>@<version>"),
    ],
)
def test_bad_refs_are_refused_with_the_rule(ref: str, rule: str) -> None:
    from keel.entities.dataset import parse_dataset_ref

    with pytest.raises(InvalidArgument, match=rule):
        parse_dataset_ref(ref)


def test_dot_names_and_look_alike_names_are_refused(data: DataClient, tmp_path: Path) -> None:
    """'.' and '..' would be a step up a URL path or a folder; names that differ only by
    case or Unicode form would look like one dataset."""
    src = write_files(tmp_path / "src", {"a.txt": "a"})
    for name in (".", "..", " padded", "zero\u200bwidth"):
        with pytest.raises(InvalidArgument, match="dataset name"):
            data.add(src, name=name)
    name = unique("Churn")
    data.add(src, name=name)
    with pytest.raises(AlreadyExists, match="differ only by case"):
        data.add(src, name=name.lower())
    assert [d.name for d in data.store.list_datasets() if d.name.lower() == name.lower()] == [name]


def test_a_fetched_table_edited_and_added_back_stays_a_table(
    data: DataClient, tmp_path: Path
) -> None:
    pytest.importorskip("polars")
    name = unique("churn")
    table = tmp_path / "churn.csv"
    table.write_text("id,plan\n1,basic\n2,pro\n")
    data.add(table, name=name)
    work = tmp_path / "work"
    data.get(f"{name}@1", work)
    (work / "churn.csv").write_text("id,plan\n1,basic\n2,pro\n3,pro\n")
    second = data.add(work, name=name).version  # the folder get filled
    assert second.version == 2 and second.kind is DatasetKind.TABLE
    assert second.row_count == 3 and second.profile is not None
    assert data.diff(f"{name}@1", f"{name}@2").table is not None
    status = data.status(work)
    assert status.changes.clean and status.checkout.version == 2


def test_a_store_records_only_the_figures_of_the_manifest(data: DataClient, tmp_path: Path) -> None:
    """Through every store (and a server, which holds the objects the add pushed): the
    kind, file count and size of a new version must be its manifest's."""
    src = write_files(tmp_path / "src", {"a.txt": "alpha", "b.txt": "beta"})
    real = data.add(src, name=unique("honest")).version
    raw = data.cache.manifests.joinpath(f"{real.digest}.json").read_bytes()
    name = unique("claims")
    honest: dict[str, object] = {
        "digest": real.digest,
        "manifest": raw,
        "kind": DatasetKind.FOLDER,
        "file_count": 2,
        "total_bytes": 9,
        "source": "test",
        "actor": "mallory",
    }
    for field, claim in (("file_count", 7), ("total_bytes", 999), ("kind", DatasetKind.FILE)):
        with pytest.raises(InvalidArgument, match=f"{field}: must be the manifest's"):
            data.store.create_dataset_version(name, **{**honest, field: claim})  # type: ignore[arg-type]
    foreign = b'{"files":{"a.txt":[5,"' + b"0" * 64 + b'"]}}'
    with pytest.raises(InvalidArgument, match="manifest"):
        data.store.create_dataset_version(
            name,
            **{**honest, "manifest": foreign, "digest": hash_bytes(foreign)},  # type: ignore[arg-type]
        )
    with pytest.raises(NotFound):
        data.store.get_dataset(name)  # nothing was recorded
    version, created = data.store.create_dataset_version(name, **honest)  # type: ignore[arg-type]
    assert created and (version.file_count, version.total_bytes) == (2, 9)


def test_a_profile_nested_too_deeply_is_refused(data: DataClient, tmp_path: Path) -> None:
    """A profile a store takes from a client: nested past 32 levels it would break every
    later read of the version (``keel data get`` for everyone), so it is refused."""
    src = write_files(tmp_path / "src", {"a.txt": "alpha"})
    real = data.add(src, name=unique("deep")).version
    raw = data.cache.manifests.joinpath(f"{real.digest}.json").read_bytes()
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(40):
        deep = {"a": deep}
    name = unique("deep-profile")
    with pytest.raises(InvalidArgument, match=r"profile.*nest at most (32|40) levels"):
        data.store.create_dataset_version(
            name, digest=real.digest, manifest=raw, kind=real.kind, file_count=1,
            total_bytes=5, source="test", actor="mallory", profile=deep,
        )  # fmt: skip
    with pytest.raises(NotFound):
        data.store.get_dataset(name)


def test_a_server_refuses_a_version_whose_objects_it_lacks(
    server: ServerProcess, tmp_path: Path
) -> None:
    from keel.config import Settings
    from keel.entities.dataset_manifest import DataFile, DataManifest
    from keel.store import open_backend

    backend = open_backend(server.url, Settings(home=tmp_path))
    store = backend.datasets
    try:
        never_pushed = hash_bytes(b"bytes the server never received")
        raw = DataManifest(DatasetKind.FILE, {"x.bin": DataFile(31, never_pushed)}).to_bytes()
        name = unique("unfetchable")
        with pytest.raises(InvalidArgument, match="1 of its objects are not on this server"):
            store.create_dataset_version(
                name,
                digest=hash_bytes(raw),
                manifest=raw,
                kind=DatasetKind.FILE,
                file_count=1,
                total_bytes=31,
                source="test",
                actor="mallory",
            )
        with pytest.raises(NotFound):
            store.get_dataset(name)
    finally:
        backend.close()


def test_a_profile_stored_too_deep_before_the_limit_reads_as_none(
    data: DataClient, sql_uri: str, tmp_path: Path
) -> None:
    """Written before the limit existed, such a profile made every read of its version
    fail; now the version reads, without its profile."""
    if not sql_uri.startswith(("sqlite", "postgresql")):
        pytest.skip("the server's database is not this test's to write behind its back")
    from sqlalchemy import create_engine, update

    from keel.store.sql.tables import dataset_versions

    pytest.importorskip("polars")
    table = tmp_path / "t.csv"
    table.write_text("id,plan\n1,basic\n2,pro\n")
    name = unique("legacy")
    assert data.add(table, name=name).version.profile is not None
    engine = create_engine(sql_uri)
    with engine.begin() as conn:
        conn.execute(
            update(dataset_versions)
            .where(dataset_versions.c.name == name)
            .values(profile='{"a": ' * 300 + "1" + "}" * 300)
        )
    engine.dispose()
    version = data.store.get_dataset_version(name, 1)
    assert (version.version, version.profile) == (1, None)
    data.get(f"{name}@1", tmp_path / "out")
    assert (tmp_path / "out" / "t.csv").read_text().startswith("id,plan")
