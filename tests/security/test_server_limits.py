"""Limits and browser checks of a real ``keel server``: bodies counted on the stream
(chunked included), uploads capped with nothing left behind, JSON depth, the Host
allow-list, and Origin / content-type checks on state-changing requests."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ServerProcess
from keel.entities.json_depth import MAX_BODY_DEPTH
from server.support import API, assert_error, create_experiment, create_run, log_problems

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def small_uploads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server taking uploads of at most 1 MiB and answering to ``keel.internal`` too."""
    root = tmp_path_factory.mktemp("limits")
    proc = ServerProcess(
        f"sqlite:///{root / 'keel.db'}", root / "artifacts", root / "server.log",
        env={"KEEL_MAX_UPLOAD_BYTES": str(MiB)},
        args=("--allowed-hosts", "keel.internal"),
    )  # fmt: skip
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def api(small_uploads: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=small_uploads.url, timeout=60) as client:
        yield client


def _chunks(total: int, piece: bytes = b"x" * 65536) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield piece
        sent += len(piece)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_chunked_json_body_over_the_limit_is_refused_on_the_stream(api: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"name": "'
        yield from _chunks(65 * MiB)
        yield b'"}'

    r = api.post(f"{API}/experiments", content=body(), headers={"Content-Type": "application/json"})
    assert_error(r, 413, "body", "bytes")
    assert api.get("/health").status_code == 200


def _read_answer(sock: socket.socket) -> str:
    """The whole answer: its head and the body its Content-Length declares (a loaded
    machine may send them in separate segments)."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return data.decode()
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")),
        0,
    )  # fmt: skip
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return (head + b"\r\n\r\n" + body).decode()


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    small_uploads: ServerProcess,
) -> None:
    """Only the head is sent: the answer comes without the server waiting for 65 MiB."""
    head = (
        f"POST {API}/experiments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {65 * MiB}\r\n\r\n{{"
    )
    with socket.create_connection(("127.0.0.1", small_uploads.port), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = _read_answer(sock)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "payload_too_large" in answer


def test_an_upload_over_the_limit_keeps_nothing(
    api: httpx.Client, small_uploads: ServerProcess
) -> None:
    run_id = create_run(api, create_experiment(api))
    before = _files(small_uploads.artifacts)
    r = api.put(
        f"{API}/runs/{run_id}/artifacts/content",
        params={"path": "big.bin"},
        content=_chunks(2 * MiB),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_error(r, 413, "KEEL_MAX_UPLOAD_BYTES")
    assert _files(small_uploads.artifacts) == before  # no partial file, no temporary
    assert api.get(f"{API}/runs/{run_id}/artifacts").json()["files"] == []
    ok = api.put(
        f"{API}/runs/{run_id}/artifacts/content", params={"path": "ok.bin"}, content=b"x" * 1000
    )
    assert ok.status_code == 201, ok.text
    big = api.put(
        f"{API}/dataset-objects/{'0' * 64}", content=_chunks(2 * MiB),
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert big.status_code == 413, big.text


def _deep(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize("levels", [MAX_BODY_DEPTH, 300, 5000])
def test_deep_json_is_refused_naming_the_field(api: httpx.Client, levels: int) -> None:
    body = f'{{"name": "deep", "tags": {_deep(levels)}}}'
    r = api.post(f"{API}/experiments", content=body, headers={"Content-Type": "application/json"})
    message = assert_error(r, 422, "nest", str(MAX_BODY_DEPTH))
    if levels < 1000:  # parseable: the field is named
        assert message.startswith("tags:"), message
    # Brackets inside strings are text, not nesting.
    flat = {"name": f"ok-{levels}", "tags": {"note": "[" * 100 + "{" * 100}}
    assert api.post(f"{API}/experiments", json=flat).status_code == 201


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "", "[::2]", "a b"]
)
def test_a_foreign_host_is_refused(small_uploads: ServerProcess, host: str) -> None:
    with httpx.Client(base_url=small_uploads.url) as client:
        r = client.get(f"{API}/experiments", headers={"Host": host})
    assert_error(r, 400, "host")


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "[::1]", "keel.internal", "KEEL.internal"]
)
def test_allowed_hosts_are_served(small_uploads: ServerProcess, host: str) -> None:
    with httpx.Client(base_url=small_uploads.url) as client:
        r = client.get(f"{API}/experiments", headers={"Host": f"{host}:{small_uploads.port}"})
    assert r.status_code == 200, r.text


def test_a_foreign_origin_cannot_change_data(
    api: httpx.Client, small_uploads: ServerProcess
) -> None:
    exp = create_experiment(api)
    assert api.delete(f"{API}/experiments/{exp}").status_code == 204
    for origin in ("http://evil.example", "null", "http://127.0.0.1.evil.example", "file://"):
        r = api.post(f"{API}/experiments/{exp}/restore", headers={"Origin": origin})
        assert_error(r, 403, "origin")
    stage = api.get(f"{API}/experiments/{exp}").json()["lifecycle_stage"]
    assert stage == "deleted"
    # Reading is not a state change; the server's own origin may change things.
    assert api.get(f"{API}/experiments/{exp}", headers={"Origin": "http://evil.example"}).is_success
    own = f"http://127.0.0.1:{small_uploads.port}"
    assert api.post(f"{API}/experiments/{exp}/restore", headers={"Origin": own}).status_code == 204


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
)
def test_a_body_that_is_not_json_is_refused(api: httpx.Client, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = api.post(f"{API}/experiments", content=b'{"name": "csrf"}', headers=headers)
    assert_error(r, 415, "json")


def test_the_server_log_is_clean(small_uploads: ServerProcess) -> None:
    assert log_problems(small_uploads.log) == []
    assert os.path.exists(small_uploads.log)
