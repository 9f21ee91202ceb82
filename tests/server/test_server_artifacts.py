"""Artifacts over HTTP: user paths never escape the run's artifact root, whatever the
encoding; uploads and downloads keep bytes exact and checked against their BLAKE3 digest.

The module runs its own server so that it can watch every file under the server's folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import keel
from conftest import ServerProcess, settings_for, unique
from keel.artifacts.hashing import hash_bytes
from keel.errors import CorruptData, InvalidArgument
from server.support import (
    API,
    assert_error,
    create_experiment,
    create_run,
    get_run,
    log_problems,
    snapshot_tree,
)

CANARY = b"canary: must never change\n"


class Site:
    """The module's server, its folder and the canaries planted outside its artifact root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.artifacts = root / "artifacts"
        self.server = ServerProcess(f"sqlite:///{root / 'keel.db'}", self.artifacts, root / "log")
        self.canaries = [root / "canary.txt", root.parent / f"{root.name}-canary.txt"]
        for canary in self.canaries:
            canary.write_bytes(CANARY)
        self.canary_stats = [(c.stat().st_mtime_ns, c.stat().st_size) for c in self.canaries]

    def outside_files(self) -> dict[str, tuple[int, int]]:
        """Everything under the server's folder that the server does not own by design."""
        skip = ("keel.db", "log")
        return {
            path: stat
            for path, stat in snapshot_tree(self.root).items()
            if not path.startswith(skip)
        }

    def assert_canaries_untouched(self) -> None:
        for canary, stat in zip(self.canaries, self.canary_stats, strict=True):
            assert canary.read_bytes() == CANARY
            assert (canary.stat().st_mtime_ns, canary.stat().st_size) == stat
        # Other modules plant canaries beside theirs in the same base folder: only this
        # module's family (artsrv*) is this module's to count.
        ours = [p.name for p in self.root.parent.iterdir() if p.name.startswith("artsrv")]
        assert sorted(name for name in ours if "canary" in name) == [f"{self.root.name}-canary.txt"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("artsrv"))
    s.server.start()
    try:
        yield s
    finally:
        s.server.stop()


@pytest.fixture
def http(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.server.url, timeout=60) as client:
        yield client


@pytest.fixture
def run(http: httpx.Client) -> str:
    return create_run(http, create_experiment(http))


@pytest.fixture
def client(site: Site, tmp_path: Path) -> Iterator[keel.Client]:
    c = keel.Client(site.server.url, settings=settings_for(tmp_path))
    yield c
    c.close()


def content_url(run_id: str, suffix: str = "/content") -> str:
    return f"{API}/runs/{run_id}/artifacts{suffix}"


# path safety ---------------------------------------------------------------------------------

# Relative to a run's artifact folder (<root>/artifacts/<exp>/<run>/artifacts), four levels
# up is the server's folder, where the canary lies.
UP4 = "../../../../canary.txt"
BAD_PATHS = [
    "/etc/passwd",
    "//etc/passwd",
    "../x",
    "a/../../x",
    "a/..",
    UP4,
    "./x",
    "a\\b",
    "..\\..\\x",
    "a\x00b",
    "x\x00.txt",
    "a\nb",
    "%2e%2e%2fx",
    "%2E%2E/%2E%2E/canary.txt",
    "%252e%252e%252fx",
    "%25252e%25252e%25252fcanary.txt",
    "..%2Fx",
    "..%2f..%2f..%2f..%2fcanary.txt",
    "a%2F..%2F..%2Fx",
    "%2fetc%2fpasswd",
    "a%5cb",
    "a%00b",
    "a%2500b",
    "~/x",
    "C:/Windows/x",
    "a//b",
    "x" * 1025,
]


def bad_path_ids() -> list[str]:
    return [ascii(p)[1:-1][:40] for p in BAD_PATHS]


