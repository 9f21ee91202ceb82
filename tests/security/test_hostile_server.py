"""A hostile server (or anyone in the middle) cannot make a client write outside the
folder it downloads to.

The server here is a real HTTP server on a loopback port (the standard library's), not
a mock of Keel: it answers an artifact listing with paths that climb out of the
destination, and the canary file those paths aim at must be left untouched by
``download_artifacts``, ``keel artifacts download`` and ``load_model``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from keel.artifacts.hashing import hash_bytes
from keel.client import Client
from keel.config import Settings
from keel.errors import InvalidArgument

RUN = "a" * 32
PAYLOAD = b"pwned"
CANARY_TEXT = "canary: untouched\n"


VERSION = {
    "name": "m", "version": 1, "source": f"runs:/{RUN}/model", "run_id": RUN,
    "content_hash": "blake3:" + "0" * 64, "status": "APPROVED", "description": "",
    "tags": {}, "signature": None, "parent_version": None, "created": 1, "updated": 1,
    "created_by": "mallory", "aliases": [],
}  # fmt: skip


class Hostile:
    """What the hostile server lists: one good file and one whose path is ``evil``."""

    def __init__(self) -> None:
        self.evil = ""
        self.content_requests: list[str] = []


def _handler(state: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/health":
                return self._json(200, {"status": "ok"})
            if url.path == "/api/v1/registered-models/m/versions/1":
                return self._json(200, VERSION)
            if url.path.endswith("/artifacts/stat"):
                return self._json(404, {"error": {"code": "not_found", "message": "no"}})
            if url.path.endswith("/artifacts"):
                files = [
                    {"path": "model/ok.txt", "is_dir": False, "file_size": 5,
                     "digest": hash_bytes(PAYLOAD)},
                    {"path": state.evil, "is_dir": False, "file_size": 5,
                     "digest": hash_bytes(PAYLOAD)},
                ]  # fmt: skip
                return self._json(200, {"files": files})
            if url.path.endswith("/artifacts/content"):
                state.content_requests.append(query.get("path", ""))
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(PAYLOAD)))
                self.send_header("X-Keel-Digest", hash_bytes(PAYLOAD))
                self.end_headers()
                self.wfile.write(PAYLOAD)
                return None
            return self._json(404, {"error": {"code": "not_found", "message": url.path}})

    return Handler


@pytest.fixture
def hostile() -> Iterator[tuple[str, Hostile]]:
    state = Hostile()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A file outside every destination the tests download to."""
    path = tmp_path / "outside" / "canary.txt"
    path.parent.mkdir()
    path.write_text(CANARY_TEXT)
    return path


def _evil_paths(canary: Path) -> list[str]:
    """Server paths that, joined naively to ``<tmp>/dst``, land on the canary."""
    return [
        "../outside/canary.txt",
        "model/../../outside/canary.txt",
        "%2e%2e/outside/canary.txt",
        "%252e%252e/outside/canary.txt",
        str(canary),  # absolute
        "..\\outside\\canary.txt",
        "model/ok.txt\x00/../../outside/canary.txt",
        "C:/outside/canary.txt",
    ]


def _client(url: str, tmp_path: Path) -> Client:
    return Client(url, settings=Settings(home=tmp_path / "home", spool_dir=tmp_path / "spool"))


def _assert_untouched(canary: Path, dst: Path) -> None:
    assert canary.read_text() == CANARY_TEXT
    assert sorted(p.name for p in canary.parent.iterdir()) == ["canary.txt"]
    # Nothing at all is written when one listed path is refused: checked before writing.
    assert not dst.exists() or not any(p.is_file() for p in dst.rglob("*"))


def test_download_artifacts_refuses_paths_out_of_the_destination(
    hostile: tuple[str, Hostile], canary: Path, tmp_path: Path
) -> None:
    url, state = hostile
    with _client(url, tmp_path) as client:
        for evil in _evil_paths(canary):
            state.evil = evil
            dst = tmp_path / "dst"
            with pytest.raises(InvalidArgument, match="path from the server") as caught:
                client.download_artifacts(RUN, "", dst)
            assert repr(evil)[1:-1][:20] in str(caught.value)
            _assert_untouched(canary, dst)
    assert state.content_requests == []


def test_a_symlink_in_the_destination_does_not_lead_out(
    hostile: tuple[str, Hostile], canary: Path, tmp_path: Path
) -> None:
    url, state = hostile
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "link").symlink_to(canary.parent, target_is_directory=True)
    state.evil = "link/canary.txt"
    with _client(url, tmp_path) as client, pytest.raises(InvalidArgument, match="symbolic link"):
        client.download_artifacts(RUN, "", dst)
    assert canary.read_text() == CANARY_TEXT


def test_keel_artifacts_download_refuses_them(
    hostile: tuple[str, Hostile], canary: Path, tmp_path: Path
) -> None:
    from keel.cli.main import app

    url, state = hostile
    state.evil = "../../outside/canary.txt"
    dst = tmp_path / "cli-dst"
    result = CliRunner().invoke(
        app, ["artifacts", "download", RUN, "-o", str(dst), "-t", url],
        env={"KEEL_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidArgument)  # keel's main() prints it
    assert "path from the server '../../outside/canary.txt'" in str(result.exception)
    _assert_untouched(canary, dst)


def test_load_model_refuses_them(
    hostile: tuple[str, Hostile], canary: Path, tmp_path: Path
) -> None:
    url, state = hostile
    state.evil = "model/../../../../outside/canary.txt"
    with (
        _client(url, tmp_path) as client,
        pytest.raises(InvalidArgument, match="path from the server"),
    ):
        client.load_model(f"runs:/{RUN}/model")
    assert canary.read_text() == CANARY_TEXT
    assert state.content_requests == []


def test_keel_models_download_refuses_them(
    hostile: tuple[str, Hostile], canary: Path, tmp_path: Path
) -> None:
    from keel.cli.main import app

    url, state = hostile
    state.evil = "model/../../../outside/canary.txt"
    dst = tmp_path / "pkg"
    result = CliRunner().invoke(
        app, ["models", "download", "m/1", "-o", str(dst), "-t", url],
        env={"KEEL_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert isinstance(result.exception, InvalidArgument), result.output
    assert "path from the server 'model/../../../outside/canary.txt'" in str(result.exception)
    _assert_untouched(canary, dst)
    assert state.content_requests == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".keel-model-")]
