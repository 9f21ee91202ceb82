"""Attacks tried as an attacker would, against a real ``keel server`` on loopback and the
embedded store, with canary files outside the store checked after each: artifact
immutability (a model swapped after review), path traversal through artifact paths and
``runs:/``/``models:/`` URIs, symlinks planted in the store, and archive members.

The other halves of the suite: ``test_hostile_server.py`` (a server writing outside the
client's folder), ``test_server_limits.py`` (limits, Host, Origin), ``test_big_ids.py``.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import keel
from conftest import ServerProcess, settings_for, unique
from keel.errors import Conflict, Forbidden, InvalidArgument, NotFound
from server.support import API, assert_error, create_experiment, create_run, log_problems

CANARY = b"canary: must never change\n"


class Site:
    """A server of this module's own, and canaries beside and above its artifact root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server = ServerProcess(
            f"sqlite:///{root / 'keel.db'}", root / "artifacts", root / "server.log"
        )
        self.canaries = [root / "canary.txt", root.parent / f"{root.name}-canary.txt"]
        for canary in self.canaries:
            canary.write_bytes(CANARY)

    def assert_canaries_untouched(self) -> None:
        for canary in self.canaries:
            assert canary.read_bytes() == CANARY, canary
        assert sorted(p.name for p in self.root.iterdir() if "canary" in p.name) == ["canary.txt"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("attacks"))
    s.server.start()
    try:
        yield s
    finally:
        s.server.stop()
        assert log_problems(s.server.log) == []


@pytest.fixture
def http(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.server.url, timeout=60) as client:
        yield client


@pytest.fixture(params=["server", "embedded"])
def client(request: pytest.FixtureRequest, site: Site, tmp_path: Path) -> Iterator[keel.Client]:
    """A client over the module's server, or over an embedded SQLite store."""
    uri = site.server.url if request.param == "server" else f"sqlite:///{tmp_path / 'k.db'}"
    settings = settings_for(tmp_path)
    c = keel.Client(uri, settings=settings)
    yield c
    c.close()


def content(run_id: str) -> str:
    return f"{API}/runs/{run_id}/artifacts/content"


def end_run(http: httpx.Client, run_id: str, status: str = "FINISHED") -> None:
    body = {
        "batch_id": unique("b"),
        "runs": [{"run_id": run_id, "end": {"status": status, "end_time": 1_800_000_000_000}}],
    }
    r = http.post(f"{API}/writes", json=body)
    assert r.is_success, r.text


# immutability -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["FINISHED", "FAILED", "KILLED"])
def test_artifacts_of_an_ended_run_cannot_be_overwritten_or_added(
    http: httpx.Client, site: Site, status: str
) -> None:
    run = create_run(http, create_experiment(http))
    assert http.put(content(run), params={"path": "model/w.bin"}, content=b"good").is_success
    end_run(http, run, status)
    for path in ("model/w.bin", "model/extra.bin", "new.txt"):
        r = http.put(content(run), params={"path": path}, content=b"poison")
        assert_error(r, 409, status, "immutable")
    assert http.get(content(run), params={"path": "model/w.bin"}).content == b"good"
    files = http.get(f"{API}/runs/{run}/artifacts", params={"path": "model"}).json()["files"]
    assert [f["path"] for f in files] == ["model/w.bin"]
    site.assert_canaries_untouched()


def test_a_registered_model_is_immutable_while_its_run_still_runs(client: keel.Client) -> None:
    run = client.create_run(client.create_experiment(unique())).run_id
    client.log_text(run, "{}", "notes.json")  # not the model: still writable
    logged = client.log_model(run, _tiny_model(), "model")
    name = unique("m")
    client.flush()
    client.registry.register_model(logged.uri, name)
    for path in ("model/keel-model.json", "model/evil.py"):
        with pytest.raises(Conflict, match=rf"model '{name}' version 1"):
            client.log_text(run, "poison", path)
    client.log_text(run, "{}", "notes.json")  # the rest of a RUNNING run is not frozen
    assert client.load_model(f"models:/{name}/1", trust=True) is not None
    client.set_terminated(run)
    with pytest.raises(Conflict, match="FINISHED"):
        client.log_text(run, "{}", "notes.json")


def test_a_resumed_run_keeps_what_it_had_when_it_ended(client: keel.Client) -> None:
    run = client.create_run(client.create_experiment(unique())).run_id
    client.log_text(run, "v1", "report.txt")
    client.set_terminated(run)
    client.resume_run(run)  # e.g. keel.start_run(run_id=...)
    with pytest.raises(Conflict, match="resumed"):
        client.log_text(run, "v2", "report.txt")
    client.log_text(run, "more", "later.txt")  # new files may be added while it runs
    client.log_text(run, "more again", "later.txt")
    out = client.download_artifacts(run, "report.txt")
    assert out.read_text() == "v1"
    client.set_terminated(run)


def _tiny_model() -> object:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit([[0.0], [1.0]], [0, 1])


# path traversal -----------------------------------------------------------------------------

# Artifact paths carrying URL syntax and odd schemes: refused, or (when harmless) kept as a
# plain name inside the run. Never outside.
URL_SHAPED_PATHS = [
    "x?/../../../../canary.txt",
    "x#/../../../../canary.txt",
    "x;/../../../../canary.txt",
    "..;/..;/canary.txt",
    "file://./canary.txt",
    "file:///etc/passwd",
    "//proc/self/root/etc/passwd",
    "/proc/self/root/etc/passwd",
    "s3://bucket/key",
    "%2e%2e;/x",
    "x/%252e%252e/%252e%252e/%252e%252e/%252e%252e/canary.txt",
    ".%2e/.%2e/canary.txt",
    "%c0%ae%c0%ae/canary.txt",  # overlong UTF-8 dots: not dots, a strange but inside name
]


