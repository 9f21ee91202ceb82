"""The REST client's kept-alive connections: a connection the server closed while idle is
opened again once; a server that answers nothing is unreachable, not retried forever."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from keel.errors import StoreUnavailable
from keel.store.rest.http import Http


class ScriptedServer:
    """A loopback server that answers each request with ``{"ok":true}`` and then closes
    the connection without saying so (as a server whose keep-alive timed out does), or
    closes it without answering at all."""

    def __init__(self, *, answer: bool) -> None:
        self.answer = answer
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if self.answer and data:
                    body = b'{"ok":true}'
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
            # closed here, though the answer promised keep-alive

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def closing_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer(answer=True)
    yield server
    server.close()


def test_a_connection_closed_while_idle_is_opened_again(closing_server: ScriptedServer) -> None:
    http = Http(closing_server.url, timeout=5)
    try:
        for _ in range(3):
            assert http.request("GET", "/x") == {"ok": True}
    finally:
        http.close()
    assert closing_server.connections == 3


def test_a_server_that_never_answers_is_unreachable() -> None:
    server = ScriptedServer(answer=False)
    http = Http(server.url, timeout=5)
    try:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            http.request("POST", "/api/v1/writes", json={"batch_id": "x", "runs": []})
    finally:
        http.close()
        server.close()
    assert server.connections == 1  # a fresh connection is not tried twice


def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    http = Http(f"http://127.0.0.1:{port}", timeout=2)
    try:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            http.request("GET", "/health")
    finally:
        http.close()


def test_each_thread_has_its_own_connection(closing_server: ScriptedServer) -> None:
    http = Http(closing_server.url, timeout=5)
    answers: list[object] = []
    try:
        threads = [
            threading.Thread(target=lambda: answers.append(http.request("GET", "/x")))
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        http.close()
    assert answers == [{"ok": True}] * 4


def test_a_connection_used_after_close_is_closed_by_the_next_close(
    closing_server: ScriptedServer,
) -> None:
    http = Http(closing_server.url, timeout=5)
    assert http.request("GET", "/x") == {"ok": True}
    http.close()
    assert http.request("GET", "/x") == {"ok": True}  # opened again
    connections = http._connections
    assert connections is not None
    reopened = connections._connection()
    assert reopened.sock is not None
    http.close()
    assert reopened.sock is None