@pytest.mark.parametrize("path", BAD_PATHS, ids=bad_path_ids())
def test_bad_paths_are_400_on_every_operation(
    http: httpx.Client, run: str, site: Site, path: str
) -> None:
    before = site.outside_files()
    r = http.put(content_url(run), params={"path": path}, content=b"evil bytes")
    assert_error(r, 400, "path")
    for suffix in ("/content", "/stat", ""):
        assert_error(http.get(content_url(run, suffix), params={"path": path}), 400, "path")
    assert site.outside_files() == before
    site.assert_canaries_untouched()
    assert http.get(content_url(run, "")).json() == {"files": []}


def test_absolute_path_to_canary_is_refused(http: httpx.Client, run: str, site: Site) -> None:
    for canary in site.canaries:
        r = http.put(content_url(run), params={"path": str(canary)}, content=b"evil")
        assert_error(r, 400, "relative")
        assert_error(http.get(content_url(run), params={"path": str(canary)}), 400)
    site.assert_canaries_untouched()


# Built by hand so the server receives exactly these bytes in the query string (an HTTP
# library would percent-encode a '%' it is given, hiding double-encoding).
RAW_QUERIES = [
    "%2e%2e%2fx",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fcanary.txt",
    "..%2F..%2F..%2F..%2Fcanary.txt",
    "../../../../canary.txt",
    "%252e%252e%252f%252e%252e%252f%252e%252e%252f%252e%252e%252fcanary.txt",
    "%25252e%25252e%25252fx",
    "%2fetc%2fpasswd",
    "/etc/passwd",
    "a%00b",
    "a%2500b",
    "%00",
    "a%5c..%5c..%5cx",
    "..%5cx",
    "a/%2e%2e/%2e%2e/x",
    "%2e/x",
    "a%0ab",
]


@pytest.mark.parametrize("raw", RAW_QUERIES)
def test_raw_encoded_queries_are_400(http: httpx.Client, run: str, site: Site, raw: str) -> None:
    before = site.outside_files()
    base = site.server.url + content_url(run)
    for method, url in (
        ("PUT", f"{base}?path={raw}"),
        ("GET", f"{base}?path={raw}"),
        ("GET", f"{site.server.url}{content_url(run, '/stat')}?path={raw}"),
        ("GET", f"{site.server.url}{content_url(run, '')}?path={raw}"),
    ):
        request = http.build_request(method, httpx.URL(url), content=b"evil")
        assert request.url.raw_path.endswith(f"?path={raw}".encode()), request.url.raw_path
        assert_error(http.send(request), 400, "path")
    assert site.outside_files() == before
    site.assert_canaries_untouched()


def test_client_refuses_bad_paths_before_sending(client: keel.Client, tmp_path: Path) -> None:
    run = client.create_run(client.create_experiment(unique())).run_id
    local = tmp_path / "f.txt"
    local.write_bytes(b"data")
    for path in ("../x", "/etc/passwd", "a\\b", "%2e%2e%2fx", "a\x00b"):
        with pytest.raises(InvalidArgument):
            client.log_bytes(run, b"evil", path)
        with pytest.raises(InvalidArgument):
            client.log_artifact(run, local, path)
        with pytest.raises(InvalidArgument):
            client.list_artifacts(run, path)
        with pytest.raises(InvalidArgument):
            client.download_artifacts(run, path, tmp_path / "out")
    assert client.list_artifacts(run) == []


def test_file_and_folder_of_one_name_conflict(http: httpx.Client, run: str, site: Site) -> None:
    ok = http.put(content_url(run), params={"path": "d/f.txt"}, content=b"first")
    assert ok.status_code == 201, ok.text
    folder = Path(get_run(http, run)["info"]["artifact_uri"])
    before = snapshot_tree(folder)
    # A file where a folder is, and a file below a file: refused, nothing changes.
    assert_error(http.put(content_url(run), params={"path": "d"}, content=b"x"), 409, "d")
    r = http.put(content_url(run), params={"path": "d/f.txt/g"}, content=b"x")
    assert_error(r, 409, "d/f.txt")
    assert snapshot_tree(folder) == before
    listing = http.get(content_url(run, "")).json()["files"]
    assert listing == [{"path": "d", "is_dir": True, "file_size": None, "digest": None}]
    assert http.get(content_url(run), params={"path": "d/f.txt"}).content == b"first"
    assert not log_problems(site.server.log)


