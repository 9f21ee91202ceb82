"""``push`` and ``pull`` between a machine's cache and the shared artifact store: only
what is missing moves, every object is checked against its digest, and an interrupted
transfer leaves nothing corrupt and finishes when run again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import unique
from data.support import damage, write_files
from keel.client import Client
from keel.config import Settings
from keel.data.remote import object_key, remote_digests
from keel.errors import CorruptData


@pytest.fixture
def machines(sql_uri: str, tmp_path: Path) -> Iterator[tuple[Client, Client]]:
    """Two machines: the same database and artifact store, each its own KEEL_HOME."""
    made = [
        Client(
            sql_uri,
            settings=Settings(
                home=tmp_path / f"home-{who}",
                artifacts_uri=str(tmp_path / "artifacts"),
                user=who,
            ),
        )
        for who in ("ann", "bob")
    ]
    try:
        yield made[0], made[1]
    finally:
        for c in made:
            c.close()


def test_push_then_get_on_another_machine(machines: tuple[Client, Client], tmp_path: Path) -> None:
    ann, bob = machines
    name = unique("shared")
    src = write_files(tmp_path / "src", {f"f{i}.txt": f"content {i}" for i in range(30)})
    ann.data.add(src, name=name)  # through keel server, add uploads what the server lacks
    first = ann.data.push([f"{name}@1"])
    pushed_on_add = ann.data.push_on_add
    assert (first.objects, first.skipped) == ((0, 30) if pushed_on_add else (30, 0))

    (src / "f0.txt").write_text("changed")
    ann.data.add(src, name=name)
    second = ann.data.push([f"{name}@1", f"{name}@2"])
    assert second.objects + second.skipped == 31
    assert second.objects == (0 if pushed_on_add else 1)  # only the changed file moves

    out = tmp_path / "bob-out"
    bob.data.get(f"{name}@2", out)  # pulls what bob's cache lacks, checked on the way
    assert (out / "f0.txt").read_text() == "changed"
    assert (out / "f7.txt").read_text() == "content 7"
    again = bob.data.pull([f"{name}@2"])
    assert (again.objects, again.skipped) == (0, 30)


def test_a_corrupt_remote_object_is_refused_and_not_cached(
    machines: tuple[Client, Client], tmp_path: Path, sql_uri: str
) -> None:
    if sql_uri.startswith("http"):
        pytest.skip("the bucket is behind the server here; tested on the direct stores")
    ann, bob = machines
    name = unique("corrupt")
    src = write_files(tmp_path / "src", {"a.txt": "the real bytes"})
    version = ann.data.add(src, name=name).version
    ann.data.push([version])
    store = ann.data.remote.store  # type: ignore[attr-defined]
    (digest,) = remote_digests(store)
    remote_file = Path(store.root) / object_key(digest)
    os.chmod(remote_file, 0o644)
    remote_file.write_text("forged bytes!!")
    with pytest.raises(CorruptData, match="does not match"):
        bob.data.pull([version])
    assert not bob.data.cache.has(digest)
    assert not list(bob.data.cache.objects.rglob("*.tmp-*"))

    assert ann.data.push([version]).objects == 0  # by name the remote has it
    repaired = ann.data.push([version], verify=True)  # read back, found damaged, replaced
    assert (repaired.objects, repaired.skipped) == (1, 0)
    bob.data.pull([version])
    out = tmp_path / "bob-out"
    bob.data.get(version, out)
    assert (out / "a.txt").read_text() == "the real bytes"


def test_push_verify_moves_nothing_when_the_remote_is_intact(
    machines: tuple[Client, Client], tmp_path: Path
) -> None:
    ann, _ = machines
    src = write_files(tmp_path / "src", {f"f{i}.txt": f"intact {i}" for i in range(4)})
    version = ann.data.add(src, name=unique("intact")).version
    ann.data.push([version])
    checked = ann.data.push([version], verify=True)  # through a server too: it reads them
    assert (checked.objects, checked.skipped) == (0, 4)


PUSHER = """
import sys
from keel.config import Settings
from keel.client import Client

