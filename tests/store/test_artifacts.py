"""Artifact records in the tracking store, and the bytes behind them.

SQL stores keep records written by ``record_artifacts``; the REST store refuses that call
because the server records each file as it stores the upload. Bytes go through
``RunArtifacts`` (SQL) or the REST store's ``artifacts`` (through the server).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.artifacts.hashing import hash_bytes
from keel.artifacts.repository import ArtifactRepository, RunArtifacts
from keel.entities import FileInfo
from keel.errors import InvalidArgument, NotFound
from store.support import kind_of, new_id


def record(path: str, data: bytes) -> FileInfo:
    return FileInfo(path, False, len(data), hash_bytes(data))


@pytest.fixture
def sql_store(store):
    if kind_of(store) == "rest":
        pytest.skip("the REST store records artifacts only through server uploads")
    return store


@pytest.fixture
def repo(store) -> ArtifactRepository:
    return store.artifacts if kind_of(store) == "rest" else RunArtifacts(store)


def by_path(infos: list[FileInfo]) -> dict[str, FileInfo]:
    paths = [f.path for f in infos]
    assert len(paths) == len(set(paths)), f"duplicate entries: {paths}"
    return {f.path: f for f in infos}


def test_records_list_one_level_with_synthesized_folders(sql_store, run_id) -> None:
    store = sql_store
    files = {
        "a.txt": record("a.txt", b"a"),
        "dir/b.txt": record("dir/b.txt", b"bb"),
        "dir/sub/c.txt": record("dir/sub/c.txt", b"ccc"),
        "dir/sub/d.txt": record("dir/sub/d.txt", b"dddd"),
        "my_dir/x": record("my_dir/x", b"x"),
        "myxdir/y": record("myxdir/y", b"y"),
        "100%/z": record("100%/z", b"z"),
        "1000/w": record("1000/w", b"w"),
    }
    store.record_artifacts(run_id, list(files.values()))

    assert by_path(store.list_artifacts(run_id)) == {
        "a.txt": files["a.txt"],
        "dir": FileInfo("dir", True),
        "my_dir": FileInfo("my_dir", True),
        "myxdir": FileInfo("myxdir", True),
        "100%": FileInfo("100%", True),
        "1000": FileInfo("1000", True),
    }
    assert by_path(store.list_artifacts(run_id, "dir")) == {
        "dir/b.txt": files["dir/b.txt"],
        "dir/sub": FileInfo("dir/sub", True),
    }
    assert by_path(store.list_artifacts(run_id, "dir/")) == by_path(
        store.list_artifacts(run_id, "dir")
    )
    assert by_path(store.list_artifacts(run_id, "dir/sub")) == {
        "dir/sub/c.txt": files["dir/sub/c.txt"],
        "dir/sub/d.txt": files["dir/sub/d.txt"],
    }
    # '_' and '%' in a folder name are literal characters, not patterns.
    assert [f.path for f in store.list_artifacts(run_id, "my_dir")] == ["my_dir/x"]
    assert [f.path for f in store.list_artifacts(run_id, "100%")] == ["100%/z"]
    assert store.list_artifacts(run_id, "di") == []
    assert store.list_artifacts(run_id, "nothing/here") == []
    assert store.list_artifacts(run_id, "a.txt") == []

    assert store.get_artifact(run_id, "dir/sub/c.txt") == files["dir/sub/c.txt"]
    for missing in ("dir", "nothing.txt", "dir/sub/c"):
        with pytest.raises(NotFound):
            store.get_artifact(run_id, missing)


def test_recording_again_replaces_the_record(sql_store, run_id) -> None:
    store = sql_store
    store.record_artifacts(run_id, [record("m.bin", b"old")])
    store.record_artifacts(run_id, [record("m.bin", b"newer")])
    assert store.get_artifact(run_id, "m.bin") == record("m.bin", b"newer")
    assert store.list_artifacts(run_id) == [record("m.bin", b"newer")]
    store.record_artifacts(run_id, [])  # nothing to record: nothing changes
    assert store.list_artifacts(run_id) == [record("m.bin", b"newer")]


def test_bad_records_are_refused(sql_store, run_id) -> None:
    store = sql_store
    for bad in (
        FileInfo("folder", True),
        FileInfo("no-digest", False, 3, None),
        FileInfo("no-size", False, None, "abc"),
    ):
        with pytest.raises(InvalidArgument):
            store.record_artifacts(run_id, [record("ok", b"ok"), bad])
    assert store.list_artifacts(run_id) == []
    with pytest.raises(NotFound):
        store.record_artifacts(new_id(), [record("ok", b"ok")])


def test_rest_store_refuses_records(store, run_id) -> None:
    if kind_of(store) != "rest":
        pytest.skip("only the REST store refuses direct records")
    with pytest.raises(InvalidArgument, match="upload"):
        store.record_artifacts(run_id, [record("a.txt", b"a")])
    assert store.list_artifacts(run_id) == []


def test_unknown_run_has_no_artifacts(store) -> None:
    missing = new_id()
    with pytest.raises(NotFound):
        store.list_artifacts(missing)
    with pytest.raises(NotFound):
        store.get_artifact(missing, "a.txt")


def test_upload_list_stat_and_read_back(store, repo, run_id) -> None:
    info = repo.upload_stream(run_id, "models/m.bin", iter([b"abc", b"", b"def"]))
    assert info == FileInfo("models/m.bin", False, 6, hash_bytes(b"abcdef"))
    empty = repo.upload_stream(run_id, "empty.txt", iter([]))
    assert (empty.file_size, empty.digest) == (0, hash_bytes(b""))
    big = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit, in uneven chunks
    chunks = [big[i : i + 300_001] for i in range(0, len(big), 300_001)]
    repo.upload_stream(run_id, "models/big.bin", chunks)

    assert by_path(repo.list(run_id)) == {
        "models": FileInfo("models", True),
        "empty.txt": empty,
    }
    assert by_path(repo.list(run_id, "models")) == {
        "models/m.bin": info,
        "models/big.bin": record("models/big.bin", big),
    }
    assert repo.stat(run_id, "models/m.bin") == info
    assert b"".join(repo.read_chunks(run_id, "models/m.bin")) == b"abcdef"
    assert b"".join(repo.read_chunks(run_id, "models/big.bin")) == big
    assert b"".join(repo.read_chunks(run_id, "empty.txt")) == b""
    # The store's records agree with the repository.
    assert store.get_artifact(run_id, "models/m.bin") == info
    assert by_path(store.list_artifacts(run_id, "models")) == by_path(repo.list(run_id, "models"))

    # Uploading to the same path replaces the file.
    again = repo.upload_stream(run_id, "models/m.bin", [b"xyz"])
    assert again.digest == hash_bytes(b"xyz")
    assert b"".join(repo.read_chunks(run_id, "models/m.bin")) == b"xyz"


def test_damaged_or_unsafe_uploads_keep_nothing(store, repo, run_id) -> None:
    with pytest.raises(InvalidArgument, match="digest"):
        repo.upload_stream(run_id, "x.bin", [b"abc"], expected_digest=hash_bytes(b"abd"))
    for unsafe in ("../escape.txt", "/etc/passwd", "a/../../b", "a\\b", ""):
        with pytest.raises(InvalidArgument):
            repo.upload_stream(run_id, unsafe, [b"abc"])
    assert repo.list(run_id) == []
    with pytest.raises(NotFound):
        repo.stat(run_id, "x.bin")
    ok = repo.upload_stream(run_id, "x.bin", [b"abc"], expected_digest=hash_bytes(b"abc"))
    assert repo.list(run_id) == [ok]


def test_reading_a_missing_artifact_is_not_found(store, repo, run_id) -> None:
    with pytest.raises(NotFound):
        repo.stat(run_id, "nope.txt")
    with pytest.raises(NotFound):
        b"".join(repo.read_chunks(run_id, "nope.txt"))
    with pytest.raises(NotFound):
        repo.upload_stream(new_id(), "a.txt", [b"a"])


def test_logging_a_folder_looks_its_run_up_once(tmp_path: Path) -> None:
    """A folder of files costs one lookup of the run, then per file one check that it
    may be written (the run has not ended, no model version holds it) and small writes."""
    from sqlalchemy import event

    from keel.client import Client
    from keel.config import Settings

    with Client(str(tmp_path / "store"), settings=Settings(home=tmp_path / "home")) as client:
        run_id = client.create_run(client.create_experiment("many")).run_id
        folder = tmp_path / "files"
        folder.mkdir()
        for i in range(200):
            (folder / f"f{i:03d}.txt").write_text(str(i))
        statements: list[str] = []
        engine = client.backend.tracking.engine  # type: ignore[attr-defined]
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        client.log_artifacts(run_id, folder, "many")
        assert len(client.list_artifacts(run_id, "many")) == 200
    run_loads = [s for s in statements if "runs.artifact_uri" in s]
    assert len(run_loads) <= 2, f"the run was loaded {len(run_loads)} times for 200 files"
    # Per file, seven small statements: the check that it may be written before its bytes
    # are (a read transaction), then the record's transaction: the same check again (the
    # run may have ended meanwhile), the bytes it replaces, the project's storage charge
    # (keel.store.sql.quotas) and the record.
    assert len(statements) <= 200 * 7 + 20, f"{len(statements)} statements for 200 files"
