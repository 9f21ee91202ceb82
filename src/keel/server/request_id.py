"""``X-Request-ID``: each request's id, taken from the client when it is well formed, else
made here; sent back on the response and recorded with every audit record the request
writes (bound through ``keel.store.acting`` for the request's task)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from keel.entities.audit import check_request_id
from keel.errors import InvalidArgument
from keel.store import acting

HEADER = "X-Request-ID"
_HEADER = HEADER.lower().encode()


class RequestId:
    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _given(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        acting.bind(None, request_id)

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (_HEADER, request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def _given(scope: MutableMapping[str, Any]) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            try:
                return check_request_id(value.decode("latin-1"))
            except InvalidArgument:
                return None  # a malformed id is replaced, never recorded
    return None
