"""HTTP to ``keel server``: one place that sends requests and maps errors back to Keel's
exception types (the inverse of ``server/errors.py``)."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from keel.errors import ERRORS_BY_CODE, KeelError, StoreUnavailable
from keel.store.rest.connections import Connections, Unreachable

_UNAVAILABLE = {502, 503, 504}
USER_AGENT = "keel-client"


class Http:
    def __init__(self, base_url: str, *, timeout: float, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        # Sent with every request, on both paths below; never logged, never in an error.
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": USER_AGENT, **auth},
        )
        # Small JSON requests go over kept-alive http.client connections, unless a proxy
        # is set for this server: then httpx, which honours it, sends them too.
        self._connections = (
            None
            if _proxied(self.base_url)
            else Connections(self.base_url, timeout=timeout, user_agent=USER_AGENT, headers=auth)
        )

    def close(self) -> None:
        self._client.close()
        if self._connections is not None:
            self._connections.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        content = orjson.dumps(json) if json is not None else None
        if content is not None:
            headers = {**(headers or {}), "Content-Type": "application/json"}
        if self._connections is not None:
            try:
                answer = self._connections.send(
                    method, path, body=content, params=params, headers=headers
                )
            except Unreachable as exc:
                raise StoreUnavailable(
                    f"keel server at {self.base_url}: unreachable ({exc})"
                ) from None
            status, reason, body = answer.status, answer.reason, answer.content
        else:
            try:
                response = self._client.request(
                    method, path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                raise StoreUnavailable(
                    f"keel server at {self.base_url}: unreachable ({exc})"
                ) from None
            status, reason, body = response.status_code, response.reason_phrase, response.content
        _raise_for_status(status, reason, body)
        if status == 204 or not body:
            return None
        return orjson.loads(body)

    def upload(
        self,
        path: str,
        chunks: Iterable[bytes],
        *,
        params: dict[str, Any],
        headers: dict[str, str],
        bounded: bool = False,
    ) -> Any:
        """PUT a body streamed from ``chunks``. Unbounded in time unless ``bounded`` (then
        the client's timeout applies: for small files that must not hang a writer)."""
        timeout = httpx.USE_CLIENT_DEFAULT if bounded else None
        try:
            response = self._client.put(
                path, content=chunks, params=params, headers=headers, timeout=timeout
            )
        except httpx.TransportError as exc:
            raise StoreUnavailable(f"keel server at {self.base_url}: unreachable ({exc})") from None
        _raise_for_error(response)
        return orjson.loads(response.content)

    @contextmanager
    def download(self, path: str, *, params: dict[str, Any]) -> Iterator[httpx.Response]:
        try:
            with self._client.stream("GET", path, params=params, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_error(response)
                yield response
        except httpx.TransportError as exc:
            raise StoreUnavailable(f"keel server at {self.base_url}: unreachable ({exc})") from None

    def stream_lines(self, path: str, *, params: dict[str, Any]) -> Generator[Any, None, None]:
        """GET a stream of JSON lines (``application/x-ndjson``), each parsed as it
        arrives, so that memory holds one line, not the body. A line ``{"error": ...}``
        raises that error; a connection lost midway, or a last line cut short, raises
        :class:`StoreUnavailable`. Whether the stream is complete is for its format's last
        line to say: the caller checks it. The timeout is for each read, not the whole."""
        try:
            with self._client.stream("GET", path, params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_error(response)
                for line in _split_lines(response.iter_bytes()):
                    found = orjson.loads(line)
                    if isinstance(found, dict) and "error" in found:
                        error = found["error"]
                        raise _error_type(error.get("code", ""), 500)(error.get("message", ""))
                    yield found
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"keel server at {self.base_url}: the answer was cut short ({exc})"
            ) from None


def _split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a byte stream, without their newlines; a last line without one means
    the stream was cut."""
    pending = bytearray()
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if pending:
                pending += chunk[start:end]
                yield bytes(pending)
                pending.clear()
            else:
                yield chunk[start:end]
            start = end + 1
        pending += chunk[start:]
    if pending:
        raise StoreUnavailable(
            f"keel server: the answer was cut short mid-line ({len(pending)} bytes)"
        )


def _raise_for_error(response: httpx.Response) -> None:
    _raise_for_status(response.status_code, response.reason_phrase, response.content)


def _raise_for_status(status: int, reason: str, content: bytes) -> None:
    if status < 400:
        return
    if status in _UNAVAILABLE:
        raise StoreUnavailable(f"keel server: {status} {reason}")
    try:
        error = orjson.loads(content)["error"]
        code, message = error["code"], error["message"]
    except Exception:
        text = content[:200].decode("utf-8", "replace")
        code, message = "", f"{status} {reason}: {text}"
    raise _error_type(code, status)(message)


def _proxied(base_url: str) -> bool:
    """Whether the environment names a proxy for this server (``HTTP_PROXY`` and kin,
    less ``NO_PROXY``), as httpx would use."""
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(base_url)
    proxies = getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not proxy_bypass(parts.netloc)


def _error_type(code: str, status: int) -> type[KeelError]:
    cls = ERRORS_BY_CODE.get(code)
    if cls is None:
        from keel.errors import InvalidArgument

        cls = InvalidArgument if 400 <= status < 500 else KeelError
    return cls