# round trips and digests ----------------------------------------------------------------------

BIG = 20 * 1024 * 1024


def test_20_mib_round_trip_over_http(http: httpx.Client, run: str) -> None:
    data = os.urandom(BIG)
    digest = hash_bytes(data)
    r = http.put(
        content_url(run),
        params={"path": "big/blob.bin"},
        content=data,
        headers={"X-Keel-Digest": digest, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    assert r.json() == {
        "path": "big/blob.bin",
        "is_dir": False,
        "file_size": BIG,
        "digest": digest,
    }
    stat = http.get(content_url(run, "/stat"), params={"path": "big/blob.bin"})
    assert stat.json()["digest"] == digest
    got = http.get(content_url(run), params={"path": "big/blob.bin"})
    assert got.status_code == 200
    assert got.headers["X-Keel-Digest"] == digest
    assert int(got.headers["Content-Length"]) == BIG
    assert hash_bytes(got.content) == digest and got.content == data


def test_20_mib_round_trip_through_client(client: keel.Client, tmp_path: Path) -> None:
    run = client.create_run(client.create_experiment(unique())).run_id
    data = os.urandom(BIG)
    local = tmp_path / "model.bin"
    local.write_bytes(data)
    (info,) = client.log_artifact(run, local, "models")
    assert (info.path, info.file_size, info.digest) == ("models/model.bin", BIG, hash_bytes(data))
    out = client.download_artifacts(run, "models/model.bin", tmp_path / "out")
    assert out.read_bytes() == data


def test_wrong_digest_header_keeps_nothing(http: httpx.Client, run: str) -> None:
    data = os.urandom(3 * 1024 * 1024)
    wrong = hash_bytes(data + b"!")
    r = http.put(content_url(run), params={"path": "w.bin"}, content=data,
                 headers={"X-Keel-Digest": wrong})  # fmt: skip
    assert_error(r, 400, "digest", "nothing was kept")
    assert_error(http.get(content_url(run, "/stat"), params={"path": "w.bin"}), 404)
    assert http.get(content_url(run, "")).json() == {"files": []}
    folder = Path(get_run(http, run)["info"]["artifact_uri"])
    assert not [p for p in snapshot_tree(folder) if "w.bin" in p] if folder.exists() else True
    # Replacing a good file with a damaged upload keeps the good one.
    good = http.put(content_url(run), params={"path": "w.bin"}, content=b"good")
    assert good.status_code == 201
    r = http.put(content_url(run), params={"path": "w.bin"}, content=b"bad",
                 headers={"X-Keel-Digest": hash_bytes(b"other")})  # fmt: skip
    assert_error(r, 400, "digest")
    assert http.get(content_url(run), params={"path": "w.bin"}).content == b"good"
    assert sorted(snapshot_tree(folder)) == ["w.bin"]


@pytest.mark.parametrize("damage", ["flip", "append", "truncate", "empty"])
def test_tampered_file_fails_download(
    client: keel.Client, http: httpx.Client, tmp_path: Path, damage: str
) -> None:
    run = client.create_run(client.create_experiment(unique())).run_id
    data = os.urandom(1024 * 1024 + 17)
    client.log_bytes(run, data, "m/weights.bin")
    stored = Path(client.get_run(run).info.artifact_uri) / "m" / "weights.bin"
    assert stored.read_bytes() == data
    if damage == "flip":
        stored.write_bytes(data[:1000] + bytes([data[1000] ^ 1]) + data[1001:])
    elif damage == "append":
        stored.write_bytes(data + b"extra")
    elif damage == "truncate":
        stored.write_bytes(data[:-1])
    else:
        stored.write_bytes(b"")
    out = tmp_path / "out"
    with pytest.raises(CorruptData):
        client.download_artifacts(run, "m/weights.bin", out)
    assert not (out / "m" / "weights.bin").exists()
    assert not [p for p in out.rglob("*") if p.is_file()] if out.exists() else True
    # The server is still fine afterwards.
    assert http.get("/health").status_code == 200
