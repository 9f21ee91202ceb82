"""Request size limits, enforced on the stream as the bytes arrive.

``Content-Length`` is a claim, and a chunked body has none: the count that matters is of
the bytes received. A JSON body is read here (it would be read whole by the route
anyway) up to ``MAX_JSON_BODY`` and refused with 413 the moment it passes it; then its
nesting depth is checked (422). An upload (artifact or dataset object) streams on to its
route, counted as it goes: past ``max_upload_bytes`` the read fails with 413, and the
storage code removes the partial file as it does for any broken upload.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from keel.entities.json_depth import MAX_BODY_DEPTH, body_depth_exceeds, deepest_path
from keel.errors import PayloadTooLarge
from keel.server.errors import error_response

MAX_JSON_BODY = 64 * 1024 * 1024
"""The most bytes a request that is not an upload may carry."""

UPLOADS = re.compile(
    r"/api/v1/(runs/[^/]+/artifacts/content|dataset-objects/[^/]+"
    r"|predictions/deployments/[^/]+/(files|feedback)/[^/]+)"
)
"""Routes whose body is a file's bytes, streamed to storage (a prediction log's Parquet
file is held whole, up to its own smaller limit, then checked before it is stored)."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RequestLimits:
    """ASGI middleware: body size (JSON and uploads) and JSON depth."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        max_upload_bytes: int,
        max_json_body: int = MAX_JSON_BODY,
        max_json_depth: int = MAX_BODY_DEPTH,
    ) -> None:
        self.app = app
        self.max_upload = max_upload_bytes
        self.max_json = max_json_body
        self.max_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "PUT" and UPLOADS.fullmatch(scope["path"]) is not None
        limit = self.max_upload if upload else self.max_json
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, upload)(scope, receive, send)
            return
        if upload:
            await self.app(scope, _counted(receive, limit), send)
            return
        body, more = await _read_up_to(receive, limit)
        if more:
            await _too_large(limit, upload)(scope, receive, send)
            return
        if body and body_depth_exceeds(body, self.max_depth):
            await _too_deep(body, self.max_depth)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_up_to(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, read until it ends or passes ``limit`` (then ``more`` is True and the
    rest is left unread)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(parts), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body read here, then defers to the server's
    (for a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _counted(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLarge(_upload_message(limit))
        return message

    return counted


def _upload_message(limit: int) -> str:
    return (
        f"body: an upload may be at most {limit} bytes (KEEL_MAX_UPLOAD_BYTES on the "
        "server); nothing was kept"
    )


def _too_large(limit: int, upload: bool) -> Any:
    message = (
        _upload_message(limit)
        if upload
        else f"body: at most {limit} bytes per request; split the batch"
    )
    return error_response(413, "payload_too_large", message)


def _too_deep(body: bytes, limit: int) -> Any:
    """A 422 naming the field that nests too deeply, when the body parses well enough to
    find it."""
    message = f"body: JSON may nest at most {limit} levels of objects and arrays"
    try:
        path = deepest_path(orjson.loads(body), limit)
    except orjson.JSONDecodeError:
        path = None  # deeper than the parser goes: the plain message
    if path:
        where = ".".join(path[:4]) + (".…" if len(path) > 4 else "")
        message = (
            f"{path[0]}: JSON may nest at most {limit} levels of objects and arrays "
            f"(deeper at {where})"
        )
    return error_response(422, "invalid_argument", message)