uri, home, artifacts, ref = sys.argv[1:5]
c = Client(uri, settings=Settings(home=home, artifacts_uri=artifacts, user="ann"))
c.data.push([ref])
"""


def test_a_push_killed_midway_leaves_no_corrupt_object_and_resumes(
    machines: tuple[Client, Client], sql_uri: str, tmp_path: Path
) -> None:
    if sql_uri.startswith("http"):
        pytest.skip("killing the pusher is tested on the direct stores")
    ann, _ = machines
    name = unique("killed")
    files = {f"d{i % 10}/f{i:04d}.bin": os.urandom(64 * 1024) for i in range(600)}
    src = write_files(tmp_path / "src", files)
    version = ann.data.add(src, name=name).version
    args = [str(tmp_path / "home-ann"), str(tmp_path / "artifacts"), f"{name}@1"]
    proc = subprocess.Popen([sys.executable, "-c", PUSHER, sql_uri, *args])
    remote_objects = tmp_path / "artifacts" / "datasets" / "objects"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if remote_objects.exists() and sum(1 for _ in remote_objects.rglob("*")) > 50:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)

    remote = ann.data.remote.store  # type: ignore[attr-defined]
    arrived = remote_digests(remote)
    assert len(arrived) < 600, "the push finished before it could be interrupted"
    from keel.data.hashing import hash_file

    for digest in arrived:  # whatever has its final name is whole and correct
        assert hash_file(Path(remote.root) / object_key(digest)) == digest
    resumed = ann.data.push([version])
    assert resumed.objects == 600 - len(arrived) and resumed.skipped == len(arrived)
    assert len(remote_digests(remote)) == 600


def test_a_pull_cut_off_midway_keeps_nothing_partial_and_resumes(
    machines: tuple[Client, Client], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, bob = machines
    name = unique("cutoff")
    src = write_files(tmp_path / "src", {f"f{i}.bin": os.urandom(400_000) for i in range(6)})
    version = ann.data.add(src, name=name).version
    ann.data.push([version])

    remote = bob.data.remote
    real_download = remote.download
    calls = {"n": 0}

    def flaky(digest: str) -> Iterator[bytes]:
        calls["n"] += 1
        chunks = real_download(digest)
        if calls["n"] == 3:
            yield next(iter(chunks))[:1000]
            raise ConnectionError("network gone")
        yield from chunks

    monkeypatch.setattr(type(remote), "download", lambda self, d: flaky(d))
    with pytest.raises(ConnectionError):
        bob.data.pull([version])
    cache = bob.data.cache
    assert not list(cache.objects.rglob(".*tmp-*"))  # the cut-off object left nothing
    partial = [f.digest for f in bob.data.manifest(version.digest).files.values()]
    assert sum(cache.has(d) for d in partial) < 6

    monkeypatch.undo()
    done = bob.data.pull([version])
    assert done.objects + done.skipped == 6 and all(cache.has(d) for d in partial)


def test_a_damaged_pack_is_dropped_and_pull_restores_it(
    machines: tuple[Client, Client], tmp_path: Path
) -> None:
    ann, _ = machines
    name = unique("repair")
    src = write_files(tmp_path / "src", {f"f{i}.txt": f"small {i}" for i in range(5)})
    version = ann.data.add(src, name=name).version
    ann.data.push([version])
    (pack,) = (ann.data.cache.root / "packs").glob("*.pack")
    damage(pack)
    with pytest.raises(CorruptData, match="no longer listed"):
        ann.data.get(version, tmp_path / "first")
    restored = ann.data.pull([version])
    assert restored.objects == 5
    out = tmp_path / "second"
    ann.data.get(version, out)
    assert (out / "f0.txt").read_text() == "small 0"


def test_gc_removes_only_what_no_folder_needs_and_the_remote_holds(
    machines: tuple[Client, Client], tmp_path: Path
) -> None:
    ann, _ = machines
    data = ann.data
    kept_files = {
        "big.bin": os.urandom(300 * 1024),
        **{f"s{i}.txt": f"small {i}" for i in range(5)},
    }
    pushed = write_files(tmp_path / "pushed", kept_files)
    lonely = write_files(tmp_path / "lonely", {"only-here.txt": "never pushed"})
    name = unique("collected")
    data.add(pushed, name=name)
    data.push([f"{name}@1"])
    only_here = data.add(lonely, name=unique("lonely")).version
    out = tmp_path / "out"
    data.get(f"{name}@1", out)
    objects = set(data.cache.packs.digests()) | {
        p.parent.name + p.name for p in data.cache.objects.rglob("*") if p.is_file()
    }
    assert len(objects) == 7

    first = data.gc()
    assert first.removed == 0 and first.in_use == 7  # every folder still holds its version

    shutil.rmtree(pushed)
    shutil.rmtree(lonely)
    # Through a server, add uploaded the lonely version too; else only this cache has it.
    lonely_gone = 1 if data.push_on_add else 0
    still = data.gc(dry_run=True)
    assert (still.removed, still.in_use) == (lonely_gone, 6)  # out/ still holds them
    shutil.rmtree(out)
    dry = data.gc(dry_run=True)
    assert dry.dry_run and (dry.removed, dry.in_use) == (6 + lonely_gone, 0)
    assert dry.freed_bytes > 300 * 1024
    assert dry.not_on_remote == 1 - lonely_gone  # the only copy of a version: never removed

    done = data.gc()
    assert done.removed == 6 + lonely_gone and not done.dry_run
    lonely_digests = {f.digest for f in data.manifest(only_here.digest).files.values()}
    assert data.cache.packs.digests() == (set() if data.push_on_add else lonely_digests)
    assert not [p for p in data.cache.objects.rglob("*") if p.is_file()]
    again = tmp_path / "again"
    data.get(f"{name}@1", again)  # pulled back from the remote, checked on the way
    assert (again / "big.bin").read_bytes() == kept_files["big.bin"]
    assert (again / "s3.txt").read_text() == "small 3"
    if not data.push_on_add:
        lonely_out = tmp_path / "lonely-out"
        data.get(only_here, lonely_out)  # still in the cache: gc kept the only copy
        assert (lonely_out / "only-here.txt").read_text() == "never pushed"

    checkouts = {c.root for c in data.state.checkouts()}
    assert str(pushed.absolute()) in checkouts  # a folder that is gone is skipped, not forgotten


def test_gc_keeps_what_a_version_of_another_store_needs(
    machines: tuple[Client, Client], tmp_path: Path, sql_uri: str
) -> None:
    """One cache, two stores: the same bytes pushed to one store's remote and never to the
    other's stay, for the other store's version."""
    ann, _ = machines
    other = Client(
        f"sqlite:///{tmp_path / 'other.db'}",
        settings=Settings(
            home=ann.settings.home, artifacts_uri=str(tmp_path / "other-artifacts"), user="ann"
        ),
    )
    try:
        content = {"same.bin": os.urandom(300 * 1024)}
        here = write_files(tmp_path / "here", content)
        there = write_files(tmp_path / "there", content)
        other.data.add(there, name=unique("never-pushed"))  # only this cache has its bytes
        name = unique("pushed-here")
        ann.data.add(here, name=name)
        ann.data.push([f"{name}@1"])
        shutil.rmtree(here)
        shutil.rmtree(there)
        done = ann.data.gc()
        assert (done.removed, done.other_stores) == (0, 1)
        assert other.data.gc().removed == 0  # its remote lacks it
    finally:
        other.close()


def test_gc_keeps_an_object_whose_remote_copy_is_damaged(
    machines: tuple[Client, Client], tmp_path: Path, sql_uri: str
) -> None:
    if sql_uri.startswith("http"):
        pytest.skip("the bucket is behind the server here; tested on the direct stores")
    ann, _ = machines
    src = write_files(tmp_path / "src", {"a.bin": os.urandom(300 * 1024)})
    version = ann.data.add(src, name=unique("fragile")).version
    ann.data.push([version])
    store = ann.data.remote.store  # type: ignore[attr-defined]
    (digest,) = remote_digests(store)
    damage(Path(store.root) / object_key(digest))
    shutil.rmtree(src)
    done = ann.data.gc()
    assert (done.removed, done.not_on_remote) == (0, 1)  # the good local copy stays
    assert ann.data.push([version], verify=True).objects == 1
    assert ann.data.gc().removed == 1


def test_gc_keeps_versions_used_before_stores_were_recorded(
    machines: tuple[Client, Client], tmp_path: Path, sql_uri: str
) -> None:
    ann, _ = machines
    src = write_files(tmp_path / "src", {"a.bin": os.urandom(300 * 1024)})
    version = ann.data.add(src, name=unique("older")).version
    ann.data.push([version])
    ann.data.state.db.execute("DROP TABLE used")  # a state file from before uses were kept
    shutil.rmtree(src)
    later = Client(sql_uri, settings=ann.settings)  # opens the state: cached versions are
    try:  # of an unknown store now, and no gc frees their objects
        assert (later.data.gc().removed, later.data.gc().other_stores) == (0, 1)
        later.data.push([f"{version.name}@{version.version}"])
        assert later.data.gc().removed == 0
    finally:
        later.close()


def test_a_client_handed_a_backend_keys_its_data_to_that_store(
    machines: tuple[Client, Client], tmp_path: Path, sql_uri: str
) -> None:
    """A backend knows the URI it was opened from, so what a client handed one uses is
    recorded against that store, and gc may free it like anything else of the store's."""
    from keel.store import open_backend

    ann, _ = machines
    handed = Client(backend=open_backend(sql_uri, ann.settings), settings=ann.settings)
    try:
        assert handed.data.store_key == ann.data.store_key
        content = {"same.bin": os.urandom(300 * 1024)}
        mine = write_files(tmp_path / "mine", content)
        name = unique("handed")
        handed.data.add(mine, name=name)
        handed.data.push([f"{name}@1"])
    finally:
        handed.close()
    shutil.rmtree(mine)
    done = ann.data.gc()
    assert (done.removed, done.other_stores) == (1, 0)


def test_gc_waits_for_a_command_that_is_using_the_cache(
    machines: tuple[Client, Client], tmp_path: Path
) -> None:
    ann, _ = machines
    ann.data.add(write_files(tmp_path / "src", {"a.txt": "alpha"}), name=unique("busy"))
    lock = ann.data.cache.root / "lock"
    holder = subprocess.Popen(  # as an add would, from its first look at the cache
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_SH); print('held', flush=True); time.sleep(2.0)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        assert ann.data.gc(dry_run=True).dry_run  # a dry run takes no lock: no wait
        assert time.monotonic() - started < 0.8
        ann.data.gc()
        assert time.monotonic() - started > 1.2  # it waited for the holder to finish
    finally:
        holder.wait(timeout=10)