@pytest.mark.parametrize("path", URL_SHAPED_PATHS, ids=lambda p: ascii(p)[1:-1][:40])
def test_url_shaped_artifact_paths_stay_inside_the_run(
    http: httpx.Client, site: Site, path: str
) -> None:
    run = create_run(http, create_experiment(http))
    r = http.put(content(run), params={"path": path}, content=b"evil")
    assert r.status_code in (201, 400), r.text
    if r.status_code == 201:  # stored under the run's own folder, by its own name
        stored = r.json()["path"]
        assert ".." not in stored.split("/") and not stored.startswith("/")
        artifacts = site.root / "artifacts"
        written = [p for p in artifacts.rglob("*") if p.is_file() and p.read_bytes() == b"evil"]
        assert len(written) == 1 and f"/{run}/artifacts/" in written[0].as_posix()
        written[0].unlink()  # keep the next case's search unambiguous
    site.assert_canaries_untouched()


BAD_RUN_URIS = [
    "runs:/../../canary.txt",
    "runs:/{run}/../../../../canary.txt",
    "runs:/{run}/%2e%2e/%2e%2e/canary.txt",
    "runs:/{run}/%252e%252e/canary.txt",
    "runs:/{run}/model?x=/../../canary.txt",
    "runs:/{run}/model#/../../canary.txt",
    "runs:/{run}//proc/self/root/etc/passwd",
    "runs:/{run}/file://./canary.txt",
    "runs://{run}/model",
    "models:/../canary.txt",
    "models:/m/../../canary.txt",
    "models:/m@../../canary",
    "models:/m/1;/../../x",
    "models:/m/99999999999999999999",
    "models:/m/-1",
    "file:///etc/passwd",
    "file://./canary.txt",
    "s3://bucket/model",
    "http://127.0.0.1:1/model",
    "//proc/self/root/etc/passwd",
]


@pytest.mark.parametrize("uri", BAD_RUN_URIS, ids=lambda u: ascii(u)[1:-1][:40])
def test_hostile_model_uris_are_refused(client: keel.Client, site: Site, uri: str) -> None:
    run = client.create_run(client.create_experiment(unique())).run_id
    with pytest.raises((InvalidArgument, NotFound)):
        client.load_model(uri.format(run=run), trust=True)
    site.assert_canaries_untouched()


# symlinks in the store ------------------------------------------------------------------------


def test_a_symlink_planted_in_the_store_is_not_followed(tmp_path: Path, site: Site) -> None:
    """Whoever can write into the artifact folder plants a link to the canary (or to a
    folder outside): reads and writes through it are refused."""
    with keel.Client(f"sqlite:///{tmp_path / 'k.db'}", settings=settings_for(tmp_path)) as c:
        run = c.create_run(c.create_experiment(unique())).run_id
        c.log_text(run, "ok", "real.txt")
        folder = Path(c.get_run(run).info.artifact_uri)
        (folder / "real.txt").unlink()
        (folder / "real.txt").symlink_to(site.canaries[0])
        (folder / "outside").symlink_to(site.root, target_is_directory=True)
        with pytest.raises(Forbidden, match="symbolic link"):
            c.download_artifacts(run, "real.txt", tmp_path / "out")
        with pytest.raises(Forbidden, match="symbolic link"):
            c.log_text(run, "evil", "outside/canary.txt")
        with pytest.raises(Forbidden, match="symbolic link"):
            c.log_text(run, "evil", "outside/new.txt")
    site.assert_canaries_untouched()
    assert not (site.root / "new.txt").exists()


# archives ---------------------------------------------------------------------------------------

SLIPS = ["../canary.txt", "../../canary.txt", "/tmp/keel-slip", "a/../../canary.txt", "..\\x"]


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_archive_members_cannot_slip_out(tmp_path: Path, kind: str) -> None:
    """The one archive Keel extracts (a packed model, ``keel.models.extract_archive``)."""
    from keel.models import extract_archive

    canary = tmp_path / "canary.txt"
    canary.write_bytes(CANARY)
    for i, member in enumerate(SLIPS):
        archive = tmp_path / f"a{i}.{kind}"
        if kind == "zip":
            with zipfile.ZipFile(archive, "w") as z:
                z.writestr("ok.txt", b"ok")
                z.writestr(member, b"evil")
        else:
            with tarfile.open(archive, "w") as t:
                for name, data in (("ok.txt", b"ok"), (member, b"evil")):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
        with pytest.raises(InvalidArgument, match="archive member"):
            extract_archive(archive, tmp_path / f"out{i}" / "pkg")
        assert not (tmp_path / f"out{i}" / "pkg").exists()
    assert canary.read_bytes() == CANARY
    assert not Path("/tmp/keel-slip").exists()


def test_a_big_upload_to_an_ended_run_is_refused_cleanly(site: Site, tmp_path: Path) -> None:
    """The refusal comes before the body is read: the client still gets the 409 (not a
    broken connection) however much it was sending."""
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (64 * 1024 * 1024))
    with keel.Client(site.server.url, settings=settings_for(tmp_path)) as c:
        run = c.create_run(c.create_experiment(unique())).run_id
        c.set_terminated(run)
        with pytest.raises(Conflict, match="FINISHED"):
            c.log_artifact(run, big)
    site.assert_canaries_untouched()
