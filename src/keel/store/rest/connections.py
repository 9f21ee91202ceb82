"""Kept-alive connections for small JSON requests to ``keel server``, one per thread.

A run's creation and its end are each one request the caller waits for, so the client's
own cost per request is on the path of every ``start_run``. ``http.client`` spends about
a third of the CPU per request that httpx does here; streams and uploads stay on httpx.
A connection that the server closed while it was idle is opened again, once.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

_HTTP_ERRORS = (OSError, http.client.HTTPException)
_CLOSED_WHILE_IDLE = (
    http.client.RemoteDisconnected,
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    content: bytes


class Unreachable(Exception):
    """The server could not be reached, or went away before answering."""


class Connections:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        user_agent: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        # ``headers``: sent with every request (the bearer token).
        self._headers = {"User-Agent": user_agent, "Host": parts.netloc, **(headers or {})}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[http.client.HTTPConnection] = []

    def _connection(self) -> http.client.HTTPConnection:
        found: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if found is not None:
            if found.sock is None:  # closed by close() from another thread: it reconnects
                with self._lock:
                    if found not in self._open:
                        self._open.append(found)
            return found
        made: http.client.HTTPConnection
        if self._https:
            made = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        else:
            made = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        self._local.connection = made
        with self._lock:
            self._open.append(made)
        return made

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        self._local.connection = None
        with self._lock:
            if connection in self._open:
                self._open.remove(connection)

    def send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None,
        params: dict[str, object] | None,
        headers: dict[str, str] | None,
    ) -> Answer:
        target = self._prefix + path
        if params:
            target += "?" + urlencode({k: v for k, v in params.items() if v is not None}, True)
        sent = {**self._headers, **(headers or {})}
        for attempt in (1, 2):
            connection = self._connection()
            reused = connection.sock is not None
            try:
                connection.request(method, target, body=body, headers=sent)
                response = connection.getresponse()
                content = response.read()
            except _CLOSED_WHILE_IDLE as exc:
                self._drop(connection)
                if reused and attempt == 1:
                    continue  # closed by the server while idle: the request never arrived
                raise Unreachable(str(exc) or type(exc).__name__) from None
            except (TimeoutError, *_HTTP_ERRORS) as exc:
                self._drop(connection)
                raise Unreachable(str(exc) or type(exc).__name__) from None
            if response.will_close:
                self._drop(connection)
            return Answer(response.status, response.reason, content)
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            connection.close()
